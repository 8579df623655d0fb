"""Jensen-Shannon divergence between the occupancy distributions of two sets of point clouds.

Points of all shapes of a set are counted on a grid and normalised to a distribution ``P`` (generated) and
``Q`` (reference); ``JSD = H(M) - (H(P) + H(Q)) / 2`` with ``M = (P + Q) / 2``, in bits (log base 2)
unless ``base`` says otherwise. Two binnings (``mode``):

* ``"pointflow"`` -- PointFlow's (``jsd_between_point_cloud_sets``, from latent_3d_points): the grid is the
  ``resolution^3`` (28^3) *vertices* ``-0.5 + i / (resolution - 1)``, ``i = 0 .. resolution - 1``, spanning
  ``[-0.5, 0.5]^3`` inclusive, restricted to the vertices inside the ball of radius 0.5 (``in_sphere=True``);
  each point counts for its nearest kept vertex (Euclidean), so points outside the ball or the cube are
  counted at the nearest kept vertex and nothing is dropped. The number printed in PointFlow, PVD, DPM and
  LION tables. Exact ties between two vertices go to either (measure zero for real data).
* ``"cells"`` -- gen3d's cell binning: ``resolution^3`` cells of the cube ``[lo, hi]^3`` (``bounds``,
  default ``[-1, 1]^3``, the gen3d grid convention); points outside the cube are clipped into the nearest
  boundary cell and counted (``n_outside``), never dropped silently. With ``in_sphere=True`` only cells whose
  centre lies inside the ball inscribed in the cube take part; points in other cells count as outside and
  are left out of the distribution. This is *not* PointFlow's number.
"""

from __future__ import annotations

import numpy as np

from gen3d.errors import UserInputError
from gen3d.metrics._inputs import as_cloud_set

__all__ = ["JSD_MODES", "jsd_divergence", "occupancy_counts", "point_set_jsd", "pointflow_counts"]

JSD_MODES = ("pointflow", "cells")


def occupancy_counts(
    points, resolution: int = 28, bounds: tuple[float, float] = (-1.0, 1.0), in_sphere: bool = False
) -> tuple[np.ndarray, int]:
    """``"cells"`` binning: points per cell for a set ``points`` (S, N, 3) -> ``(counts (R^3,) int64,
    n_outside)``."""
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


def _pointflow_grid(resolution: int) -> np.ndarray:
    """PointFlow's grid vertices inside the ball of radius 0.5: (K, 3) float64."""
    c = np.linspace(-0.5, 0.5, resolution)  # = i * (1 / (resolution - 1)) - 0.5
    g = np.stack(np.meshgrid(c, c, c, indexing="ij"), axis=-1).reshape(-1, 3)
    return g[np.linalg.norm(g, axis=1) <= 0.5]


def pointflow_counts(points, resolution: int = 28) -> tuple[np.ndarray, int]:
    """``"pointflow"`` binning: points per kept vertex for a set ``points`` (S, N, 3) -> ``(counts (K,)
    int64, n_outside_ball)``; ``K`` is the number of vertices inside the ball (10 144 for 28), and
    ``n_outside_ball`` (points farther than 0.5 + 1e-3 from the origin, PointFlow's warning bound) is
    informational: those points are counted at their nearest kept vertex like all others."""
    from scipy.spatial import cKDTree

    if resolution < 3:  # resolution 2 keeps no vertex (the cube's corners lie outside the ball)
        raise UserInputError(f"the PointFlow JSD grid needs resolution >= 3, got {resolution}")
    pts = as_cloud_set(points, "points").reshape(-1, 3).astype(np.float64)
    grid = _pointflow_grid(resolution)
    _, idx = cKDTree(grid).query(pts, k=1)
    counts = np.bincount(idx, minlength=len(grid)).astype(np.int64)
    return counts, int((np.linalg.norm(pts, axis=1) > 0.5 + 1e-3).sum())


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
    mode: str = "cells",
) -> dict:
    """JSD between the occupancy distributions of ``gen`` (G, N, 3) and ``ref`` (R, M, 3).

    ``mode``: ``"pointflow"`` (``bounds`` and ``in_sphere`` do not apply) or ``"cells"``; see the module doc.
    Returns ``{"jsd", "mode", "base", "resolution", "outside_gen", "outside_ref", ...}``: for ``"cells"``
    also ``"bounds"`` and ``"in_sphere"`` (outside: points clipped in or left out), for ``"pointflow"``
    ``"grid"`` (outside: points beyond the ball, counted at the nearest vertex).
    """
    if mode == "pointflow":
        cg, og = pointflow_counts(gen, resolution)
        cr, orf = pointflow_counts(ref, resolution)
        extra = {"grid": "vertices of [-0.5, 0.5]^3 in the ball of radius 0.5, nearest vertex"}
    elif mode == "cells":
        cg, og = occupancy_counts(gen, resolution, bounds, in_sphere)
        cr, orf = occupancy_counts(ref, resolution, bounds, in_sphere)
        extra = {"bounds": list(bounds), "in_sphere": in_sphere}
    else:
        raise UserInputError(f"unknown JSD mode {mode!r}; choose one of {', '.join(JSD_MODES)}")
    return {
        "jsd": jsd_divergence(cg, cr, base),
        "mode": mode,
        "base": base,
        "resolution": resolution,
        **extra,
        "outside_gen": og,
        "outside_ref": orf,
    }
