"""Earth mover's distance between equal-size point clouds: ``EMD(X, Y) = min_phi mean_i |x_i - y_phi(i)|``
over bijections ``phi`` (Euclidean, not squared, distances; PointFlow convention).

Two solvers:

* exact: the Hungarian-type solver ``scipy.optimize.linear_sum_assignment`` on the float64 cost matrix
  (O(N^3); about a second per 2048-point pair on a 2-core CPU). Used for small clouds and as the reference.
* approximate: the forward auction algorithm with epsilon-scaling (Bertsekas 1988), numba, cost rows
  computed on the fly (nothing of size N x N is stored). It returns the cost of an actual bijection, so the
  value is an upper bound on the exact EMD, together with a dual lower bound from the final prices ``p``:
  ``LB = (1/N) [sum_i min_j (c_ij + p_j) - sum_j p_j]`` (any prices give a feasible dual). The scaling stops
  when the certified relative gap ``(value - LB) / LB`` is at most ``tol`` (default 1%), so every returned
  value carries its own error bound; in practice the actual error is about ten times smaller than the bound.
  Where float32 resolution prevents reaching ``tol`` the stated gap is larger and is returned as is.

Unequal point counts raise :class:`gen3d.errors.UserInputError` (resample first, e.g. with
``numpy.random.Generator.choice``); non-finite inputs raise too, and a non-finite result is never returned.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from gen3d.errors import UserInputError
from gen3d.metrics._inputs import as_cloud, as_cloud_set

__all__ = ["EMD_EXACT_MAX_POINTS", "EMDResult", "auction_pairs", "emd", "emd_exact", "emd_pairwise"]

#: ``method="auto"`` uses the exact solver up to this many points per cloud.
EMD_EXACT_MAX_POINTS = 256

_BIG = np.float32(3.0e38)


@dataclass(frozen=True)
class EMDResult:
    """EMD: ``lower_bound <= exact EMD <= value``, ``rel_gap = (value - lower_bound) / lower_bound``."""

    value: float
    lower_bound: float
    rel_gap: float
    exact: bool


def emd_exact(x, y) -> float:
    """Exact EMD of ``x`` (N, 3) and ``y`` (N, 3) by ``linear_sum_assignment`` in float64."""
    from scipy.optimize import linear_sum_assignment
    from scipy.spatial.distance import cdist

    x, y = _check_pair(x, y)
    c = cdist(x.astype(np.float64), y.astype(np.float64))
    r, k = linear_sum_assignment(c)
    return float(c[r, k].mean())


def _check_pair(x, y):
    x = as_cloud(x, "x")
    y = as_cloud(y, "y")
    if len(x) != len(y):
        raise UserInputError(
            f"EMD needs equal point counts, got {len(x)} and {len(y)}; resample both clouds to one size first"
        )
    return x, y


@njit(fastmath=True, boundscheck=False, cache=True, inline="always")
def _cost_row(a0, a1, a2, y0, y1, y2, p, buf):
    # reduced cost row: buf[j] = |x_i - y_j| + p_j
    for j in range(y0.shape[0]):
        d0 = a0 - y0[j]
        d1 = a1 - y1[j]
        d2 = a2 - y2[j]
        buf[j] = np.sqrt(d0 * d0 + d1 * d1 + d2 * d2) + p[j]


@njit(fastmath=True, boundscheck=False, cache=True, inline="always")
def _min_of(buf, tmp):
    # min of buf by pairwise halving into tmp (vectorises)
    n = buf.shape[0]
    h = n // 2
    for j in range(h):
        u = buf[j]
        v = buf[j + h]
        tmp[j] = u if u < v else v
    r = buf[n - 1] if n % 2 else _BIG
    w = h
    while w > 32 and w % 2 == 0:
        h = w // 2
        for j in range(h):
            u = tmp[j]
            v = tmp[j + h]
            tmp[j] = u if u < v else v
        w = h
    for j in range(w):
        v = tmp[j]
        r = v if v < r else r
    return r


@njit(fastmath=True, boundscheck=False, cache=True, inline="always")
def _dual_bound(x0, x1, x2, y0, y1, y2, p, buf, tmp):
    # dual lower bound (sum, not mean) of any prices p: sum_i min_j (c_ij + p_j) - sum_j p_j
    lb = 0.0
    for i in range(x0.shape[0]):
        _cost_row(x0[i], x1[i], x2[i], y0, y1, y2, p, buf)
        lb += _min_of(buf, tmp)
    for j in range(p.shape[0]):
        lb -= p[j]
    return lb


@njit(fastmath=True, boundscheck=False, cache=True)
def _auction(xs, ys, eps0, eps_min, theta, tol, stop_above):
    """Auction with eps-scaling for xs, ys (3, N). Returns (value, lower_bound, eps_final, n_bids, stopped),
    means. ``stop_above`` (a mean distance; inf: never): stop early, with ``stopped`` True and value NaN, once
    the dual bound certifies ``EMD > stop_above`` (checked at the end of every phase); the phases run until
    then are those of the full solve."""
    n = xs.shape[1]
    x0, x1, x2 = xs[0], xs[1], xs[2]
    y0, y1, y2 = ys[0], ys[1], ys[2]
    p = np.zeros(n, np.float32)
    buf = np.empty(n, np.float32)
    tmp = np.empty(n, np.float32)
    owner = np.empty(n, np.int64)
    assign = np.empty(n, np.int64)
    queue = np.empty(n, np.int64)
    eps = eps0
    n_bids = 0
    while True:
        # one scaling phase: everybody unassigned, prices kept
        for j in range(n):
            owner[j] = -1
            queue[j] = j
        head = 0
        size = n
        while size > 0:
            i = queue[head]
            head = (head + 1) % n
            size -= 1
            _cost_row(x0[i], x1[i], x2[i], y0, y1, y2, p, buf)
            w1 = _min_of(buf, tmp)
            j1 = 0
            while buf[j1] != w1:
                j1 += 1
            buf[j1] = _BIG
            w2 = _min_of(buf, tmp) if n > 1 else w1
            # bid: raise the price of the best object until i is indifferent, plus eps
            p[j1] += (w2 - w1) + eps
            k = owner[j1]
            owner[j1] = i
            assign[i] = j1
            n_bids += 1
            if k >= 0:
                queue[(head + size) % n] = k
                size += 1
        # primal value of the bijection, float64
        value = 0.0
        for i in range(n):
            j = assign[i]
            d0 = np.float64(x0[i]) - y0[j]
            d1 = np.float64(x1[i]) - y1[j]
            d2 = np.float64(x2[i]) - y2[j]
            value += np.sqrt(d0 * d0 + d1 * d1 + d2 * d2)
        # eps-complementary slackness bounds the gap by n*eps; check the dual once that is near tol
        if eps <= eps_min or eps * n <= tol * value:
            lb = min(_dual_bound(x0, x1, x2, y0, y1, y2, p, buf, tmp), value)
            if value - lb <= tol * lb or eps <= eps_min:
                return value / n, lb / n, eps, n_bids, False
            if lb > stop_above * n:
                return np.nan, lb / n, eps, n_bids, True
        elif stop_above < np.inf:
            # branch and bound: stop once the dual bound shows the pair farther than the caller's incumbent
            lb = min(_dual_bound(x0, x1, x2, y0, y1, y2, p, buf, tmp), value)
            if lb > stop_above * n:
                return np.nan, lb / n, eps, n_bids, True
        eps = max(eps / theta, eps_min)


def _auction_params(xs: np.ndarray, ys: np.ndarray) -> tuple[float, float]:
    extent = float(max(np.ptp(xs, axis=1).max(), np.ptp(ys, axis=1).max(), 1e-30))
    return 0.05 * extent, 1e-6 * extent  # eps0, eps_min (float32 resolution floor)


@njit(parallel=True, cache=True)
def _auction_pairs(xs, ys, ia, ib, eps0, eps_min, theta, tol, stop_above):
    k_total = ia.shape[0]
    out = np.empty((k_total, 2))
    for k in prange(k_total):
        v, lb, _, _, _ = _auction(xs[ia[k]], ys[ib[k]], eps0[k], eps_min[k], theta, tol, stop_above[k])
        out[k, 0] = v
        out[k, 1] = lb
    return out


def auction_pairs(xs: np.ndarray, ys: np.ndarray, ia, ib, *, tol: float, stop_above=None) -> np.ndarray:
    """Approximate EMD of the pairs ``(xs[ia[k]], ys[ib[k]])``; ``xs`` (A, 3, N), ``ys`` (B, 3, N) float32.

    Returns (K, 2) float64: value and dual lower bound (means). ``stop_above`` (K,) mean distances: pair k
    stops as soon as its EMD is certified to exceed ``stop_above[k]`` (value NaN, the certifying lower bound
    kept); otherwise its value is bit-identical to the call without ``stop_above`` (the same phases run). The
    one solver of :func:`emd_pairwise` and of the nearest-neighbour search (:mod:`gen3d.metrics.nn_search`).
    """
    ia = np.ascontiguousarray(ia, dtype=np.int64)
    ib = np.ascontiguousarray(ib, dtype=np.int64)
    if len(ia) == 0:
        return np.zeros((0, 2))
    ext = np.maximum(np.ptp(xs, axis=2).max(1)[ia], np.ptp(ys, axis=2).max(1)[ib])
    ext = np.maximum(ext, 1e-30)
    stop = np.full(len(ia), np.inf) if stop_above is None else np.asarray(stop_above, dtype=np.float64)
    return _auction_pairs(
        xs,
        ys,
        ia,
        ib,
        (0.05 * ext).astype(np.float32),
        (1e-6 * ext).astype(np.float32),
        4.0,
        float(tol),
        stop,
    )


def _gap(value: float, lb: float) -> float:
    if value <= 0.0:
        return 0.0
    return float((value - lb) / lb) if lb > 0 else float("inf")


def emd(x, y, *, tol: float = 0.01, method: str = "auto") -> EMDResult:
    """EMD of ``x`` (N, 3) and ``y`` (N, 3).

    method: "exact", "approx" (auction, certified relative gap <= ``tol`` where float32 allows), or "auto"
    (exact up to :data:`EMD_EXACT_MAX_POINTS` points).
    """
    x, y = _check_pair(x, y)
    if method not in ("auto", "exact", "approx"):
        raise UserInputError(f"EMD method must be auto, exact or approx, got {method!r}")
    if not tol > 0:
        raise UserInputError(f"EMD tol must be > 0, got {tol}")
    if method == "exact" or (method == "auto" and len(x) <= EMD_EXACT_MAX_POINTS):
        v = emd_exact(x, y)
        return EMDResult(v, v, 0.0, True)
    xs = np.ascontiguousarray(x.T)
    ys = np.ascontiguousarray(y.T)
    eps0, eps_min = _auction_params(xs, ys)
    v, lb, _, _, _ = _auction(xs, ys, np.float32(eps0), np.float32(eps_min), 4.0, float(tol), np.inf)
    if not (np.isfinite(v) and np.isfinite(lb)):
        raise FloatingPointError("approximate EMD produced a non-finite value")
    return EMDResult(float(v), float(lb), _gap(v, lb), False)


def emd_pairwise(X, Y=None, *, tol: float = 0.01, method: str = "auto") -> tuple[np.ndarray, np.ndarray]:
    """All-pairs EMD of X (A, N, 3) and Y (B, N, 3) (X with itself when Y is None: upper triangle only).

    Returns ``(values (A, B) float64, rel_gap (A, B) float64)``; ``rel_gap`` is 0 where exact.
    """
    sym = Y is None
    Xn = as_cloud_set(X, "X")
    Yn = Xn if sym else as_cloud_set(Y, "Y")
    if Xn.shape[1] != Yn.shape[1]:
        raise UserInputError(
            f"EMD needs equal point counts, got {Xn.shape[1]} and {Yn.shape[1]}; resample both sets first"
        )
    if method not in ("auto", "exact", "approx"):
        raise UserInputError(f"EMD method must be auto, exact or approx, got {method!r}")
    if not tol > 0:
        raise UserInputError(f"EMD tol must be > 0, got {tol}")
    a, b = len(Xn), len(Yn)
    if sym:
        ia, ib = np.triu_indices(a, k=1)
    else:
        ia, ib = (g.ravel() for g in np.meshgrid(np.arange(a), np.arange(b), indexing="ij"))
    vals = np.zeros(len(ia))
    lbs = np.zeros(len(ia))
    if method == "exact" or (method == "auto" and Xn.shape[1] <= EMD_EXACT_MAX_POINTS):
        for k, (i, j) in enumerate(zip(ia, ib)):
            vals[k] = lbs[k] = emd_exact(Xn[i], Yn[j])
    elif len(ia):
        xs = np.ascontiguousarray(Xn.transpose(0, 2, 1))
        ys = xs if sym else np.ascontiguousarray(Yn.transpose(0, 2, 1))
        res = auction_pairs(xs, ys, ia, ib, tol=tol)
        vals, lbs = res[:, 0], res[:, 1]
    if not (np.isfinite(vals).all() and np.isfinite(lbs).all()):
        raise FloatingPointError("EMD produced non-finite values")
    gaps = np.array([_gap(v, lb) for v, lb in zip(vals, lbs)])
    out = np.zeros((a, b))
    gap = np.zeros((a, b))
    out[ia, ib] = vals
    gap[ia, ib] = gaps
    if sym:
        out[ib, ia] = vals
        gap[ib, ia] = gaps
    return out, gap
