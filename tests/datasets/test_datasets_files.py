"""File readers: binvox axis order against a hand-built run-length stream, PCD/XYZ/PLY/NPY/NPZ points, numpy
voxel files; corrupt and truncated files give a UserInputError."""

from __future__ import annotations

import numpy as np
import pytest

from gen3d.datasets.binvox import read_binvox, write_binvox
from gen3d.datasets.pointfiles import read_points, write_pcd
from gen3d.datasets.voxelfiles import count_grids, read_voxels
from gen3d.errors import UserInputError


def _raw_binvox(d: int, occupied_xyz: list[tuple[int, int, int]], translate=(0, 0, 0), scale=1.0) -> bytes:
    """Independent encoder from the format description: flat index x*D*D + z*D + y, runs of (value, count)."""
    flat = np.zeros(d**3, dtype=np.uint8)
    for x, y, z in occupied_xyz:
        flat[x * d * d + z * d + y] = 1
    pairs = []
    for v in flat.tolist():  # one cell per run: valid binvox, no merging needed
        pairs += [v, 1]
    t = " ".join(str(v) for v in translate)
    head = f"#binvox 1\ndim {d} {d} {d}\ntranslate {t}\nscale {scale}\ndata\n"
    return head.encode() + bytes(pairs)


def test_binvox_axis_order_on_an_asymmetric_shape(tmp_path):
    # an "L" of three cells: origin, one step along x, two steps along y; nothing along z
    cells = [(0, 0, 0), (1, 0, 0), (0, 2, 0)]
    (tmp_path / "l.binvox").write_bytes(_raw_binvox(4, cells, translate=(-1, -2, 0.5), scale=3.0))
    g = read_binvox(tmp_path / "l.binvox")
    assert sorted(map(tuple, np.argwhere(g.occupancy).tolist())) == sorted(cells)
    assert np.allclose(g.translate, [-1, -2, 0.5]) and g.scale == 3.0 and g.spacing == 0.75
    # the writer is the reader's inverse and matches the hand-built stream cell for cell
    write_binvox(tmp_path / "w.binvox", g.occupancy, g.translate, g.scale)
    assert np.array_equal(read_binvox(tmp_path / "w.binvox").occupancy, g.occupancy)


def test_binvox_roundtrip_with_long_runs(tmp_path):
    occ = np.zeros((40, 40, 40), dtype=bool)
    occ[5:30, 2:38, 10:11] = True  # runs longer than 255 cells
    write_binvox(tmp_path / "a.binvox", occ)
    assert np.array_equal(read_binvox(tmp_path / "a.binvox").occupancy, occ)
    v = read_voxels(tmp_path / "a.binvox")
    assert np.allclose(v.origin, -1) and v.spacing == pytest.approx(2 / 40)


def test_binvox_corrupt_and_truncated(tmp_path):
    (tmp_path / "x.binvox").write_bytes(b"hello\n")
    with pytest.raises(UserInputError, match="not a binvox"):
        read_binvox(tmp_path / "x.binvox")
    raw = _raw_binvox(4, [(0, 0, 0)])
    (tmp_path / "t.binvox").write_bytes(raw[:-10])
    with pytest.raises(UserInputError, match="truncated"):
        read_binvox(tmp_path / "t.binvox")


@pytest.fixture
def cloud():
    return np.random.default_rng(1).normal(size=(50, 3)).astype(np.float32)


@pytest.mark.parametrize("fmt", ["pcd_ascii", "pcd_binary", "xyz", "npy", "npz", "ply"])
def test_point_readers(tmp_path, cloud, fmt):
    import trimesh

    path = tmp_path / f"c.{fmt.split('_')[0]}"
    if fmt.startswith("pcd"):
        write_pcd(path, cloud, binary=fmt == "pcd_binary")
    elif fmt == "xyz":
        np.savetxt(path, cloud)
    elif fmt == "npy":
        np.save(path, cloud)
    elif fmt == "npz":
        np.savez(path, other=np.zeros(2), points=cloud)
    else:
        trimesh.PointCloud(cloud).export(path)
    got = read_points(path)
    assert got.shape == (50, 3) and got.dtype == np.float64
    np.testing.assert_allclose(got, cloud, rtol=1e-6, atol=1e-6)


def test_pcd_with_extra_fields_and_binary_layout(tmp_path, cloud):
    # fields in another order with an rgb column: x y z must be picked by name
    head = (
        "VERSION 0.7\nFIELDS rgb z y x\nSIZE 4 4 8 4\nTYPE U F F F\nCOUNT 1 1 1 1\nWIDTH 50\nHEIGHT 1\n"
        "POINTS 50\nDATA binary\n"
    )
    rec = np.zeros(50, dtype=[("rgb", "<u4"), ("z", "<f4"), ("y", "<f8"), ("x", "<f4")])
    rec["x"], rec["y"], rec["z"] = cloud[:, 0], cloud[:, 1], cloud[:, 2]
    (tmp_path / "e.pcd").write_bytes(head.encode() + rec.tobytes())
    np.testing.assert_allclose(read_points(tmp_path / "e.pcd"), cloud, atol=1e-6)
    (tmp_path / "t.pcd").write_bytes(head.encode() + rec.tobytes()[:100])
    with pytest.raises(UserInputError, match="truncated"):
        read_points(tmp_path / "t.pcd")


def test_point_reader_errors(tmp_path, cloud):
    np.save(tmp_path / "t.npy", cloud)
    data = (tmp_path / "t.npy").read_bytes()
    (tmp_path / "t.npy").write_bytes(data[: len(data) // 2])
    with pytest.raises(UserInputError, match="unreadable"):
        read_points(tmp_path / "t.npy")
    np.save(tmp_path / "w.npy", np.zeros((4, 4, 4)))
    with pytest.raises(UserInputError, match=r"\(M,3\)"):
        read_points(tmp_path / "w.npy")
    (tmp_path / "b.npz").write_bytes(b"not a zip")
    with pytest.raises(UserInputError, match="unreadable"):
        read_points(tmp_path / "b.npz")
    with pytest.raises(UserInputError, match="suffix"):
        read_points(tmp_path / "c.las")


@pytest.mark.parametrize("shape", [(8, 8, 8), (3, 8, 8, 8), (3, 1, 8, 8, 8)])
def test_numpy_voxel_files(tmp_path, shape):
    rng = np.random.default_rng(0)
    grids = rng.random(shape) > 0.7
    np.save(tmp_path / "g.npy", grids.astype(np.float32))
    n = 1 if len(shape) == 3 else 3
    assert count_grids(tmp_path / "g.npy") == n
    for i in range(n):
        want = grids.reshape(n, 8, 8, 8)[i]
        assert np.array_equal(read_voxels(tmp_path / "g.npy", i).occupancy, want)
    np.savez(tmp_path / "h.npz", voxels=grids, origin=np.array([0.0, 0, 0]), spacing=np.array(0.5))
    v = read_voxels(tmp_path / "h.npz", 0)
    assert np.allclose(v.origin, 0) and v.spacing == 0.5


def test_numpy_voxel_file_errors(tmp_path):
    np.save(tmp_path / "bad.npy", np.zeros((4, 5, 6)))
    with pytest.raises(UserInputError, match="cubic"):
        read_voxels(tmp_path / "bad.npy")
    np.save(tmp_path / "nan.npy", np.full((4, 4, 4), np.nan))
    with pytest.raises(UserInputError, match="NaN"):
        read_voxels(tmp_path / "nan.npy")
