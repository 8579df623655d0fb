"""A completion's observed points in another colour: the colour function, the default mode for completion
sample files, the one-line refusals, real renders through `gen3d render` (pixels and the colours that reach
the renderer, from a file written by `gen3d complete --sample-file`) and the viewer's colour path."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh
from PIL import Image

from gen3d.cli import main
from gen3d.sample_file import SampleFile, save_samples
from gen3d.viz.colors import OBSERVED_COLOR, height_colors, observed_colors

TILE_PX = 128


def test_observed_colors_paint_the_leading_points_and_ramp_the_rest():
    pts = np.random.default_rng(0).standard_normal((50, 3))
    c = observed_colors(pts, 20)
    assert c.shape == (50, 3) and (c[:20] == OBSERVED_COLOR).all()
    np.testing.assert_array_equal(c[20:], height_colors(pts[20:]))
    np.testing.assert_array_equal(observed_colors(pts, 0), height_colors(pts))
    assert (observed_colors(pts, 50) == OBSERVED_COLOR).all()
    with pytest.raises(ValueError, match=r"n_observed must be in 0\.\.50"):
        observed_colors(pts, 51)


def _split_sphere(tmp_path, name="c.npz", **meta_extra):
    """A sphere of 4096 points, the half on the camera's left (gallery view: azimuth 30, elevation 20) first
    and recorded as observed, as `gen3d complete --sample-file` records it."""
    from gen3d.viz.layout import camera_basis

    pts = trimesh.sample.sample_surface(trimesh.creation.icosphere(3, 1.0), 4096, seed=0)[0]
    right = camera_basis(30.0, 20.0)[1]
    left = pts @ right < 0
    pts = np.concatenate([pts[left], pts[~left]]).astype(np.float32)[None]
    meta = {"observed": [int(left.sum())], "completions_per_input": 1, **meta_extra}
    return save_samples(tmp_path / name, SampleFile(points=pts, seeds=np.array([0]), meta=meta))


def _spread(img: np.ndarray, silhouette) -> tuple[float, float]:
    """Median channel spread (max - min, 0..255) of the foreground in the left and the right third of a
    tile: about 0 for a grey, large for the height ramp's colours."""
    fg = silhouette(img)
    spread = img.astype(int).max(-1) - img.astype(int).min(-1)
    third = img.shape[1] // 3
    return float(np.median(spread[:, :third][fg[:, :third]])), float(
        np.median(spread[:, -third:][fg[:, -third:]])
    )


@pytest.mark.xdist_group("viz_render")
@pytest.mark.usefixtures("offscreen")
def test_render_draws_observed_points_grey_by_default_for_completions(tmp_path, silhouette, capsys):
    path = _split_sphere(tmp_path)

    def render(*extra) -> np.ndarray:
        out = tmp_path / f"g{len(extra)}.png"
        argv = [
            "render",
            str(path),
            "--out",
            str(out),
            "--size",
            str(TILE_PX),
            "--no-titles",
            "--timeout",
            "0",
        ]
        assert main([*argv, *extra]) == 0
        return np.asarray(Image.open(out).convert("RGB"))

    left, right = _spread(render(), silhouette)  # default: observed (the file records observed points)
    assert left < 8 and right > 40, (left, right)
    left, right = _spread(render("--color-by", "height"), silhouette)
    assert left > 40 and right > 40, (left, right)
    capsys.readouterr()
    plain = save_samples(
        tmp_path / "plain.npz", SampleFile(points=np.zeros((1, 8, 3), np.float32) + np.eye(8, 3))
    )
    for argv, words in (
        ([str(plain), "--color-by", "observed"], "records no observed points"),
        ([str(path), "--color-by", "observed", "--representation", "mesh"], "not --representation mesh"),
    ):
        assert main(["render", *argv, "--out", str(tmp_path / "x.png"), "--timeout", "0"]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and words in err, err


@pytest.mark.xdist_group("viz_render")
@pytest.mark.usefixtures("offscreen")
def test_complete_sample_file_renders_with_its_observed_points_grey(tmp_path, monkeypatch, capsys):
    """gen3d complete --sample-file -> gen3d render: the colours handed to the renderer are the observed grey
    on exactly the observed slots recorded per completion."""
    import gen3d.viz.offscreen as offscreen
    from tests.core.conftest import write_checkpoint

    ckpt = write_checkpoint(tmp_path / "edm.ckpt", "edm")[0]
    hemi = trimesh.sample.sample_surface(trimesh.creation.icosphere(2, 1.0), 400, seed=0)[0]
    np.save(tmp_path / "scan.npy", hemi[hemi[:, 0] < 0].astype(np.float32))
    samples = tmp_path / "s.npz"
    argv = ["complete", "--ckpt", str(ckpt), str(tmp_path / "scan.npy"), "--normalize", "unit_sphere",
            "--n", "2", "--steps", "2", "--points", "64", "--observed", "24",
            "--out", str(tmp_path / "c.npz"), "--sample-file", str(samples), "--device", "cpu"]  # fmt: skip
    assert main(argv) == 0
    seen = []
    original = offscreen.o3d_geometry

    def spy(d, colours, eye_dir=None):
        seen.append(np.asarray(colours))
        return original(d, colours, eye_dir)

    monkeypatch.setattr(offscreen, "o3d_geometry", spy)
    out = tmp_path / "g.png"
    assert main(["render", str(samples), "--out", str(out), "--size", "64", "--timeout", "0"]) == 0
    assert out.is_file() and len(seen) == 2
    for colours in seen:
        assert colours.shape == (64, 3) and (colours[:24] == OBSERVED_COLOR).all()
        assert not (colours[24:] == OBSERVED_COLOR).all(1).any()
    assert "wrote" in capsys.readouterr().out


def test_view_defaults_to_observed_colours_and_cycles_through_them(tmp_path, monkeypatch, capsys):
    """gen3d view's colour path (window stubbed): a completion file opens in "observed" mode and its observed
    points reach the Open3D geometry grey; C cycles through the mode only when the file records them."""
    import gen3d.viz.backend
    from gen3d.viz.viewer import Viewer

    path = _split_sphere(tmp_path)
    plain = save_samples(
        tmp_path / "plain.npz", SampleFile(points=np.random.default_rng(0).random((2, 32, 3), np.float32))
    )
    shown = []
    monkeypatch.setattr(gen3d.viz.backend, "window_problem", lambda: None)
    monkeypatch.setattr(Viewer, "run", lambda self, **kw: shown.append(self))
    assert main(["view", str(path)]) == 0
    viewer = shown[-1]
    m = viewer.shapes.meta["observed"][0]
    assert viewer.color_by == "observed"
    (geom,) = viewer._geometries()
    colours = np.asarray(geom.colors)
    assert (colours[:m] == OBSERVED_COLOR).all() and not (colours[m:] == OBSERVED_COLOR).all(1).any()
    modes = []
    for _ in range(4):
        viewer.cycle_colour()
        modes.append(viewer.color_by)
    assert modes == ["height", "sample", "uniform", "observed"]
    assert main(["view", str(plain)]) == 0
    viewer = shown[-1]
    assert viewer.color_by == "height"
    for _ in range(4):
        viewer.cycle_colour()
        assert viewer.color_by != "observed"
    capsys.readouterr()
    assert main(["view", str(plain), "--color-by", "observed"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "records no observed points" in err
