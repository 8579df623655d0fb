"""Open3D-free parts of gen3d.viz: voxel cubes, colours, layout, loaders, animation files, lazy import."""

import subprocess
import sys

import numpy as np
import pytest
import trimesh

from gen3d.errors import UserInputError
from gen3d.sample_file import SampleFile, save_samples
from gen3d.viz.animate import save_animation
from gen3d.viz.colors import height_colors
from gen3d.viz.geometry import kind_of, to_drawable, voxel_block_mesh
from gen3d.viz.layout import GalleryLayout
from gen3d.viz.loaders import load_shapes


def test_voxel_block_mesh_is_closed_with_exact_volume():
    rng = np.random.default_rng(0)
    grid = (rng.random((10, 10, 10)) < 0.3).astype(np.float32)
    d = voxel_block_mesh(grid, origin=(1.0, 2.0, 3.0), spacing=0.25)
    m = trimesh.Trimesh(d.vertices, d.faces)  # merges the shared corners
    # exposed faces of the union of cells enclose exactly the occupied volume (divergence theorem; outward
    # winding -> positive); random cells touch along bare edges, so the surface is closed but not manifold
    assert m.volume == pytest.approx(grid.sum() * 0.25**3, rel=1e-9)
    assert np.all(m.bounds[0] >= [1.0, 2.0, 3.0]) and np.all(m.bounds[1] <= [3.5, 4.5, 5.5])
    ell = np.zeros((8, 8, 8), np.float32)
    ell[1:6, 1:3, 1:4] = 1
    ell[1:3, 3:7, 1:4] = 1  # an L: a manifold solid
    m = trimesh.Trimesh(*(lambda d: (d.vertices, d.faces))(voxel_block_mesh(ell)))
    assert m.is_watertight and m.volume == pytest.approx(ell.sum() * (2 / 8) ** 3)


def test_kind_and_representations():
    pts = trimesh.sample.sample_surface(trimesh.creation.icosphere(2, 0.8), 512, seed=0)[0]
    grid = np.zeros((8, 8, 8), np.float32)
    grid[2:6, 2:6, 2:6] = 1
    assert [kind_of(pts), kind_of(grid), kind_of(grid[None]), kind_of(trimesh.creation.box())] == [
        "points", "voxels", "voxels", "mesh"]  # fmt: skip
    with pytest.raises(TypeError, match="cannot draw"):
        kind_of(np.zeros((4, 5)))
    assert to_drawable(grid, "points").vertices.shape == (64, 3)  # one point per occupied cell centre
    assert to_drawable(pts, "mesh").is_mesh and to_drawable(grid, "mesh").is_mesh
    assert to_drawable(trimesh.creation.box(), "points").vertices.shape == (2048, 3)


def test_height_colours_follow_y():
    pts = np.c_[np.zeros(5), np.linspace(-1, 1, 5), np.zeros(5)]
    c = height_colors(pts)
    assert c.shape == (5, 3) and c.min() >= 0 and c.max() <= 1
    assert np.all(np.diff(c.sum(1)) > 0)  # the ramp brightens from bottom to top


def test_layout_tiles():
    lay = GalleryLayout.make(5, None, (100, 80))
    assert (lay.ncols, lay.nrows, lay.image_px) == (3, 2, (300, 160))
    assert lay.tile_box(4) == (100, 80, 200, 160)
    left, right, bottom, top = lay.ortho_bounds()
    tw, th = lay.tile_extent()
    assert right - left == pytest.approx(3 * tw) and top - bottom == pytest.approx(2 * th)
    assert tw / th == pytest.approx(100 / 80)


def test_load_shapes_formats(tmp_path):
    pts = np.random.default_rng(0).random((100, 3)).astype(np.float32)
    save_samples(
        tmp_path / "s.npz",
        SampleFile(
            points=pts[None].repeat(2, 0),
            seeds=np.array([3, 4]),
            labels=np.array([1, 0]),
            meta={"class_names": ["a", "b"]},
        ),
    )
    ss = load_shapes(tmp_path / "s.npz")
    assert len(ss.shapes) == 2 and ss.titles == ["#0 seed 3 b", "#1 seed 4 a"]
    trimesh.PointCloud(pts).export(tmp_path / "p.ply")
    trimesh.creation.box().export(tmp_path / "b.obj")
    assert kind_of(load_shapes(tmp_path / "p.ply").shapes[0]) == "points"
    assert kind_of(load_shapes(tmp_path / "b.obj").shapes[0]) == "mesh"
    from gen3d.datasets.binvox import write_binvox

    occ = np.zeros((8, 8, 8), bool)
    occ[1:3, 2:7, 4] = True
    write_binvox(tmp_path / "g.binvox", occ)
    grid = load_shapes(tmp_path / "g.binvox").shapes[0]
    assert kind_of(grid) == "voxels" and np.array_equal(grid > 0.5, occ)
    (tmp_path / "x.xyz").write_text("0 0 0\n")
    with pytest.raises(UserInputError, match="unsupported"):
        load_shapes(tmp_path / "x.xyz")
    with pytest.raises(UserInputError, match="no file"):
        load_shapes(tmp_path / "missing.npz")


@pytest.mark.parametrize("suffix", ["gif", "mp4", "png"])
def test_save_animation_round_trip(tmp_path, suffix):
    import imageio.v2 as iio

    frames = [np.full((32, 48, 3), v, np.uint8) for v in (0, 128, 255)]
    path = save_animation(frames, tmp_path / f"a.{suffix}", fps=5)
    if suffix == "png":
        assert iio.imread(path).shape[:2] == (32, 144)
        return
    back = [np.asarray(f)[..., :3] for f in iio.get_reader(path)]
    assert len(back) == 3 and back[0].shape == (32, 48, 3)
    np.testing.assert_allclose([f.mean() for f in back], [0, 128, 255], atol=6)


def test_importing_viz_does_not_start_open3d():
    code = "import sys, gen3d.viz, gen3d.export; print('open3d' in sys.modules, 'trimesh' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
