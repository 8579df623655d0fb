"""The shipped real-point-cloud recipe (configs/modelnet_cpu.yaml) through the CLI: it trains the backbone
options it names (the hierarchical pvd net with its local block), and its checkpoint samples at another
point count from a late start."""

import numpy as np
import pytest

from gen3d.cli import main
from gen3d.config import load_config
from gen3d.errors import UserInputError
from gen3d.models import load_denoiser
from gen3d.sample_file import load_samples


def test_modelnet_cpu_config_loads_with_its_budget():
    cfg = load_config("modelnet_cpu")
    assert cfg["net"]["name"] == "pvd" and cfg["process"]["sigma_max"] == 3.0
    assert cfg["trainer"]["max_time"] == "25m" and cfg["optim"]["lr_decay"] == "cosine"
    assert cfg["data"]["val_split"] is None and cfg["sampler"]["steps"] == 18  # 35 NFE with Heun


def test_recipe_trains_pvd_with_local_block_and_samples_more_points(tiny_cache, tmp_path):
    run_dir = tmp_path / "runs"
    sets = [
        f"data.cache_dir={tiny_cache}",
        "data.n_points=64",
        "data.batch_size=4",
        f"experiment.run_dir={run_dir}",
        "trainer.max_steps=2",
        "trainer.max_time=null",
        "trainer.enable_progress_bar=false",
        "trainer.accelerator=cpu",
        "net.name=pvd",
        "net.local_neighbours=4",
        "net.local_radius=0.3",
    ]
    argv = ["fit", "--config", "modelnet_cpu", "--threads", "1"] + [a for s in sets for a in ("--set", s)]
    assert main(argv) == 0
    ckpt = run_dir / "modelnet_cpu" / "checkpoints" / "last.ckpt"
    denoiser, config, _ = load_denoiser(ckpt)
    net = denoiser.backbone
    assert type(net).NAME == "pvd" and net.local is not None
    assert (net.local_neighbours, net.local_radius) == (4, 0.3)
    out = tmp_path / "s.npz"
    sample = ["sample", "--ckpt", str(ckpt), "--n", "2", "--points", "128", "--steps", "2", "--out", str(out)]
    assert main([*sample, "--set", "sampler.sigma_max=2", "--no-progress", "--device", "cpu"]) == 0
    s = load_samples(out)
    assert s.points.shape == (2, 128, 3) and np.isfinite(s.points).all()
    assert s.meta["points_trained"] == 64 and s.meta["sigma_max"] == 2.0
    # fewer points than the hierarchy's levels need (tiny: 4^3 = 64) is refused before sampling
    assert main([*sample[:-1], str(tmp_path / "few.npz"), "--points", "32", "--no-progress"]) == 2
    assert not (tmp_path / "few.npz").exists()


def test_too_few_points_for_pvd_refused_at_config_load():
    with pytest.raises(UserInputError, match="need at least 64 points"):
        load_config("modelnet_cpu", ["data.n_points=32"])
    with pytest.raises(UserInputError, match="need at least 16 points"):
        load_config("modelnet_cpu", ["data.n_points=8", "net.sa_blocks=[[32,0.2,8],[48,0.4,8]]"])
    assert load_config("modelnet_cpu", ["data.n_points=64"])["data"]["n_points"] == 64
