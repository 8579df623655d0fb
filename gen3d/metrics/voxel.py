"""Metrics for voxel grids: IoU distance matrices (for MMD/COV/1-NNA), occupancy JSD, and conversion of grids
to surface points so that the point-cloud metrics apply.

Grids are ``(S, 1, R, R, R)`` or ``(S, R, R, R)`` occupancy; a cell is occupied where ``value > threshold``
(0.5 for occupancy in [0, 1]; pass 0 for model-space grids in {-1, +1}). Grid convention (the one
:mod:`gen3d.geometry.voxelize` writes): index [i, j, k] is (x, y, z) with cell centre
``origin + (idx + 0.5) * spacing``, default origin (-1,-1,-1), spacing 2/R.
"""

from __future__ import annotations

import numpy as np

from gen3d.errors import UserInputError
from gen3d.metrics.jsd import jsd_divergence

__all__ = ["as_occupancy", "iou_distance_pairwise", "voxel_jsd", "voxels_to_surface_points"]


def as_occupancy(vox, threshold: float = 0.5, name: str = "voxels") -> np.ndarray:
    """``(S, 1, R, R, R)`` / ``(S, R, R, R)`` -> bool ``(S, R, R, R)``; validates shape and finiteness."""
    if hasattr(vox, "detach"):
        vox = vox.detach().cpu().numpy()
    v = np.asarray(vox)
    if v.ndim == 5 and v.shape[1] == 1:
        v = v[:, 0]
    if v.ndim != 4 or not (v.shape[1] == v.shape[2] == v.shape[3]) or v.shape[0] == 0:
        raise UserInputError(
            f"{name} must have shape (S, 1, R, R, R) or (S, R, R, R) with S >= 1, got {v.shape}"
        )
    if v.dtype != bool and not np.isfinite(v).all():
        raise UserInputError(f"{name} holds NaN/inf")
    return v if v.dtype == bool else v > threshold


def iou_distance_pairwise(A, B=None, threshold: float = 0.5) -> np.ndarray:
    """``1 - IoU`` between every grid of ``A`` (a, ...) and ``B`` (b, ...) (``B=None``: A with itself).

    Two empty grids have IoU 1 (distance 0). Returns (a, b) float64. Counts are exact (float64 matmul).
    """
    a = as_occupancy(A, threshold, "A")
    b = a if B is None else as_occupancy(B, threshold, "B")
    if a.shape[1:] != b.shape[1:]:
        raise UserInputError(f"voxel grids differ in resolution: {a.shape[1:]} vs {b.shape[1:]}")
    fa = a.reshape(len(a), -1).astype(np.float64)
    fb = b.reshape(len(b), -1).astype(np.float64)
    inter = fa @ fb.T
    union = fa.sum(1)[:, None] + fb.sum(1)[None, :] - inter
    iou = np.where(union > 0, inter / np.maximum(union, 1), 1.0)
    return 1.0 - iou


def voxel_jsd(gen, ref, threshold: float = 0.5, base: float = 2.0) -> float:
    """JSD (bits by default) between the occupancy distributions (occupied-cell counts summed over shapes)."""
    g = as_occupancy(gen, threshold, "gen")
    r = as_occupancy(ref, threshold, "ref")
    if g.shape[1:] != r.shape[1:]:
        raise UserInputError(f"voxel grids differ in resolution: {g.shape[1:]} vs {r.shape[1:]}")
    return jsd_divergence(g.sum(0), r.sum(0), base)


def voxels_to_surface_points(
    vox,
    n_points: int,
    rng: np.random.Generator,
    threshold: float = 0.5,
    origin=(-1.0, -1.0, -1.0),
    spacing: float | None = None,
) -> np.ndarray:
    """Sample ``n_points`` points per grid on its surface cells -> ``(S, n_points, 3)`` float32.

    Surface cells: occupied cells with at least one empty 6-neighbour (outside the grid counts as empty).
    Cells are drawn uniformly with replacement and each point is placed uniformly inside its cell.
    An empty grid raises :class:`UserInputError` naming its index.
    """
    occ = as_occupancy(vox, threshold)
    s, r = occ.shape[0], occ.shape[1]
    h = 2.0 / r if spacing is None else float(spacing)
    org = np.asarray(origin, dtype=np.float64)
    padded = np.pad(occ, ((0, 0), (1, 1), (1, 1), (1, 1)))
    interior = occ.copy()
    for axis in (1, 2, 3):
        for shift in (-1, 1):
            interior &= np.roll(padded, shift, axis=axis)[:, 1:-1, 1:-1, 1:-1]
    surface = occ & ~interior
    out = np.empty((s, n_points, 3), dtype=np.float32)
    for k in range(s):
        cells = np.argwhere(surface[k])
        if len(cells) == 0:
            raise UserInputError(f"voxel grid {k} is empty (no occupied cell above threshold {threshold})")
        pick = cells[rng.integers(0, len(cells), n_points)]
        out[k] = org + (pick + rng.random((n_points, 3))) * h
    return out
