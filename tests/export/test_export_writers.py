"""Round trip of every mesh format, batch export of a sample file, and the `gen3d export` command."""

import json

import numpy as np
import pytest
import trimesh

from gen3d.cli import main
from gen3d.errors import UserInputError
from gen3d.export import FORMATS, export_samples, read_mesh, voxels_to_mesh, write_mesh
from gen3d.sample_file import SampleFile, save_samples


@pytest.mark.parametrize("fmt", FORMATS)
def test_round_trip_every_format(tmp_path, fmt):
    src = trimesh.creation.torus(0.6, 0.25, major_sections=24, minor_sections=12)
    path = write_mesh(src, tmp_path / f"t.{fmt}")
    assert path.is_file() and not list(tmp_path.glob(".t.*"))  # no temporary file left behind
    back = read_mesh(path)
    assert len(back.faces) == len(src.faces)
    assert back.is_watertight
    # same vertex set (file formats may reorder or store float32)
    np.testing.assert_allclose(
        np.unique(back.vertices.round(5), axis=0), np.unique(src.vertices.round(5), axis=0), atol=2e-5
    )
    assert back.volume == pytest.approx(src.volume, rel=1e-5)


def test_unknown_format(tmp_path):
    with pytest.raises(UserInputError, match="unsupported"):
        write_mesh(trimesh.creation.box(), tmp_path / "x.fbx")


def _ball_grid(res, r):
    c = (np.arange(res) + 0.5) * 2 / res - 1
    x, y, z = np.meshgrid(c, c, c, indexing="ij")
    return (x**2 + y**2 + z**2 < r**2).astype(np.float32)


def test_batch_export_voxels_skips_degenerate_and_reports(tmp_path):
    vox = np.stack([_ball_grid(16, 0.7), np.zeros((16,) * 3, np.float32), _ball_grid(16, 0.4)])[:, None]
    sf = SampleFile(
        voxels=vox, seeds=np.array([5, 6, 7]), meta={"voxel_origin": [0, 0, 0], "voxel_spacing": 0.5}
    )
    res = export_samples(sf, tmp_path / "out", fmt="obj")
    assert [r.error is None for r in res] == [True, False, True]
    assert "empty" in res[1].error
    assert res[0].path.name == "shape_0000_seed5.obj" and res[0].report.watertight
    # the stored frame is honoured: grid [0, 16*0.5]^3, ball centred at 4
    np.testing.assert_allclose(read_mesh(res[2].path).centroid, [4, 4, 4], atol=1e-6)
    np.testing.assert_allclose(read_mesh(res[0].path).bounds, voxels_to_mesh(vox[0], (0, 0, 0), 0.5).bounds)
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["exported"] == 2 and report["failed"] == 1
    assert report["shapes"][0]["watertight"] is True and report["shapes"][0]["faces"] > 0


def test_export_command_on_points(tmp_path, capsys):
    good = trimesh.sample.sample_surface(trimesh.creation.icosphere(3, 0.8), 1024, seed=0)[0]
    bad = np.zeros((1024, 3))
    bad[:, 0] = np.linspace(0, 1, 1024)  # a line
    path = save_samples(tmp_path / "s.npz", SampleFile(points=np.stack([good, bad]).astype(np.float32)))
    rc = main(
        ["export", str(path), "--out", str(tmp_path / "m"), "--format", "stl", "--method", "ball_pivoting"]
    )
    out = capsys.readouterr().out
    assert rc == 1  # one shape failed, and the exit status says so
    assert "[1] skipped: points are flat" in out and "exported 1 of 2" in out
    assert (tmp_path / "m" / "shape_0000.stl").is_file() and not (tmp_path / "m" / "shape_0001.stl").exists()


def test_export_command_bad_path(tmp_path, capsys):
    assert main(["export", str(tmp_path / "none.npz"), "--out", str(tmp_path)]) == 2
    assert "no sample file" in capsys.readouterr().err
