"""Grid distance fields of point clouds and the lower bounds they give on nearest-neighbour distances.

For a cloud ``Y`` the distance field ``f_Y(z) = min_j |z - y_j|`` is 1-Lipschitz. It is computed exactly at
the nodes ``c_k`` of a regular grid shared by every cloud of a set. For a point ``x`` and any node ``c``,
``f_Y(x) >= f_Y(c) - |x - c|`` (Lipschitz), so with the 8 corners of the grid cell that holds ``x``

    ``f_Y(x) >= l_Y(x) = max(0, max_k f_Y(c_k) - |x - c_k|)``.                                        (1)

Averaged over the points of ``X``, (1) bounds the one-sided nearest-neighbour means from below:

* ``mean_i l_Y(x_i)^2 <= mean_i min_j |x_i - y_j|^2``: with the other direction, a lower bound on the Chamfer
  distance (:mod:`gen3d.metrics.chamfer`, squared distances);
* ``mean_i l_Y(x_i) <= mean_i min_j |x_i - y_j| <= EMD(X, Y)``: any bijection moves ``x_i`` at least as far as
  its nearest point of ``Y``, so either one-sided mean of plain distances is a lower bound on the EMD
  (:mod:`gen3d.metrics.emd`).

The bound is tight where clouds are far apart compared with the cell size and 0 where they touch, which is
what a nearest-neighbour search needs: it rules out the far shapes cheaply and leaves the near ones to the
exact distance. Cost: the fields are ``S (r+1)^3 N`` distance evaluations once (r = 32: ~10 s for 1 300
clouds of 2 048 points on 2 cores); a bound is ``8 N`` lookups per direction per pair.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit, prange

__all__ = ["GridFields", "grid_fields", "nn_lower_bounds"]


@dataclass(frozen=True)
class GridFields:
    """Distance fields of ``S`` clouds on one grid.

    ``field`` (S, (r+1)^3) float32: ``f_s`` at the nodes, rounded down; ``corner`` (S, N, 8) int32: node index
    of each corner of the cell of every point; ``offset`` (S, N, 8) float32: ``|x - c_k|`` rounded up (so (1)
    stays a lower bound in float32); ``res`` r; ``lo``, ``step``: the grid's origin and spacing.
    """

    field: np.ndarray
    corner: np.ndarray
    offset: np.ndarray
    res: int
    lo: np.ndarray
    step: float


@njit(parallel=True, fastmath=False, cache=True)
def _fields(clouds, nodes):
    s, n, _ = clouds.shape
    out = np.empty((s, nodes.shape[0]), np.float32)
    for a in prange(s):
        c = clouds[a]
        for k in range(nodes.shape[0]):
            z0, z1, z2 = nodes[k, 0], nodes[k, 1], nodes[k, 2]
            best = np.inf
            for j in range(n):
                d0 = z0 - c[j, 0]
                d1 = z1 - c[j, 1]
                d2 = z2 - c[j, 2]
                d = d0 * d0 + d1 * d1 + d2 * d2
                if d < best:
                    best = d
            out[a, k] = np.sqrt(best)
    return out


def grid_fields(clouds: np.ndarray, res: int = 32) -> GridFields:
    """Distance fields of ``clouds`` (S, N, 3) on a ``res``^3-cell grid over their common bounding cube."""
    x = np.asarray(clouds, dtype=np.float64)
    lo = x.min(axis=(0, 1))
    hi = x.max(axis=(0, 1))
    step = float(max((hi - lo).max(), 1e-12)) / res * (1 + 1e-6)  # every point strictly inside the grid
    axis = np.arange(res + 1, dtype=np.float64) * step
    g = np.stack(np.meshgrid(axis, axis, axis, indexing="ij"), -1).reshape(-1, 3) + lo
    # float64 distances, then rounded down: a stored field value never exceeds the true one
    f = _fields(x, g).astype(np.float64)
    field = np.nextafter(f.astype(np.float32), np.float32(0)).clip(min=0).astype(np.float32)
    cell = np.floor((x - lo) / step).astype(np.int64).clip(0, res - 1)  # (S, N, 3)
    corners = np.empty(x.shape[:2] + (8,), np.int32)
    offset = np.empty(x.shape[:2] + (8,), np.float32)
    m = res + 1
    for k in range(8):
        b = np.array([(k >> 2) & 1, (k >> 1) & 1, k & 1])
        idx = cell + b
        corners[..., k] = (idx[..., 0] * m + idx[..., 1]) * m + idx[..., 2]
        d = np.linalg.norm(x - (lo + idx * step), axis=-1)
        offset[..., k] = np.nextafter(d.astype(np.float32), np.float32(np.inf))  # rounded up
    return GridFields(field, corners, offset, res, lo, step)


@njit(fastmath=False, cache=True, inline="always")
def _one_side(corner, offset, field):
    # mean of l(x)^2 and of l(x) over the points of X against the field of Y, eq. (1)
    s2 = 0.0
    s1 = 0.0
    n = corner.shape[0]
    for i in range(n):
        best = np.float32(0.0)
        for k in range(8):
            v = field[corner[i, k]] - offset[i, k]
            if v > best:
                best = v
        b = np.float64(best)
        s1 += b
        s2 += b * b
    return s1 / n, s2 / n


@njit(parallel=True, cache=True)
def _pair_bounds(corner, offset, field, ia, ib):
    out = np.empty((ia.shape[0], 4))
    for k in prange(ia.shape[0]):
        i = ia[k]
        j = ib[k]
        a1, a2 = _one_side(corner[i], offset[i], field[j])
        b1, b2 = _one_side(corner[j], offset[j], field[i])
        out[k, 0] = a1
        out[k, 1] = b1
        out[k, 2] = a2
        out[k, 3] = b2
    return out


def nn_lower_bounds(gf: GridFields, ia: np.ndarray, ib: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lower bounds for the cloud pairs ``(ia[k], ib[k])`` of the set ``gf`` was made from.

    Returns ``(chamfer_lb (K,), emd_lb (K,))``: ``mean l^2`` summed over both directions (<= Chamfer) and the
    larger one-sided ``mean l`` (<= EMD), float64.
    """
    ia = np.ascontiguousarray(ia, dtype=np.int64)
    ib = np.ascontiguousarray(ib, dtype=np.int64)
    if len(ia) == 0:
        return np.zeros(0), np.zeros(0)
    r = _pair_bounds(gf.corner, gf.offset, gf.field, ia, ib)
    return r[:, 2] + r[:, 3], np.maximum(r[:, 0], r[:, 1])
