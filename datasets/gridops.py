"""Occupancy-grid operations used by preprocessing: resampling, solid/surface derivation, points -> grid and
grid -> surface points. Grids are bool (R,R,R) indexed [x,y,z] over [-1,1]^3 (see the voxel-grid convention).
"""

from __future__ import annotations

import numpy as np

__all__ = ["grid_surface_points", "points_to_grid", "resample_grid", "solid_and_surface"]

# the six face directions of a cell: axis, sign
_FACES = [(a, s) for a in range(3) for s in (-1, 1)]


def resample_grid(occ: np.ndarray, resolution: int) -> np.ndarray:
    """Resample a cubic bool grid to ``resolution``: block majority (mean >= 0.5) when the size divides
    evenly, nearest cell centre otherwise."""
    r = occ.shape[0]
    if r == resolution:
        return occ.astype(bool, copy=True)
    if r > resolution and r % resolution == 0:
        f = r // resolution
        blocks = occ.reshape(resolution, f, resolution, f, resolution, f)
        return blocks.mean(axis=(1, 3, 5)) >= 0.5
    # nearest: target cell centre (i+0.5)/resolution in source cells
    idx = np.minimum(((np.arange(resolution) + 0.5) * r / resolution).astype(np.int64), r - 1)
    return occ[np.ix_(idx, idx, idx)].astype(bool)


def solid_and_surface(occ: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """From any occupancy grid: ``solid`` = grid with enclosed cavities filled; ``surface`` = the solid's
    cells that touch an empty cell or the grid border through a face (a one-cell-thick shell)."""
    from scipy import ndimage

    solid = ndimage.binary_fill_holes(occ)
    interior = ndimage.binary_erosion(
        solid, structure=ndimage.generate_binary_structure(3, 1), border_value=0
    )
    return solid, solid & ~interior


def points_to_grid(
    points: np.ndarray, resolution: int, origin=(-1.0, -1.0, -1.0), spacing=None
) -> np.ndarray:
    """Mark every cell that contains at least one point -> bool (R,R,R). Points outside the grid are
    ignored."""
    spacing = 2.0 / resolution if spacing is None else float(spacing)
    idx = np.floor((np.asarray(points, dtype=np.float64) - np.asarray(origin)) / spacing).astype(np.int64)
    keep = ((idx >= 0) & (idx < resolution)).all(axis=1)
    grid = np.zeros((resolution,) * 3, dtype=bool)
    i = idx[keep]
    grid[i[:, 0], i[:, 1], i[:, 2]] = True
    return grid


def grid_surface_points(
    occ: np.ndarray,
    n: int,
    rng: np.random.Generator,
    origin=(-1.0, -1.0, -1.0),
    spacing=None,
    with_normals: bool = False,
):
    """Sample ``n`` points uniformly on the grid's boundary faces (cell faces between an occupied cell and an
    empty cell or the border; all faces have equal area, so a uniform face choice is area-uniform).

    Returns ``points`` (n,3) float32 [, ``normals`` (n,3) float32: the outward face normals]. Raises
    ValueError on an empty grid.
    """
    r = occ.shape[0]
    spacing = 2.0 / r if spacing is None else float(spacing)
    padded = np.pad(occ.astype(bool), 1)
    cells, axes, signs = [], [], []
    for a, s in _FACES:
        neighbour = np.roll(padded, -s, axis=a)[1:-1, 1:-1, 1:-1]
        ijk = np.argwhere(occ & ~neighbour)
        cells.append(ijk)
        axes.append(np.full(len(ijk), a))
        signs.append(np.full(len(ijk), s))
    cells_a, axes_a, signs_a = np.concatenate(cells), np.concatenate(axes), np.concatenate(signs)
    if len(cells_a) == 0:
        raise ValueError("empty grid: no boundary faces")
    pick = rng.integers(0, len(cells_a), size=n)
    uv = rng.random((n, 3))
    a = axes_a[pick]
    # position inside the cell in [0,1]^3; the face axis is pinned to 0 or 1
    uv[np.arange(n), a] = (signs_a[pick] > 0).astype(np.float64)
    pts = np.asarray(origin, dtype=np.float64) + (cells_a[pick] + uv) * spacing
    if not with_normals:
        return pts.astype(np.float32)
    normals = np.zeros((n, 3), dtype=np.float32)
    normals[np.arange(n), a] = signs_a[pick]
    return pts.astype(np.float32), normals
