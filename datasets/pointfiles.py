"""Point-cloud file readers: PLY, PCD (ascii / binary), XYZ, NPY, NPZ; and a PCD writer (used by tests).

Every reader returns ``(M, 3) float64`` coordinates and raises :class:`UserInputError` for a file it cannot
use (unreadable, truncated, wrong shape). Finiteness is checked by the caller (preprocessing skips NaN/inf
clouds with a reason instead of failing).
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np

from gen3d.atomic import atomic_write_bytes
from gen3d.errors import UserInputError

__all__ = ["POINT_SUFFIXES", "read_points", "write_pcd"]

POINT_SUFFIXES = (".ply", ".pcd", ".xyz", ".npy", ".npz")


def _as_points(arr, path: Path) -> np.ndarray:
    arr = np.asarray(arr)
    if arr.ndim != 2 or arr.shape[1] < 3 or not np.issubdtype(arr.dtype, np.number):
        raise UserInputError(f"{path}: expected a numeric (M,3) point array, got {arr.dtype} {arr.shape}")
    return np.ascontiguousarray(arr[:, :3], dtype=np.float64)


def _read_npy(path: Path) -> np.ndarray:
    try:
        return _as_points(np.load(path, allow_pickle=False), path)
    except (OSError, ValueError, EOFError) as e:
        raise UserInputError(f"{path}: unreadable .npy ({e})") from e


def _read_npz(path: Path) -> np.ndarray:
    try:
        with np.load(path, allow_pickle=False) as z:
            keys = list(z.keys())
            if not keys:
                raise UserInputError(f"{path}: empty .npz")
            key = "points" if "points" in keys else keys[0]
            return _as_points(z[key], path)
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as e:
        raise UserInputError(f"{path}: unreadable .npz ({e})") from e


def _read_xyz(path: Path) -> np.ndarray:
    try:
        data = np.loadtxt(path, comments="#", ndmin=2, usecols=(0, 1, 2))
    except (OSError, ValueError) as e:
        raise UserInputError(f"{path}: unreadable .xyz (expected 'x y z' per line: {e})") from e
    return _as_points(data, path)


def _read_ply(path: Path) -> np.ndarray:
    import trimesh

    try:
        geom = trimesh.load(path, process=False)
    except Exception as e:  # trimesh raises many types for corrupt files
        raise UserInputError(f"{path}: unreadable .ply ({type(e).__name__}: {e})") from e
    if isinstance(geom, trimesh.Scene):
        verts = [g.vertices for g in geom.geometry.values() if hasattr(g, "vertices")]
        v = np.concatenate(verts) if verts else np.zeros((0, 3))
    else:
        v = getattr(geom, "vertices", None)
        if v is None:
            raise UserInputError(f"{path}: .ply holds no vertices")
    return _as_points(np.asarray(v).reshape(-1, 3), path)


_PCD_TYPES = {
    ("F", 4): "f4",
    ("F", 8): "f8",
    ("I", 1): "i1",
    ("I", 2): "i2",
    ("I", 4): "i4",
    ("I", 8): "i8",
    ("U", 1): "u1",
    ("U", 2): "u2",
    ("U", 4): "u4",
    ("U", 8): "u8",
}


def _read_pcd(path: Path) -> np.ndarray:
    raw = path.read_bytes()
    header: dict[str, list[str]] = {}
    pos = 0
    while True:
        end = raw.find(b"\n", pos)
        if end < 0:
            raise UserInputError(f"{path}: not a PCD file (no DATA line)")
        line = raw[pos:end].decode("ascii", errors="replace").strip()
        pos = end + 1
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        header[parts[0].upper()] = parts[1:]
        if parts[0].upper() == "DATA":
            break
    try:
        fields = header["FIELDS"]
        sizes = [int(s) for s in header["SIZE"]]
        types = [t.upper() for t in header["TYPE"]]
        counts = [int(c) for c in header.get("COUNT", ["1"] * len(fields))]
        n = (
            int(header["POINTS"][0])
            if "POINTS" in header
            else int(header["WIDTH"][0]) * int(header["HEIGHT"][0])
        )
        mode = header["DATA"][0].lower()
    except (KeyError, ValueError, IndexError) as e:
        raise UserInputError(f"{path}: bad PCD header ({e})") from e
    if not {"x", "y", "z"} <= set(fields):
        raise UserInputError(f"{path}: PCD has no x y z fields (fields: {fields})")
    cols = []  # column index of each scalar in a flattened row
    dtype_fields = []
    for f, s, t, c in zip(fields, sizes, types, counts):
        if (t, s) not in _PCD_TYPES:
            raise UserInputError(f"{path}: unsupported PCD field type {t}{s}")
        dtype_fields.append((f, _PCD_TYPES[(t, s)], (c,) if c > 1 else ()))
        cols.extend([f] * c)
    if mode == "ascii":
        try:
            data = np.loadtxt(raw[pos:].decode("ascii").splitlines(), ndmin=2)
        except ValueError as e:
            raise UserInputError(f"{path}: bad PCD ascii data ({e})") from e
        if data.shape[0] != n or data.shape[1] != len(cols):
            raise UserInputError(
                f"{path}: PCD ascii data has shape {data.shape}, header says ({n},{len(cols)})"
            )
        return _as_points(np.stack([data[:, cols.index(a)] for a in "xyz"], axis=1), path)
    if mode == "binary":
        dt = np.dtype(dtype_fields)
        if len(raw) - pos < n * dt.itemsize:
            raise UserInputError(
                f"{path}: truncated PCD binary data ({len(raw) - pos} bytes, need {n * dt.itemsize})"
            )
        rec = np.frombuffer(raw, dtype=dt, count=n, offset=pos)
        return _as_points(np.stack([rec[a].astype(np.float64) for a in "xyz"], axis=1), path)
    raise UserInputError(f"{path}: PCD DATA {mode!r} is not supported (use ascii or binary)")


_READERS = {".npy": _read_npy, ".npz": _read_npz, ".xyz": _read_xyz, ".ply": _read_ply, ".pcd": _read_pcd}


def read_points(path: str | os.PathLike) -> np.ndarray:
    """Read a point file by suffix -> ``(M, 3) float64``. Raises :class:`UserInputError` when unusable."""
    path = Path(path)
    reader = _READERS.get(path.suffix.lower())
    if reader is None:
        raise UserInputError(
            f"{path}: unknown point-file suffix; expected one of {', '.join(POINT_SUFFIXES)}"
        )
    if not path.is_file():
        raise UserInputError(f"{path}: no such file")
    try:
        return reader(path)
    except OSError as e:
        raise UserInputError(f"cannot read {path}: {e}") from e


def write_pcd(path: str | os.PathLike, points: np.ndarray, binary: bool = False) -> None:
    """Write ``points`` (M,3) as a PCD v0.7 file with float32 x y z (ascii or binary), atomically."""
    pts = np.asarray(points, dtype=np.float32).reshape(-1, 3)
    header = (
        "# .PCD v0.7 - Point Cloud Data file format\nVERSION 0.7\nFIELDS x y z\nSIZE 4 4 4\nTYPE F F F\n"
        f"COUNT 1 1 1\nWIDTH {len(pts)}\nHEIGHT 1\nVIEWPOINT 0 0 0 1 0 0 0\nPOINTS {len(pts)}\n"
        f"DATA {'binary' if binary else 'ascii'}\n"
    )
    body = pts.tobytes() if binary else "".join(f"{x!r} {y!r} {z!r}\n" for x, y, z in pts.tolist()).encode()
    atomic_write_bytes(path, header.encode("ascii") + body)
