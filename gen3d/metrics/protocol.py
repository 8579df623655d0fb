"""The PointFlow evaluation protocol on precomputed distance matrices: MMD, COV and 1-NNA.

Notation: ``Sg`` generated set (G shapes), ``Sr`` reference set (R shapes), ``d`` any shape distance
(Chamfer, EMD, 1 - IoU).

* ``MMD = mean_{Y in Sr} min_{X in Sg} d(X, Y)``
* ``COV = |{argmin_{Y in Sr} d(X, Y) : X in Sg}| / |Sr|`` (ties: the lowest reference index)
* ``1-NNA``: leave-one-out 1-nearest-neighbour accuracy of the classifier "generated vs reference" on
  ``Sg u Sr``; 100% means the sets are perfectly separable, and a set scored against a copy of itself gives
  0% (every shape's nearest neighbour is its copy). Ties between the nearest same-set and the nearest
  other-set distance count as half correct, the expected accuracy under random tie-breaking.
  **Chance level** (both sets drawn from one distribution): a shape's leave-one-out neighbour is any of the
  other ``G + R - 1`` shapes with equal probability, so the expected accuracy is
  ``(G (G - 1) + R (R - 1)) / ((G + R) (G + R - 1))``: ``(n - 1) / (2n - 1)`` for ``G = R = n`` (49.7% for
  100 vs 100, 46.7% for 8 vs 8), and above 50% for unequal sizes (1-NNA of 100 vs 400 shapes is 68% at
  chance). "50% is ideal" holds for large, equal sets only; :func:`one_nna` returns the chance level.
"""

from __future__ import annotations

import numpy as np

from gen3d.errors import UserInputError

__all__ = ["coverage", "mmd", "mmd_cov", "one_nna", "one_nna_chance"]


def _check_matrix(d, name: str) -> np.ndarray:
    d = np.asarray(d, dtype=np.float64)
    if d.ndim != 2 or d.shape[0] == 0 or d.shape[1] == 0:
        raise UserInputError(f"{name} must be a non-empty 2-D distance matrix, got shape {d.shape}")
    if not np.isfinite(d).all():
        raise UserInputError(f"{name} holds NaN/inf distances")
    return d


def mmd(d_gr) -> float:
    """Minimum matching distance from ``d_gr`` (G, R): mean over references of the nearest generated shape."""
    d = _check_matrix(d_gr, "d_gr")
    return float(d.min(axis=0).mean())


def coverage(d_gr) -> float:
    """Coverage in [0, 1] from ``d_gr`` (G, R): fraction of references that are some generated shape's NN."""
    d = _check_matrix(d_gr, "d_gr")
    return float(len(np.unique(d.argmin(axis=1))) / d.shape[1])


def mmd_cov(d_gr) -> tuple[float, float]:
    """``(mmd(d_gr), coverage(d_gr))``."""
    return mmd(d_gr), coverage(d_gr)


def one_nna_chance(g: int, r: int) -> float:
    """Expected 1-NNA of ``g`` vs ``r`` shapes drawn from one distribution (module docstring)."""
    if g < 1 or r < 1 or g + r < 3:
        raise UserInputError(f"1-NNA needs at least one shape in each set and three in all, got {g}, {r}")
    return (g * (g - 1) + r * (r - 1)) / ((g + r) * (g + r - 1))


def one_nna(d_gg, d_rr, d_gr) -> dict:
    """Leave-one-out 1-NN accuracy on Sg u Sr from ``d_gg`` (G, G), ``d_rr`` (R, R), ``d_gr`` (G, R).

    Returns ``{"acc", "acc_gen", "acc_ref", "chance"}`` in [0, 1]: overall and per-set accuracy, and the
    expected accuracy for two sets of these sizes from one distribution (:func:`one_nna_chance`).
    """
    d_gg = _check_matrix(d_gg, "d_gg")
    d_rr = _check_matrix(d_rr, "d_rr")
    d_gr = _check_matrix(d_gr, "d_gr")
    g, r = d_gr.shape
    if d_gg.shape != (g, g) or d_rr.shape != (r, r):
        raise UserInputError(
            f"1-NNA matrix shapes disagree: d_gg {d_gg.shape}, d_rr {d_rr.shape}, d_gr {d_gr.shape}"
        )
    if g + r < 3 or min(g, r) < 1:
        raise UserInputError("1-NNA needs at least one shape in each set and three in all")

    def acc(same, other):
        same = same.copy()
        np.fill_diagonal(same, np.inf)  # leave one out
        s = same.min(axis=1)
        o = other.min(axis=1)
        return np.where(s < o, 1.0, np.where(s == o, 0.5, 0.0))

    a_g = acc(d_gg, d_gr)
    a_r = acc(d_rr, d_gr.T)
    return {
        "acc": float((a_g.sum() + a_r.sum()) / (g + r)),
        "acc_gen": float(a_g.mean()),
        "acc_ref": float(a_r.mean()),
        "chance": one_nna_chance(g, r),
    }
