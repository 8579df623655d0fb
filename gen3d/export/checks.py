"""Export input checks: a degenerate shape raises :class:`DegenerateShapeError` with an actionable reason."""

from __future__ import annotations

import numpy as np

from gen3d.errors import UserInputError

__all__ = ["DegenerateShapeError", "check_grid", "check_points"]


class DegenerateShapeError(UserInputError):
    """One shape cannot become a mesh (too few points, empty grid, NaN). Batches report and skip it."""


def check_points(points: np.ndarray, min_points: int = 4) -> np.ndarray:
    """Validate one point cloud (N,3); return it as float64 (N,3).

    Raises :class:`DegenerateShapeError` for a wrong shape, NaN/inf, fewer than ``min_points`` distinct points
    or points that span no volume (all on one plane or line).
    """
    p = np.asarray(points)
    if p.ndim != 2 or p.shape[-1] != 3:
        raise DegenerateShapeError(f"points must have shape (N, 3), got {tuple(p.shape)}")
    if not np.isfinite(p).all():
        bad = int((~np.isfinite(p).all(1)).sum())
        raise DegenerateShapeError(f"{bad} of {len(p)} points are NaN/inf")
    p = p.astype(np.float64)
    n_unique = len(np.unique(p, axis=0))
    if n_unique < min_points:
        raise DegenerateShapeError(f"too few distinct points ({n_unique}, need at least {min_points})")
    # rank of the centred cloud: < 3 means a plane, a line or one point (no surface encloses volume)
    centred = p - p.mean(0)
    sv = np.linalg.svd(centred, compute_uv=False)
    if sv[-1] <= 1e-9 * max(sv[0], 1e-300):
        raise DegenerateShapeError(
            "points are flat (all on one plane or line); no surface can be reconstructed"
        )
    return p


def check_grid(grid: np.ndarray, level: float) -> np.ndarray:
    """Validate one voxel grid (R,R,R) or (1,R,R,R); return it as float32 (R,R,R).

    Raises :class:`DegenerateShapeError` for a wrong shape, NaN/inf, or a grid with no value above ``level``
    (empty) or no value below it (full: the surface would be only the padding box).
    """
    g = np.asarray(grid)
    if g.ndim == 4 and g.shape[0] == 1:
        g = g[0]
    if g.ndim != 3 or not (g.shape[0] == g.shape[1] == g.shape[2]) or g.shape[0] < 2:
        raise DegenerateShapeError(
            f"voxel grid must have shape (R, R, R) or (1, R, R, R), got {tuple(g.shape)}"
        )
    if not np.isfinite(g).all():
        raise DegenerateShapeError(f"voxel grid holds {int((~np.isfinite(g)).sum())} NaN/inf values")
    g = g.astype(np.float32)
    if not (g > level).any():
        raise DegenerateShapeError(f"voxel grid is empty (no cell above level {level})")
    return g
