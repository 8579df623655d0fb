"""The Yukawa process through the CLI: `gen3d fit --set process.name=yukawa` on points and voxels, then
`gen3d sample` from the checkpoint; bad process options are refused before training."""

import numpy as np
import pytest

from gen3d.cli import main
from gen3d.sample_file import load_samples
from gen3d.training.checkpoint import read_checkpoint


def _fit(config, cache, run_dir, *extra):
    sets = [
        f"data.cache_dir={cache}",
        "data.batch_size=4",
        f"experiment.run_dir={run_dir}",
        "experiment.name=y",
        "process.name=yukawa",
        "trainer.max_steps=3",
        "trainer.checkpoint_every_n_steps=3",
        "trainer.sample_every_n_steps=0",
        "trainer.enable_progress_bar=false",
        "trainer.accelerator=cpu",
        *extra,
    ]
    return ["fit", "--config", config, "--threads", "1"] + [a for s in sets for a in ("--set", s)]


@pytest.mark.parametrize(
    "config,extra",
    [
        ("demo_points", ["data.n_points=32", "process.D_eff=64"]),
        ("demo_voxels", ["data.resolution=8", "process.m=2.0", "process.target=naive"]),
    ],
)
def test_fit_and_sample_with_yukawa(tiny_cache, tmp_path, config, extra):
    assert main(_fit(config, tiny_cache, tmp_path, *extra)) == 0
    ckpt = tmp_path / "y" / "checkpoints" / "last.ckpt"
    proc_cfg = read_checkpoint(ckpt)["gen3d"]["config"]["process"]
    assert proc_cfg["name"] == "yukawa"
    out = tmp_path / "s.npz"
    assert main(["sample", "--ckpt", str(ckpt), "--n", "2", "--steps", "3", "--out", str(out)]) == 0
    sf = load_samples(out)
    arr = sf.points if sf.points is not None else sf.voxels
    assert arr.shape[0] == 2 and np.isfinite(arr).all()
    assert sf.meta["config"]["process"]["name"] == "yukawa"


def test_bad_yukawa_options_are_refused_before_training(tiny_cache, tmp_path, capsys):
    pts = "data.n_points=32"
    assert main(_fit("demo_points", tiny_cache, tmp_path, pts, "process.target=weighted")) == 2
    assert "target must be one of" in capsys.readouterr().err
    assert main(_fit("demo_points", tiny_cache, tmp_path, pts, "process.m=1.0", "process.D_eff=64")) == 2
    assert "not both" in capsys.readouterr().err
    assert not (tmp_path / "y" / "checkpoints").exists()
