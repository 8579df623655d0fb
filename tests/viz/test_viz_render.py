"""Offscreen rendering checked as a person would look: not blank, the silhouette where the camera puts it,
different shapes -> different pictures. Render tests share one xdist worker, hence one renderer."""

import numpy as np
import pytest
import trimesh
from PIL import Image

from gen3d.cli import main
from gen3d.sample_file import SampleFile, save_samples

pytestmark = [pytest.mark.xdist_group("viz_render"), pytest.mark.usefixtures("offscreen")]

TILE_PX = 128


def test_gallery_silhouettes_land_on_their_tiles(prim_points, silhouette):
    from gen3d.viz import render_gallery_array
    from gen3d.viz.layout import TILE

    # points, not meshes: lit meshes are the slow path of software Vulkan (see the report / benchmark)
    img = render_gallery_array(
        [prim_points["torus"], prim_points["sphere"]], ncols=2, size=(TILE_PX, TILE_PX)
    )
    assert img.shape == (TILE_PX, 2 * TILE_PX, 3) and img.dtype == np.uint8
    mask = silhouette(img)
    assert (img[~mask] >= 245).all() and img[0, 0].tolist() == [255, 255, 255]  # white background
    left, right = mask[:, :TILE_PX], mask[:, TILE_PX:]
    assert left.mean() > 0.1 and right.mean() > 0.1  # both tiles show something
    # the sphere is fitted to the unit ball and the tile spans TILE world units: an orthographic camera maps
    # it to a disc of radius TILE_PX / TILE pixels centred on the tile
    ys, xs = np.nonzero(right)
    assert (xs.min() + xs.max()) / 2 == pytest.approx(TILE_PX / 2 - 0.5, abs=1.5)
    assert (ys.min() + ys.max()) / 2 == pytest.approx(TILE_PX / 2 - 0.5, abs=1.5)
    # extent of the disc (points are drawn as ~2 px squares, hence the tolerance)
    assert (xs.max() - xs.min()) / 2 == pytest.approx(TILE_PX / TILE, abs=2.5)
    assert (ys.max() - ys.min()) / 2 == pytest.approx(TILE_PX / TILE, abs=2.5)
    # lit, not flat: the shaded sphere has a spread of brightness
    assert img[TILE_PX // 2 - 30 : TILE_PX // 2 + 30, TILE_PX + 34 : TILE_PX + 94].std() > 10


def test_different_shapes_give_different_pictures(silhouette):
    from gen3d.viz import render_gallery_array

    box = trimesh.sample.sample_surface(trimesh.creation.box((1.0, 1.0, 0.5)), 4096, seed=0)[0]
    torus = trimesh.sample.sample_surface(trimesh.creation.torus(0.6, 0.25), 4096, seed=0)[0]
    kw = {"size": (TILE_PX, TILE_PX), "azimuth": 0.0, "elevation": 0.0, "color_by": "uniform"}
    a, b = silhouette(render_gallery_array([box], **kw)), silhouette(render_gallery_array([torus], **kw))
    c = TILE_PX // 2
    # seen along z: the torus' hole is background, the box is solid there
    assert a[c - 6 : c + 6, c - 6 : c + 6].mean() > 0.5 and not b[c - 6 : c + 6, c - 6 : c + 6].any()
    assert (a & b).sum() / (a | b).sum() < 0.8


def test_render_command_gallery_and_trajectory(tmp_path, prim_points, capsys, silhouette):
    pts = np.stack([prim_points["box"], prim_points["torus"]])
    sig = np.array([10.0, 1.0, 0.0], np.float32)
    rng = np.random.default_rng(0)
    traj = np.stack([pts + s * rng.standard_normal(pts.shape).astype(np.float32) for s in sig])
    path = save_samples(
        tmp_path / "s.npz", SampleFile(points=pts, seeds=np.array([1, 2]), trajectory=traj, traj_sigmas=sig)
    )
    # --timeout 0 renders in this process (shares the session renderer); the trajectory below goes through the
    # default child process with a deadline
    assert (
        main(["render", str(path), "--out", str(tmp_path / "g.png"), "--size", "96", "--timeout", "0"]) == 0
    )
    g = np.asarray(Image.open(tmp_path / "g.png").convert("RGB"))
    assert (
        g.shape == (96, 192, 3)
        and silhouette(g[:, :96]).mean() > 0.05
        and silhouette(g[:, 96:]).mean() > 0.05
    )
    out = tmp_path / "t.gif"
    assert main(["render", str(path), "--out", str(out), "--mode", "trajectory", "--size", "64"]) == 0
    import imageio.v2 as iio

    frames = [np.asarray(f)[..., :3] for f in iio.get_reader(out)]
    assert len(frames) == 3
    # noise frames scatter points over the tile; the clean box fills a compact region
    assert silhouette(frames[0]).sum() != silhouette(frames[-1]).sum()
    assert "wrote" in capsys.readouterr().out


def test_render_command_gives_up_at_its_deadline(tmp_path, prim_points, capsys):
    path = save_samples(tmp_path / "s.npz", SampleFile(points=prim_points["box"][None]))
    assert main(["render", str(path), "--out", str(tmp_path / "g.png"), "--timeout", "0.05"]) == 2
    err = capsys.readouterr().err
    assert "did not finish within 0.05 s" in err and not (tmp_path / "g.png").exists()


def _tall_and_wide(img, silhouette) -> tuple[int, int]:
    """(height, width) in pixels of the bounding box of the non-background pixels."""
    ys, xs = np.nonzero(silhouette(img))
    return int(ys.max() - ys.min() + 1), int(xs.max() - xs.min() + 1)


def test_render_command_draws_the_up_axis_vertical(tmp_path, silhouette):
    """A thin box whose long axis is z, as points and as a voxel column along the grid's last axis: drawn
    with --up z (or a sample file that records z) it stands tall; with y-up (the default for files that
    record nothing) it lies down."""
    column = trimesh.sample.sample_surface(trimesh.creation.box((0.3, 0.3, 1.8)), 4096, seed=0)[0]
    column = column.astype(np.float32)[None]
    grid = np.zeros((1, 1, 8, 8, 8), np.float32)
    grid[0, 0, 3:5, 3:5, :] = 1  # index [i, j, k] = (x, y, z): k is z
    files = {
        "pts": save_samples(tmp_path / "pts.npz", SampleFile(points=column)),
        "pts_z": save_samples(tmp_path / "pts_z.npz", SampleFile(points=column, meta={"up_axis": "z"})),
        "vox": save_samples(tmp_path / "vox.npz", SampleFile(voxels=grid)),
        "traj": save_samples(
            tmp_path / "traj.npz",
            SampleFile(points=column, trajectory=np.stack([column, column]), meta={"up_axis": "z"}),
        ),
    }

    def extent(name, *extra, mode="gallery", in_process=True):
        out = tmp_path / f"{name}{len(extra)}{mode}.{'png' if mode == 'gallery' else 'gif'}"
        argv = ["render", str(files[name]), "--out", str(out), "--size", "96", "--no-titles", "--mode", mode]
        assert main([*argv, *extra, *(["--timeout", "0"] if in_process else [])]) == 0
        if mode == "gallery":
            return _tall_and_wide(np.asarray(Image.open(out).convert("RGB")), silhouette)
        import imageio.v2 as iio

        last = list(iio.get_reader(out))[-1]  # identical frames may be merged into one
        return _tall_and_wide(np.asarray(last)[..., :3], silhouette)

    def tall(hw):
        return hw[0] > 2.5 * hw[1]

    def lying(hw):
        return hw[1] > hw[0]

    assert tall(extent("pts", "--up", "z")) and lying(extent("pts", "--up", "y")) and lying(extent("pts"))
    assert tall(extent("pts_z")) and lying(extent("pts_z", "--up", "y"))  # recorded axis, then overridden
    assert tall(extent("vox", "--up", "z")) and lying(extent("vox"))
    assert tall(extent("traj", mode="trajectory"))
    # the default deadline renders in a child process: --up must reach it
    assert tall(extent("pts", "--up", "z", in_process=False))
