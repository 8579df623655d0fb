"""Voxel-file readers: ``.binvox`` and numpy grids ``(R,R,R)``, ``(N,R,R,R)`` or ``(N,1,R,R,R)`` in
``.npy``/``.npz``.

A numpy file with N grids is N shapes (``index`` 0..N-1). Values are read as occupancy ``value > 0.5`` (bool
grids and {0,1} floats both work). numpy grids cover gen3d's default cube [-1,1]^3 unless the ``.npz`` carries
``origin`` (3,) and ``spacing`` () arrays; binvox grids carry their own translate/scale.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gen3d.datasets.binvox import read_binvox
from gen3d.errors import UserInputError

__all__ = ["VOXEL_SUFFIXES", "VoxelGrid", "count_grids", "read_voxels"]

VOXEL_SUFFIXES = (".binvox", ".npy", ".npz")


@dataclass
class VoxelGrid:
    """``occupancy`` bool (R,R,R) indexed [x,y,z]; cell centres at ``origin + (idx + 0.5) * spacing``."""

    occupancy: np.ndarray
    origin: np.ndarray
    spacing: float


def _grid_array(path: Path):
    """(array-like of grids with a leading N axis, origin, spacing); npy opened memory-mapped."""
    try:
        if path.suffix.lower() == ".npy":
            arr = np.load(path, mmap_mode="r", allow_pickle=False)
            origin, spacing = None, None
        else:
            with np.load(path, allow_pickle=False) as z:
                keys = [k for k in z.keys() if k not in ("origin", "spacing")]
                if not keys:
                    raise UserInputError(f"{path}: .npz holds no grid array")
                key = "voxels" if "voxels" in keys else keys[0]
                arr = z[key]
                origin = z["origin"] if "origin" in z.files else None
                spacing = z["spacing"] if "spacing" in z.files else None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise UserInputError(f"{path}: unreadable numpy voxel file ({e})") from e
    shape = arr.shape
    if arr.ndim == 3:
        arr = arr[None]
    elif arr.ndim == 5 and shape[1] == 1:
        arr = arr[:, 0]
    elif arr.ndim != 4:
        raise UserInputError(
            f"{path}: expected voxel grids (R,R,R), (N,R,R,R) or (N,1,R,R,R); got shape {shape}"
        )
    if len(set(arr.shape[1:])) != 1:
        raise UserInputError(f"{path}: voxel grids must be cubic, got shape {shape}")
    r = arr.shape[1]
    origin = np.full(3, -1.0) if origin is None else np.asarray(origin, dtype=np.float64).reshape(3)
    spacing = 2.0 / r if spacing is None else float(np.asarray(spacing))
    return arr, origin, spacing


def count_grids(path: str | os.PathLike) -> int:
    """Number of grids (shapes) in a voxel file (1 for binvox)."""
    path = Path(path)
    if path.suffix.lower() == ".binvox":
        return 1
    return int(_grid_array(path)[0].shape[0])


def read_voxels(path: str | os.PathLike, index: int | None = None) -> VoxelGrid:
    """Read grid ``index`` (default 0) of a voxel file as occupancy. Raises :class:`UserInputError`."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in VOXEL_SUFFIXES:
        raise UserInputError(
            f"{path}: unknown voxel-file suffix; expected one of {', '.join(VOXEL_SUFFIXES)}"
        )
    if suffix == ".binvox":
        g = read_binvox(path)
        return VoxelGrid(g.occupancy, g.origin, g.spacing)
    arr, origin, spacing = _grid_array(path)
    i = 0 if index is None else int(index)
    if not 0 <= i < arr.shape[0]:
        raise UserInputError(f"{path}: grid index {i} out of range (file holds {arr.shape[0]})")
    try:
        grid = np.asarray(arr[i])
    except (OSError, ValueError) as e:  # truncated memory map
        raise UserInputError(f"{path}: unreadable grid {i} ({e})") from e
    if not np.issubdtype(grid.dtype, np.number) and grid.dtype != np.bool_:
        raise UserInputError(f"{path}: voxel grid has non-numeric dtype {grid.dtype}")
    if grid.dtype != np.bool_ and not np.isfinite(grid).all():
        raise UserInputError(f"{path}: voxel grid {i} holds NaN/inf values")
    return VoxelGrid(grid > 0.5, origin, spacing)
