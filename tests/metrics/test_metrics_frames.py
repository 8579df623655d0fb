"""Grids are scored in the frame the cache recorded for them, never against points in another frame."""

import json

import numpy as np
import pytest

from gen3d.cli import main
from gen3d.datasets.cache import ShapeCache
from gen3d.metrics import chamfer_pairwise, voxels_to_surface_points
from gen3d.sample_file import SampleFile, save_samples


@pytest.mark.parametrize("normalize", ["global", "unit_cube", "bbox"])
def test_grids_against_a_cache_whose_points_are_in_another_frame(tmp_path, make_cache, normalize):
    cache = make_cache(normalize=normalize, n_points=1024, voxels=(16,))
    c = ShapeCache(cache)
    assert c.voxel_frame == "bbox"  # the grids' frame; the points are normalised `normalize`
    vox, _, _ = c.load_voxels("train", 16)
    gen = save_samples(tmp_path / "v.npz", SampleFile(voxels=vox))  # a "model" that returns the cache's grids
    out = tmp_path / "r.json"
    argv = ["evaluate", str(gen), str(cache), "--split", "train", "--metrics", "cd", "--bootstrap", "0"]
    assert main([*argv, "--out", str(out)]) == 0
    res = json.loads(out.read_text())
    assert res["inputs"]["reference_cache"]["units"] == "voxel" and res["converted_from_voxels"] == ["gen"]
    # the grids' surface points lie on their own shapes (spheres of any radius coincide in the bbox frame,
    # so not every shape is some grid's nearest one): within about a cell of them
    cell = 2.0 / 16
    assert res["metrics"]["cd"]["mmd"] < 2 * cell**2
    # what scoring against the points in their own frame gives (the old [-1,1]^3 assumption)
    pts, _, _ = c.load_points("train", n_points=1024)
    grid_pts = voxels_to_surface_points(vox, 1024, np.random.default_rng(0))
    wrong = chamfer_pairwise(grid_pts, pts).min(0).mean()
    if normalize == "bbox":  # the frames agree: the same number either way
        assert wrong == pytest.approx(res["metrics"]["cd"]["mmd"], rel=0.3)
    else:
        assert wrong > 3 * res["metrics"]["cd"]["mmd"]


def test_grids_never_meet_raw_units_or_another_grid_frame(tmp_path, rng, capsys):
    vox = (rng.random((3, 1, 8, 8, 8)) > 0.5).astype(np.float32)
    grids = save_samples(tmp_path / "v.npz", SampleFile(voxels=vox))
    raw = save_samples(
        tmp_path / "raw.npz",
        SampleFile(points=rng.standard_normal((3, 32, 3)).astype(np.float32), meta={"denormalized": True}),
    )
    assert main(["evaluate", str(grids), str(raw), "--metrics", "cd"]) == 2
    assert main(["evaluate", str(raw), str(grids), "--metrics", "cd"]) == 2
    assert "raw units" in capsys.readouterr().err
    moved = save_samples(
        tmp_path / "m.npz", SampleFile(voxels=vox, meta={"voxel_origin": [0, 0, 0], "voxel_spacing": 0.1})
    )
    assert main(["evaluate", str(grids), str(moved), "--bootstrap", "0"]) == 2
    assert "one frame" in capsys.readouterr().err
    # the recorded frame is used for the grid -> points conversion and recorded in the result
    pts = save_samples(
        tmp_path / "p.npz", SampleFile(points=(rng.random((3, 32, 3)) * 0.8).astype(np.float32))
    )
    out = tmp_path / "r.json"
    assert (
        main(["evaluate", str(moved), str(pts), "--metrics", "cd", "--bootstrap", "0", "--out", str(out)])
        == 0
    )
    res = json.loads(out.read_text())
    assert res["grid_frame"]["origin"] == [0, 0, 0] and res["grid_frame"]["spacing"] == 0.1
