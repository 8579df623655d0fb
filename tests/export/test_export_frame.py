"""`gen3d export` reads the frame of the grids (the model's cache) instead of assuming it is the points'."""

import json

import numpy as np
import trimesh

from gen3d.cli import main
from gen3d.datasets.cache import ShapeCache
from gen3d.datasets.prepare import prepare
from gen3d.export import read_mesh
from gen3d.sample_file import SampleFile, save_samples


def _cache(tmp_path, normalize):
    root = tmp_path / "meshes" / "boxes"
    root.mkdir(parents=True)
    for i in range(3):
        trimesh.creation.box(extents=(2 + i, 1.0, 1.5)).apply_translation((4.0, 0, 0)).export(
            root / f"b{i}.obj"
        )
    out = tmp_path / f"cache_{normalize}"
    prepare("folder", root.parent, out, n_points=64, voxels=(16,), normalize=normalize, progress=False)
    return out


def _samples(tmp_path, cache):
    vox, _, _ = ShapeCache(cache).load_voxels("train", 16)
    meta = {"config": {"data": {"type": "voxels", "cache_dir": str(cache)}}, "voxel_kind": "occupancy"}
    return save_samples(tmp_path / "v.npz", SampleFile(voxels=vox[:1], meta=meta))


def test_unit_cube_points_frame_is_half_the_grid_frame(tmp_path):
    cache = _cache(tmp_path, "unit_cube")
    f = _samples(tmp_path, cache)
    for frame, half in (("grid", 1.0), ("points", 0.5)):
        out = tmp_path / frame
        assert main(["export", str(f), "--out", str(out), "--frame", frame]) == 0
        report = json.loads((out / "report.json").read_text())
        rec = report["grid_frame"]
        assert (
            rec["voxel_frame"] == "bbox" and rec["points_frame"] == "unit_cube" and rec["points_scale"] == 0.5
        )
        mesh = read_mesh(next(out.glob("*.ply")))
        # the box's longest side spans the frame's cube: [-1, 1] in the grid frame, [-0.5, 0.5] for the points
        assert np.abs(mesh.bounds.mean(axis=0)).max() < half * 2 / 16 + 1e-9  # both frames share the centre
        assert abs(np.ptp(mesh.vertices, axis=0).max() - 2 * half) < 2 * half * 2 / 16 + 1e-9
    # the cache's points agree with the `points` frame mesh
    pts, _, _ = ShapeCache(cache).load_points("train")
    assert np.abs(pts).max() <= 0.5 + 1e-6


def test_global_points_frame_cannot_be_reached_and_is_said(tmp_path, capsys):
    cache = _cache(tmp_path, "global")
    f = _samples(tmp_path, cache)
    assert main(["export", str(f), "--out", str(tmp_path / "p"), "--frame", "points"]) == 2
    assert "differs for every shape" in capsys.readouterr().err
    assert main(["export", str(f), "--out", str(tmp_path / "g")]) == 0
    assert "do not overlay the points" in capsys.readouterr().out
    rec = json.loads((tmp_path / "g" / "report.json").read_text())["grid_frame"]
    assert rec["points_frame"] == "global" and rec["points_scale"] is None and rec["frame"] == "grid"


def test_without_a_cache_the_default_frame_is_recorded(tmp_path, capsys):
    grid = np.zeros((1, 1, 8, 8, 8), np.float32)
    grid[0, 0, 2:6, 2:6, 2:6] = 1
    f = save_samples(tmp_path / "v.npz", SampleFile(voxels=grid))
    assert main(["export", str(f), "--out", str(tmp_path / "o")]) == 0
    rec = json.loads((tmp_path / "o" / "report.json").read_text())["grid_frame"]
    assert rec["source"].startswith("default cube") and rec["spacing"] == 0.25
    assert main(["export", str(f), "--out", str(tmp_path / "q"), "--frame", "points"]) == 2
