"""Memorisation / novelty score of generated shapes against the training set.

For each generated shape g: ``nn(g) = min_{t in train} d(g, t)``. The yardstick is the same quantity for
held-out reference shapes h (not in the training set, so not copies by construction): ``nn(h)``.

* ``ratio(g) = nn(g) / median_h nn(h)``: ~1 for shapes as novel as real unseen shapes, << 1 for near copies.
* likely copy: ``nn(g) < quantile_q(nn(h))`` with ``q = copy_quantile`` (default 5%); a model that does not
  memorise has about ``q`` of its shapes flagged (``expected_copy_fraction``), a memorising one far more.
"""

from __future__ import annotations

import numpy as np

from gen3d.errors import UserInputError

__all__ = ["novelty_scores"]


def novelty_scores(d_gen_train, d_heldout_train, copy_quantile: float = 0.05) -> dict:
    """Scores from distance matrices ``d_gen_train`` (G, T) and ``d_heldout_train`` (H, T).

    Returns ``{"nn_gen" (G,), "ratio" (G,), "median_ratio", "typical_heldout_nn", "copy_threshold",
    "copy_fraction", "expected_copy_fraction", "copy_quantile"}`` (arrays as lists).
    """
    dg = np.asarray(d_gen_train, dtype=np.float64)
    dh = np.asarray(d_heldout_train, dtype=np.float64)
    if dg.ndim != 2 or dh.ndim != 2 or dg.size == 0 or dh.size == 0 or dg.shape[1] != dh.shape[1]:
        raise UserInputError(
            f"novelty needs (G, T) and (H, T) distance matrices, got {dg.shape} and {dh.shape}"
        )
    if not (0 < copy_quantile < 1):
        raise UserInputError(f"copy_quantile must be in (0, 1), got {copy_quantile}")
    nn_g = dg.min(axis=1)
    nn_h = dh.min(axis=1)
    typical = float(np.median(nn_h))
    if typical <= 0:
        raise UserInputError(
            "held-out shapes have zero distance to the training set (held-out set overlaps train)"
        )
    thr = float(np.quantile(nn_h, copy_quantile))
    ratio = nn_g / typical
    return {
        "nn_gen": nn_g.tolist(),
        "ratio": ratio.tolist(),
        "median_ratio": float(np.median(ratio)),
        "typical_heldout_nn": typical,
        "copy_threshold": thr,
        "copy_fraction": float((nn_g < thr).mean()),
        "expected_copy_fraction": float((nn_h < thr).mean()),
        "copy_quantile": copy_quantile,
    }
