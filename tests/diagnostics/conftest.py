"""Diagnostics fixtures: the training area's tiny mesh collection and cache, tiny checkpoints written by the
real components (``tests/core/conftest.py``), and a tiny Yukawa model trained for a few steps by ``gen3d
fit``."""

import pytest

from tests.training.conftest import tiny_cache, tiny_collection  # noqa: F401  (fixtures reused as they are)


@pytest.fixture(scope="session")
def tiny_points_ckpt(tmp_path_factory):
    from tests.core.conftest import write_checkpoint

    return write_checkpoint(tmp_path_factory.mktemp("diag_ckpt") / "edm.ckpt", "edm")[0]


@pytest.fixture(scope="session")
def tiny_voxel_ckpt(tmp_path_factory):
    """An untrained unconditional tiny 3-D U-Net on 8^3 grids (PFGM++, D = 64), written as gen3d fit does."""
    import torch

    from gen3d.config import load_config
    from gen3d.training.components import build_module

    torch.manual_seed(0)
    sets = [
        "experiment.class_cond=false",
        "data.resolution=8",
        "net.size=tiny",
        "process.name=pfgmpp",
        "process.D=64",
    ]
    module, _ = build_module(load_config("demo_voxels", sets))
    ckpt = {"state_dict": module.state_dict(), "global_step": 0}
    module.on_save_checkpoint(ckpt)
    path = tmp_path_factory.mktemp("diag_vox") / "vox.ckpt"
    torch.save(ckpt, path)
    return path


@pytest.fixture(scope="session")
def tiny_yukawa_ckpt(tiny_cache, tmp_path_factory):  # noqa: F811  (the fixture, as a parameter)
    """A tiny unconditional point-cloud model (16 points) of the Yukawa process (``demo_points_yukawa``:
    D_eff = 128, conservative target), trained for 3 steps by ``gen3d fit`` on the tiny cache."""
    from gen3d.cli import main

    run_dir = tmp_path_factory.mktemp("diag_yukawa")
    sets = [
        f"data.cache_dir={tiny_cache}",
        "data.n_points=16",
        "data.batch_size=4",
        "experiment.class_cond=false",
        f"experiment.run_dir={run_dir}",
        "experiment.name=y",
        "trainer.max_steps=3",
        "trainer.checkpoint_every_n_steps=3",
        "trainer.sample_every_n_steps=0",
        "trainer.enable_progress_bar=false",
        "trainer.accelerator=cpu",
    ]
    argv = ["fit", "--config", "demo_points_yukawa", "--threads", "1"] + [
        a for s in sets for a in ("--set", s)
    ]
    assert main(argv) == 0
    return run_dir / "y" / "checkpoints" / "last.ckpt"
