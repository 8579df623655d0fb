"""Sample-gallery callback: writes a PNG from the EMA denoiser; a rendering failure never stops training."""

import logging

import lightning as L
import numpy as np
from PIL import Image

from gen3d.processes import get_process
from gen3d.training import gallery
from gen3d.training.gallery import SampleGallery, save_scatter_gallery

from .standins import InMemoryDataModule
from .test_training_module import make_module


def fit_with(cb, tmp_path, shape=(16, 3)):
    mod = make_module()
    mod.process = get_process("edm")
    L.Trainer(
        max_steps=2,
        accelerator="cpu",
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
        callbacks=[cb],
        default_root_dir=tmp_path,
    ).fit(mod, datamodule=InMemoryDataModule(shape=shape, batch_size=8))


def test_gallery_png_points_and_voxels(tmp_path):
    for shape, sub in (((16, 3), "p"), ((1, 4, 4, 4), "v")):
        cb = SampleGallery(
            tmp_path / sub, every_n_steps=1, n_shapes=3, sampler="euler", steps=2, renderer="matplotlib"
        )
        fit_with(cb, tmp_path, shape)
        assert sorted(p.name for p in (tmp_path / sub).iterdir()) == ["step_0000001.png", "step_0000002.png"]
        img = np.asarray(Image.open(cb.last_path))
        assert img.ndim == 3 and img.shape[0] > 50 and img.std() > 0  # something was drawn


def test_render_failure_is_a_warning(tmp_path, monkeypatch, caplog):
    def broken(*a, **k):
        raise RuntimeError("no display")

    monkeypatch.setattr(gallery, "save_scatter_gallery", broken)
    cb = SampleGallery(tmp_path / "g", every_n_steps=1, n_shapes=2, steps=2, renderer="matplotlib")
    with caplog.at_level(logging.WARNING, logger="gen3d.training.gallery"):
        fit_with(cb, tmp_path)  # training finishes
    assert "sample gallery at step 1 failed: RuntimeError: no display" in caplog.text


def test_scatter_gallery_voxel_cells(tmp_path):
    grid = -np.ones((1, 1, 4, 4, 4), dtype=np.float32)
    grid[0, 0, 1, 2, 3] = 1.0
    path = save_scatter_gallery(grid, tmp_path / "g.png")
    assert path.is_file() and Image.open(path).size[0] > 0
