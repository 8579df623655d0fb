"""Jensen-Shannon divergence between the occupancy distributions of two sets of point clouds (PointFlow).

Each point is assigned to a cell of a ``resolution^3`` grid (28 by default) over the cube ``[lo, hi]^3``
(default ``[-1, 1]^3``, the gen3d grid convention; PointFlow uses ``[-0.5, 0.5]^3``: pass ``bounds``).
Cell counts are summed over all shapes of a set and normalised to a distribution ``P`` (generated) and ``Q``
(reference); ``JSD = H(M) - (H(P) + H(Q)) / 2`` with ``M = (P + Q) / 2``, in bits (log base 2, as PointFlow)
unless ``base`` says otherwise. Points outside the cube are clipped into the nearest boundary cell and counted
(``n_outside``), never dropped silently. With ``in_sphere=True`` only cells whose centre lies inside the ball
inscribed in the cube take part (PointFlow's ``in_unit_sphere``); points in other cells count as outside.
"""

from __future__ import annotations

import numpy as np

from gen3d.errors import UserInputError
from gen3d.metrics._inputs import as_cloud_set

__all__ = ["jsd_divergence", "occupancy_counts", "point_set_jsd"]


def occupancy_counts(
    points, resolution: int = 28, bounds: tuple[float, float] = (-1.0, 1.0), in_sphere: bool = False
) -> tuple[np.ndarray, int]:
    """Points per cell for a set ``points`` (S, N, 3): returns ``(counts (R^3,) int64, n_outside)``."""
    pts = as_cloud_set(points, "points").reshape(-1, 3).astype(np.float64)
    lo, hi = float(bounds[0]), float(bounds[1])
    if not hi > lo or resolution < 1:
        raise UserInputError(f"bad occupancy grid: bounds {bounds}, resolution {resolution}")
    spacing = (hi - lo) / resolution
    idx = np.floor((pts - lo) / spacing).astype(np.int64)
    outside = ((pts < lo) | (pts > hi)).any(axis=1)  # a point on the upper face belongs to the last cell
    idx = np.clip(idx, 0, resolution - 1)
    flat = (idx[:, 0] * resolution + idx[:, 1]) * resolution + idx[:, 2]
    if in_sphere:
        c = lo + (np.arange(resolution) + 0.5) * spacing
        gx, gy, gz = np.meshgrid(c, c, c, indexing="ij")
        centre, radius = (lo + hi) / 2, (hi - lo) / 2
        keep = ((gx - centre) ** 2 + (gy - centre) ** 2 + (gz - centre) ** 2 <= radius**2).ravel()
        outside |= ~keep[flat]
        flat = flat[keep[flat]]
    counts = np.bincount(flat, minlength=resolution**3)
    n_out = int(outside.sum())
    return counts, n_out


def jsd_divergence(p, q, base: float = 2.0) -> float:
    """JSD of two non-negative histograms (normalised here). Zero-mass cells contribute nothing."""
    p = np.asarray(p, dtype=np.float64).ravel()
    q = np.asarray(q, dtype=np.float64).ravel()
    if p.shape != q.shape or (p < 0).any() or (q < 0).any() or p.sum() <= 0 or q.sum() <= 0:
        raise UserInputError("JSD needs two non-negative histograms of one shape, each with positive mass")
    p = p / p.sum()
    q = q / q.sum()
    m = (p + q) / 2

    def h(a):
        a = a[a > 0]
        return -(a * np.log(a)).sum()

    return float((h(m) - (h(p) + h(q)) / 2) / np.log(base))


def point_set_jsd(
    gen,
    ref,
    resolution: int = 28,
    bounds: tuple[float, float] = (-1.0, 1.0),
    in_sphere: bool = False,
    base: float = 2.0,
) -> dict:
    """JSD between the occupancy distributions of ``gen`` (G, N, 3) and ``ref`` (R, M, 3).

    Returns ``{"jsd", "base", "resolution", "bounds", "in_sphere", "outside_gen", "outside_ref"}``.
    """
    cg, og = occupancy_counts(gen, resolution, bounds, in_sphere)
    cr, orf = occupancy_counts(ref, resolution, bounds, in_sphere)
    return {
        "jsd": jsd_divergence(cg, cr, base),
        "base": base,
        "resolution": resolution,
        "bounds": list(bounds),
        "in_sphere": in_sphere,
        "outside_gen": og,
        "outside_ref": orf,
    }
