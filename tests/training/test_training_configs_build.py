"""Every shipped config builds and trains one step (fast_dev_run) on CPU, with a tiny net on a tiny cache."""

import pytest

from gen3d.cli import main
from gen3d.config import list_configs, load_config


@pytest.mark.parametrize("name", list_configs())
def test_config_fast_dev_run(name, tiny_cache, tmp_path):
    cfg = load_config(name)
    sets = [
        f"data.cache_dir={tiny_cache}",
        "data.batch_size=2",
        "data.num_workers=0",
        "net.size=tiny",
        f"experiment.run_dir={tmp_path}",
        "trainer.fast_dev_run=true",
        "trainer.enable_progress_bar=false",
        "trainer.accelerator=cpu",
    ]
    sets.append("data.resolution=8" if cfg["data"]["type"] == "voxels" else "data.n_points=64")
    args = ["fit", "--config", name, "--threads", "1"] + [a for s in sets for a in ("--set", s)]
    assert main(args) == 0
