"""Hidden-point removal (Katz, Tal & Basri, "Direct visibility of point sets", SIGGRAPH 2007).

The points visible from a viewpoint ``C`` are found without a surface: with ``p_i`` the points relative to
``C``, spherical flipping maps each to ``p_i + 2 (R - |p_i|) p_i / |p_i|`` (R above every ``|p_i|``), and
``p_i`` is marked visible when its image is a vertex of the convex hull of the flipped set and ``C`` itself
(paper, Sec. 3). ``R = max_i |p_i| * 10**gamma``.

Measured on 4000 points of the unit sphere seen from a distance ``d`` in {1.5, 3, 10, 100}, where exactly the
cap ``p . c_hat >= 1/d`` is visible (the near hemisphere as ``d -> inf``): with ``gamma = 1`` no point with
``p . c_hat > 1/d`` is missed and none with ``p . c_hat < 1/d - 0.08`` is kept (the point spacing there is
about 0.06: the error is the sampling's). A larger ``gamma`` (2 or more) lets Qhull's round-off keep far-side
points when the camera is close (``d = 1.5``), so the default is 1. Convex hulls by scipy's Qhull.
"""

from __future__ import annotations

import numpy as np

__all__ = ["hidden_point_removal"]


def hidden_point_removal(points: np.ndarray, viewpoint: np.ndarray, gamma: float = 1.0) -> np.ndarray:
    """Indices (V,) int64, sorted, of the points of ``points`` (N, 3) visible from ``viewpoint`` (3,).

    Returns an empty array when fewer than 4 points are given or the set is flat (no 3-D hull); raises
    ValueError for non-finite input or a viewpoint on one of the points.
    """
    from scipy.spatial import ConvexHull, QhullError

    p = np.asarray(points, dtype=np.float64)
    c = np.asarray(viewpoint, dtype=np.float64).reshape(3)
    if p.ndim != 2 or p.shape[1] != 3:
        raise ValueError(f"points must have shape (N, 3), got {p.shape}")
    if not (np.isfinite(p).all() and np.isfinite(c).all()):
        raise ValueError("hidden-point removal needs finite points and viewpoint")
    if len(p) < 4:
        return np.zeros(0, dtype=np.int64)
    q = p - c
    norm = np.linalg.norm(q, axis=1)
    if not norm.min() > 0:
        raise ValueError("the viewpoint coincides with a point of the cloud")
    radius = norm.max() * 10.0 ** float(gamma)
    flipped = q + 2.0 * (radius - norm)[:, None] * q / norm[:, None]
    try:
        hull = ConvexHull(np.vstack([flipped, np.zeros((1, 3))]))
    except QhullError:  # flat or degenerate set: nothing can be called visible
        return np.zeros(0, dtype=np.int64)
    v = hull.vertices
    return np.sort(v[v < len(p)]).astype(np.int64)
