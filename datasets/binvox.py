"""Reader and writer for ``.binvox`` voxel files (ShapeNet ships ``model_normalized.{solid,surface}.binvox``).

Format: an ASCII header ::

    #binvox 1
    dim D D D
    translate tx ty tz
    scale s
    data

followed by run-length pairs of bytes ``(value, count)`` with ``value`` in {0, 1} and ``count`` in 1..255.

Axis order: the runs enumerate cells with **x slowest, then z, then y fastest** (flat index
``x*D*D + z*D + y``), i.e. a C-order reshape gives axes ``(x, z, y)``. This module returns and takes grids
indexed ``[x, y, z]`` as the rest of gen3d does. Cell ``[i, j, k]`` has its centre at ``translate + (idx +
0.5) / D * scale`` (world units); as origin/spacing: ``origin = translate``, ``spacing = scale / D``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gen3d.atomic import atomic_write_bytes
from gen3d.errors import UserInputError

__all__ = ["BinvoxGrid", "read_binvox", "write_binvox"]


@dataclass
class BinvoxGrid:
    """A binvox grid: ``occupancy`` bool (D,D,D) indexed [x,y,z]; ``translate`` (3,); ``scale`` float."""

    occupancy: np.ndarray
    translate: np.ndarray
    scale: float

    @property
    def origin(self) -> np.ndarray:
        return np.asarray(self.translate, dtype=np.float64)

    @property
    def spacing(self) -> float:
        return float(self.scale) / self.occupancy.shape[0]


def read_binvox(path: str | os.PathLike) -> BinvoxGrid:
    """Read a ``.binvox`` file; raise :class:`UserInputError` if it is not one or is truncated."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise UserInputError(f"cannot read {path}: {e}") from e
    pos = 0
    header: dict[str, list[str]] = {}
    first = True
    while True:
        end = raw.find(b"\n", pos)
        if end < 0:
            raise UserInputError(f"{path}: not a binvox file (header has no 'data' line)")
        line = raw[pos:end].decode("ascii", errors="replace").strip()
        pos = end + 1
        if first:
            if not line.startswith("#binvox"):
                raise UserInputError(f"{path}: not a binvox file (expected '#binvox 1' on the first line)")
            first = False
            continue
        if line == "data":
            break
        parts = line.split()
        if parts:
            header[parts[0]] = parts[1:]
    try:
        dims = [int(v) for v in header["dim"]]
        translate = np.array([float(v) for v in header.get("translate", ["0", "0", "0"])], dtype=np.float64)
        scale = float(header.get("scale", ["1"])[0])
    except (KeyError, ValueError) as e:
        raise UserInputError(f"{path}: bad binvox header ({e})") from e
    if len(dims) != 3 or len(set(dims)) != 1 or dims[0] < 1:
        raise UserInputError(f"{path}: binvox dims must be three equal positive numbers, got {dims}")
    body = np.frombuffer(raw, dtype=np.uint8, offset=pos)
    if body.size % 2:
        raise UserInputError(f"{path}: truncated binvox data (odd number of run-length bytes)")
    values, counts = body[0::2], body[1::2]
    total = int(np.prod(dims))
    if int(counts.sum(dtype=np.int64)) != total:
        raise UserInputError(
            f"{path}: binvox data holds {int(counts.sum(dtype=np.int64))} cells, header says {total} "
            "(truncated?)"
        )
    flat = np.repeat(values > 0, counts)
    occ = flat.reshape(dims).transpose(0, 2, 1)  # stored (x, z, y) -> [x, y, z]
    return BinvoxGrid(np.ascontiguousarray(occ), translate, scale)


def write_binvox(
    path: str | os.PathLike, occupancy: np.ndarray, translate=(-1.0, -1.0, -1.0), scale: float = 2.0
) -> None:
    """Write a bool/0-1 grid (D,D,D) indexed [x,y,z] as ``.binvox`` (atomically). Defaults describe gen3d's
    [-1,1]^3 cube."""
    occ = np.asarray(occupancy)
    if occ.ndim != 3 or len(set(occ.shape)) != 1:
        raise ValueError(f"binvox needs a cubic (D,D,D) grid, got shape {occ.shape}")
    d = occ.shape[0]
    flat = (occ > 0).transpose(0, 2, 1).reshape(-1).astype(np.uint8)  # [x, y, z] -> stored (x, z, y)
    # run-length encode: run starts where the value changes, runs longer than 255 are split
    change = np.flatnonzero(np.diff(flat)) + 1
    starts = np.concatenate([[0], change])
    lengths = np.diff(np.concatenate([starts, [flat.size]]))
    pairs = []
    for s, n in zip(starts.tolist(), lengths.tolist()):
        v = int(flat[s])
        while n > 0:
            c = min(n, 255)
            pairs.append((v, c))
            n -= c
    t = [float(v) for v in translate]
    header = (
        f"#binvox 1\ndim {d} {d} {d}\ntranslate {t[0]!r} {t[1]!r} {t[2]!r}\nscale {float(scale)!r}\ndata\n"
    )
    atomic_write_bytes(path, header.encode("ascii") + np.asarray(pairs, dtype=np.uint8).tobytes())
