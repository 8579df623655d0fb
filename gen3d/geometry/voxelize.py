"""Mesh -> occupancy grid: conservative surface voxelisation and a solid (filled) variant.

Grid convention (shared by all of gen3d): a grid ``(R, R, R)`` indexed ``[i, j, k]`` = (x, y, z) has cell
``[i, j, k]`` spanning ``origin + [idx, idx + 1] * spacing``; the default ``origin = (-1, -1, -1)`` and
``spacing = 2 / R`` cover the cube ``[-1, 1]^3``.

* :func:`voxelize_surface` marks exactly the cells whose closed box intersects at least one triangle (exact
  separating-axis triangle/box test, see :mod:`gen3d.geometry.tri_box`).
* :func:`voxelize_solid` fills the interior: the exterior is the set of non-surface cells 6-connected to the
  grid border; everything else is solid (surface cells included). This needs no inside/outside test on the
  mesh, so it is robust to open, self-intersecting and overlapping parts (ShapeNet) as long as holes are
  smaller than a cell. Parts that stick out of the grid are clipped; an interior cut open by the grid border
  counts as exterior. Because every surface cell is solid, the occupied volume exceeds the mesh volume by
  up to a shell of half a cell diagonal (measured: +22 % for a sphere of radius 0.7 at 32^3, +10 % at 64^3).
"""

from __future__ import annotations

import numpy as np

from gen3d.geometry.tri_box import mark_surface

__all__ = [
    "voxelize_surface",
    "voxelize_solid",
    "voxelize_surface_and_solid",
    "fill_enclosed",
    "grid_spacing",
    "cell_centers",
]


def grid_spacing(resolution: int, spacing: float | None = None) -> float:
    """Cell size: ``spacing`` if given, else ``2 / resolution`` (the grid covers ``[-1, 1]^3``)."""
    return float(spacing) if spacing is not None else 2.0 / int(resolution)


def cell_centers(resolution: int, origin=(-1.0, -1.0, -1.0), spacing: float | None = None) -> np.ndarray:
    """Cell centres ``(R, R, R, 3)`` float64: ``origin + (idx + 0.5) * spacing``."""
    s = grid_spacing(resolution, spacing)
    idx = np.arange(int(resolution), dtype=np.float64)
    grid = np.stack(np.meshgrid(idx, idx, idx, indexing="ij"), axis=-1)
    return np.asarray(origin, dtype=np.float64) + (grid + 0.5) * s


def _validate(vertices, faces, resolution, origin, spacing):
    r = int(resolution)
    if r < 1 or r != resolution:
        raise ValueError(f"resolution must be a positive integer, got {resolution!r}")
    s = grid_spacing(r, spacing)
    if not (np.isfinite(s) and s > 0):
        raise ValueError(f"spacing must be positive and finite, got {spacing!r}")
    o = np.asarray(origin, dtype=np.float64).reshape(-1)
    if o.shape != (3,) or not np.all(np.isfinite(o)):
        raise ValueError(f"origin must be 3 finite numbers, got {origin!r}")
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    if v.ndim != 2 or v.shape[1] != 3:
        raise ValueError(f"vertices must have shape (V, 3), got {v.shape}")
    if f.size == 0:
        f = f.reshape(0, 3)
    if f.ndim != 2 or f.shape[1] != 3:
        raise ValueError(f"faces must have shape (F, 3), got {f.shape}")
    if f.size and (f.min() < 0 or f.max() >= v.shape[0]):
        raise ValueError("face index out of range (see gen3d.geometry.check_mesh)")
    if not np.all(np.isfinite(v)):
        raise ValueError("vertices contain NaN/inf (see gen3d.geometry.check_mesh)")
    return v, f, r, o, s


def voxelize_surface(
    vertices: np.ndarray,
    faces: np.ndarray,
    resolution: int,
    origin=(-1.0, -1.0, -1.0),
    spacing: float | None = None,
) -> np.ndarray:
    """Cells touched by the surface: bool ``(R, R, R)``, ``True`` where a triangle meets the cell's closed
    box.

    ``vertices (V, 3)``, ``faces (F, 3)``; ``origin`` (3,) is the grid's lower corner and ``spacing`` the cell
    size (default ``2 / R``). Geometry outside the grid is ignored.
    """
    v, f, r, o, s = _validate(vertices, faces, resolution, origin, spacing)
    grid = np.zeros((r, r, r), dtype=bool)
    if f.shape[0] == 0:
        return grid
    tri = (v[f] - o) / s  # (F, 3, 3) in cell units: cell idx spans [idx, idx + 1]
    return mark_surface(tri, r)


def voxelize_solid(
    vertices: np.ndarray,
    faces: np.ndarray,
    resolution: int,
    origin=(-1.0, -1.0, -1.0),
    spacing: float | None = None,
) -> np.ndarray:
    """Filled occupancy: bool ``(R, R, R)``, the surface cells plus every cell enclosed by them.

    Exterior = non-surface cells 6-connected to the grid border (flood fill by connected-component labelling);
    solid = not exterior. Same arguments as :func:`voxelize_surface`.
    """
    surface = voxelize_surface(vertices, faces, resolution, origin, spacing)
    return fill_enclosed(surface)


def voxelize_surface_and_solid(
    vertices: np.ndarray,
    faces: np.ndarray,
    resolution: int,
    origin=(-1.0, -1.0, -1.0),
    spacing: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Both grids at once, ``(surface, solid)`` bool ``(R, R, R)`` each, voxelising the surface only once."""
    surface = voxelize_surface(vertices, faces, resolution, origin, spacing)
    return surface, fill_enclosed(surface)


def fill_enclosed(surface: np.ndarray) -> np.ndarray:
    """``surface`` bool ``(R, R, R)`` -> itself plus all empty cells not 6-connected to the border."""
    from scipy import ndimage

    empty = ~surface
    labels, count = ndimage.label(empty)  # default structure: 6-connectivity
    faces = [labels[[0, -1], :, :], labels[:, [0, -1], :], labels[:, :, [0, -1]]]
    is_exterior = np.zeros(count + 1, dtype=bool)  # lookup by label; label 0 = surface cells
    for face in faces:
        is_exterior[face.ravel()] = True
    is_exterior[0] = False
    exterior = is_exterior[labels]
    return ~exterior
