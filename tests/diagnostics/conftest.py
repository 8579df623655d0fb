"""Diagnostics fixtures: the training area's tiny mesh collection and cache, and a tiny checkpoint written by
the real components (``tests/core/conftest.py``)."""

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
