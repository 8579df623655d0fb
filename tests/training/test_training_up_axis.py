"""The training cache's up axis travels on: gen3d sample records it in the sample file (nothing when the cache
cannot be read), and the training gallery draws with it."""

import numpy as np
import pytest
import torch

from gen3d.cli import main
from gen3d.sample_file import load_samples

from .test_training_cli import fit_args


@pytest.fixture(scope="module")
def z_cache(tiny_collection, tmp_path_factory):
    """The tiny collection prepared through the CLI as z-up data."""
    out = tmp_path_factory.mktemp("zcache") / "cache"
    argv = ["prepare", "folder", str(tiny_collection), "--out", str(out), "--points", "128"]
    assert main([*argv, "--voxels", "8", "--up", "z", "--workers", "1", "--no-progress"]) == 0
    return out


@pytest.fixture(scope="module")
def z_ckpt(z_cache, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("runs")
    extra = ["trainer.max_steps=1", "trainer.sample_every_n_steps=0", "trainer.checkpoint_every_n_steps=1"]
    assert main(fit_args(z_cache, run_dir, *extra)) == 0
    return run_dir / "t" / "checkpoints" / "last.ckpt"


def _sample(ckpt, out) -> dict:
    argv = ["sample", "--ckpt", str(ckpt), "--out", str(out), "--no-progress", "--device", "cpu"]
    assert main([*argv, "--class", "chair", "--n", "2", "--steps", "1"]) == 0
    return load_samples(out).meta


def _with_cache_dir(ckpt, cache_dir, path):
    state = torch.load(ckpt, map_location="cpu", weights_only=True)
    state["gen3d"]["config"]["data"]["cache_dir"] = cache_dir
    torch.save(state, path)
    return path


def test_sample_records_the_training_caches_axis(z_ckpt, tiny_cache, tmp_path):
    assert _sample(z_ckpt, tmp_path / "z.npz")["up_axis"] == "z"
    # the same model pointed at a y-up cache records y: the axis comes from the cache, not a default
    y_ckpt = _with_cache_dir(z_ckpt, str(tiny_cache), tmp_path / "y.ckpt")
    assert _sample(y_ckpt, tmp_path / "y.npz")["up_axis"] == "y"
    # no cache, or one that cannot be read here: nothing recorded, no error
    for name, cache_dir in (("none", None), ("gone", str(tmp_path / "gone")), ("url", "s3://b/cache")):
        meta = _sample(
            _with_cache_dir(z_ckpt, cache_dir, tmp_path / f"{name}.ckpt"), tmp_path / f"{name}.npz"
        )
        assert "up_axis" not in meta, name


def test_training_gallery_draws_with_the_caches_axis(z_cache, tiny_cache, tmp_path):
    from gen3d.config import load_config
    from gen3d.training.components import build_trainer
    from gen3d.training.gallery import SampleGallery

    def gallery_axis(cache_dir) -> str:
        sets = [
            f"data.cache_dir={cache_dir}",
            f"experiment.run_dir={tmp_path}",
            "trainer.sample_every_n_steps=1",
        ]
        trainer = build_trainer(load_config("demo_points", [*sets, "trainer.accelerator=cpu"]))
        (cb,) = [c for c in trainer.callbacks if isinstance(c, SampleGallery)]
        return cb.up_axis

    assert gallery_axis(z_cache) == "z" and gallery_axis(tiny_cache) == "y"
    assert gallery_axis(tmp_path / "gone") == "y"  # unreadable cache: the y default


def test_gallery_child_renderer_gets_the_axis(tmp_path, monkeypatch):
    """The Open3D gallery is `gen3d render` of a sample file that records the axis (its default --up)."""
    import sys

    from gen3d.training import gallery

    from .test_training_gallery import fit_with

    recorded = []

    def child(src, path, n, titles):
        recorded.append(load_samples(src).meta.get("up_axis"))
        return [sys.executable, "-c", "import sys; open(sys.argv[1], 'wb').close()", str(path)]

    monkeypatch.setattr(gallery, "_open3d_available", lambda: True)
    monkeypatch.setattr(gallery, "_render_command", child)
    cb = gallery.SampleGallery(tmp_path / "g", every_n_steps=1, n_shapes=2, steps=2, up_axis="z")
    fit_with(cb, tmp_path)
    assert recorded == ["z", "z"]


def test_scatter_gallery_turns_z_up_shapes_upright(tmp_path, monkeypatch):
    """The matplotlib fallback draws the data's up axis as matplotlib's vertical (its third coordinate)."""
    import matplotlib.pyplot as plt

    from gen3d.training import gallery

    extents = []

    class Axes:
        def scatter(self, x, y, z, **kw):
            extents.append([float(np.ptp(x)), float(np.ptp(y)), float(np.ptp(z))])

        def __getattr__(self, name):  # limits, axis off, titles
            return lambda *a, **k: None

    class Figure:
        def add_subplot(self, *a, **k):
            return Axes()

        def savefig(self, path, **k):
            open(path, "wb").close()

    monkeypatch.setattr(plt, "figure", lambda *a, **k: Figure())
    monkeypatch.setattr(plt, "close", lambda *a: None)
    column = np.c_[np.zeros(50), np.full(50, 0.1), np.linspace(-1, 1, 50)][None]  # tall along z
    gallery.save_scatter_gallery(column, tmp_path / "z.png", up="z")
    gallery.save_scatter_gallery(column, tmp_path / "y.png", up="y")
    assert extents == [[0.0, 0.0, 2.0], [0.0, 2.0, 0.0]]
