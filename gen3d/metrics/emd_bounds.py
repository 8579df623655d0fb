"""Cheap lower bounds on the EMD from one-dimensional summaries of each cloud.

EMD with Euclidean cost is the Wasserstein-1 distance between the two clouds' uniform measures, and
Kantorovich-Rubinstein duality gives, for any 1-Lipschitz ``f: R^3 -> R``,

    ``W1(f#mu, f#nu) <= W1(mu, nu) = EMD(X, Y)``                                                     (1)

(a bijection moves ``x_i`` to ``y_phi(i)`` and ``|f(x_i) - f(y_phi(i))| <= |x_i - y_phi(i)|``). In one
dimension, for N values on each side, ``W1 = (1/N) sum_i |a_(i) - b_(i)|`` over the *sorted* values. Cutting
the sorted index range into ``m`` blocks ``B_k`` (the same cut on both sides) and applying the triangle
inequality in each block,

    ``(1/N) sum_i |a_(i) - b_(i)| >= sum_k (|B_k| / N) |mean_{B_k} a - mean_{B_k} b|``,               (2)

so ``m`` block means per function and cloud (a "sketch") give a bound at ``O(m)`` per pair. The functions used
are projections ``f(z) = u . z`` on fixed unit directions ``u`` (sliced Wasserstein) and distances to fixed
anchors ``f(z) = |z - a|`` (radial profiles); each is 1-Lipschitz, and the maximum over them is the bound.
A projection's first block mean difference summed over blocks also contains the centroid bound
``|mean x - mean y| <= EMD`` along ``u``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["SlicedSketch", "sliced_lower_bounds", "sliced_sketch"]


def _directions(k: int) -> np.ndarray:
    """``k`` unit vectors spread over a half-sphere (a Fibonacci lattice; ``u`` and ``-u`` give one bound)."""
    i = np.arange(k) + 0.5
    z = 1.0 - i / k  # (0, 1]: upper half-sphere
    r = np.sqrt(1.0 - z * z)
    phi = np.pi * (1.0 + 5.0**0.5) * i
    return np.stack([r * np.cos(phi), r * np.sin(phi), z], axis=1)


class SlicedSketch:
    """Block means of sorted 1-Lipschitz summaries of ``S`` clouds: ``means`` (S, F, m) float64, ``weights``
    (m,) the block shares ``|B_k| / N``; ``F`` = directions + anchors."""

    def __init__(self, means: np.ndarray, weights: np.ndarray):
        self.means = means
        self.weights = weights


def sliced_sketch(clouds: np.ndarray, n_directions: int = 12, anchors=None, blocks: int = 64) -> SlicedSketch:
    """Sketch of ``clouds`` (S, N, 3): ``n_directions`` projections and the distances to ``anchors`` (A, 3)
    (default: the origin and the 6 points at distance 0.5 on the axes), each sorted and cut into ``blocks``
    blocks of (nearly) equal size."""
    x = np.asarray(clouds, dtype=np.float64)
    s, n, _ = x.shape
    if anchors is None:
        anchors = np.concatenate([np.zeros((1, 3)), 0.5 * np.eye(3), -0.5 * np.eye(3)])
    anchors = np.asarray(anchors, dtype=np.float64).reshape(-1, 3)
    u = _directions(n_directions)
    m = max(1, min(blocks, n))
    edges = np.linspace(0, n, m + 1).round().astype(np.int64)
    counts = np.diff(edges)
    feats = [x @ u.T]  # (S, N, D)
    if len(anchors):
        feats.append(np.linalg.norm(x[:, :, None, :] - anchors[None, None], axis=-1))  # (S, N, A)
    f = np.sort(np.concatenate(feats, axis=2), axis=1)  # sorted along points
    csum = np.concatenate([np.zeros((s, 1, f.shape[2])), np.cumsum(f, axis=1)], axis=1)
    means = (csum[:, edges[1:]] - csum[:, edges[:-1]]) / counts[None, :, None]  # (S, m, F)
    return SlicedSketch(np.ascontiguousarray(means.transpose(0, 2, 1)), counts / n)


def sliced_lower_bounds(sk: SlicedSketch, ia: np.ndarray, ib: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """Lower bounds (K,) float64 on ``EMD(cloud ia[k], cloud ib[k])``: the maximum over summaries of (2)."""
    ia = np.asarray(ia, dtype=np.int64)
    ib = np.asarray(ib, dtype=np.int64)
    out = np.empty(len(ia))
    for s in range(0, len(ia), chunk):
        a = sk.means[ia[s : s + chunk]]
        b = sk.means[ib[s : s + chunk]]
        out[s : s + chunk] = (np.abs(a - b) @ sk.weights).max(axis=1)
    return out
