"""Mesh -> occupancy grid: conservative surface voxelisation and a solid (filled) variant.

Grid convention (shared by all of gen3d): a grid ``(R, R, R)`` indexed ``[i, j, k]`` = (x, y, z) has cell
``[i, j, k]`` spanning ``origin + [idx, idx + 1] * spacing``; the default ``origin = (-1, -1, -1)`` and
``spacing = 2 / R`` cover the cube ``[-1, 1]^3``.

* :func:`voxelize_surface` marks exactly the cells whose closed box intersects at least one triangle. It is an
  exact triangle/box overlap test (separating-axis theorem, Akenine-Moeller 2001: the 3 box axes, the triangle
  normal and the 9 cross products of the box axes with the triangle edges), vectorised over (triangle,
  candidate cell) pairs, where the candidates of a triangle are the cells its bounding box touches.
* :func:`voxelize_solid` fills the interior: the exterior is the set of non-surface cells 6-connected to the
  grid border; everything else is solid (surface cells included). This needs no inside/outside test on the
  mesh, so it is robust to open, self-intersecting and overlapping parts (ShapeNet) as long as holes are
  smaller than a cell. Parts that stick out of the grid are clipped; an interior cut open by the grid border
  counts as exterior.
"""

from __future__ import annotations

import numpy as np

__all__ = ["voxelize_surface", "voxelize_solid", "fill_enclosed", "grid_spacing", "cell_centers"]

_PAIRS_PER_CHUNK = 1 << 20  # (triangle, cell) pairs tested per vectorised step: bounds temporary memory

_UNIT_AXES = np.eye(3)


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
    tmin, tmax = tri.min(axis=1), tri.max(axis=1)
    # candidate cells: closed [idx, idx + 1] meets [tmin, tmax]  <=>  ceil(tmin) - 1 <= idx <= floor(tmax)
    lo = np.maximum(np.ceil(tmin) - 1, 0).astype(np.int64)
    hi = np.minimum(np.floor(tmax), r - 1).astype(np.int64)
    ext = hi - lo + 1
    keep = np.all(ext > 0, axis=1)
    tri, lo, ext = tri[keep], lo[keep], ext[keep]
    if tri.shape[0] == 0:
        return grid
    # a triangle whose bounding box lies in one cell touches that cell: no test needed
    single = np.all(ext == 1, axis=1)
    grid[lo[single, 0], lo[single, 1], lo[single, 2]] = True
    tri, lo, ext = tri[~single], lo[~single], ext[~single]
    if tri.shape[0] == 0:
        return grid
    axes, pmin, pmax, rad = _separating_axes(tri)
    counts = ext.prod(axis=1)
    # process triangles in chunks of about _PAIRS_PER_CHUNK candidate pairs (at least one triangle each)
    csum = np.cumsum(counts)
    start = 0
    while start < tri.shape[0]:
        done = csum[start - 1] if start else 0
        stop = max(int(np.searchsorted(csum, done + _PAIRS_PER_CHUNK, side="right")), start + 1)
        sl = slice(start, stop)
        _mark_chunk(grid, lo[sl], ext[sl], counts[sl], axes[sl], pmin[sl], pmax[sl], rad[sl])
        start = stop
    return grid


def _separating_axes(tri: np.ndarray):
    """Per triangle, the 10 non-box candidate axes with the triangle's projection interval on each.

    Returns ``axes (T, 10, 3)``, ``pmin, pmax, rad (T, 10)`` where ``rad`` is the projection radius of a
    cell of half-size 1/2 about its centre (``0.5 * sum |axis|``). A cell with centre ``c`` is separated
    from the triangle along axis ``a`` iff ``pmin - a.c > rad`` or ``pmax - a.c < -rad``. Zero axes (from a
    degenerate triangle or an edge parallel to a box axis) never separate.
    """
    v0, v1, v2 = tri[:, 0], tri[:, 1], tri[:, 2]
    edges = np.stack([v1 - v0, v2 - v1, v0 - v2], axis=1)  # (T, 3, 3)
    normal = np.cross(edges[:, 0], edges[:, 1])[:, None, :]  # (T, 1, 3)
    # box axis e_k x edge e_m, for k, m in 0..2 -> (T, 9, 3)
    cross = np.cross(_UNIT_AXES[None, :, None, :], edges[:, None, :, :]).reshape(-1, 9, 3)
    axes = np.concatenate([normal, cross], axis=1)  # (T, 10, 3)
    proj = np.einsum("tad,tvd->tav", axes, tri)  # (T, 10, 3 vertices)
    rad = 0.5 * np.abs(axes).sum(axis=2)
    return axes, proj.min(axis=2), proj.max(axis=2), rad


def _mark_chunk(grid, lo, ext, counts, axes, pmin, pmax, rad):
    """Expand triangles to their candidate cells, keep the pairs no axis separates, mark those cells."""
    total = int(counts.sum())
    owner = np.repeat(np.arange(lo.shape[0]), counts)
    local = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    ey, ez = ext[owner, 1], ext[owner, 2]
    cell = np.empty((total, 3), dtype=np.int64)
    cell[:, 2] = local % ez
    local //= ez
    cell[:, 1] = local % ey
    cell[:, 0] = local // ey
    cell += lo[owner]
    centre = cell + 0.5
    hit = np.ones(total, dtype=bool)
    for k in range(axes.shape[1]):
        a = axes[owner, k]  # (P, 3)
        d = a[:, 0] * centre[:, 0] + a[:, 1] * centre[:, 1] + a[:, 2] * centre[:, 2]
        r = rad[owner, k]
        hit &= (pmin[owner, k] - d <= r) & (pmax[owner, k] - d >= -r)
    c = cell[hit]
    grid[c[:, 0], c[:, 1], c[:, 2]] = True


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


def fill_enclosed(surface: np.ndarray) -> np.ndarray:
    """``surface`` bool ``(R, R, R)`` -> itself plus all empty cells not 6-connected to the border."""
    from scipy import ndimage

    empty = ~surface
    labels, _ = ndimage.label(empty)  # default structure: 6-connectivity
    border = np.unique(
        np.concatenate(
            [
                labels[[0, -1], :, :].ravel(),
                labels[:, [0, -1], :].ravel(),
                labels[:, :, [0, -1]].ravel(),
            ]
        )
    )
    exterior = np.isin(labels, border[border > 0])
    return ~exterior
