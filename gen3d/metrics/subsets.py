"""Which shapes are scored: equal-size sets for the protocol, and ``--max-shapes`` subsets.

MMD, COV and 1-NNA depend on the set sizes: 1-NNA's chance level is 50% only for equal sizes (see
:func:`gen3d.metrics.protocol.one_nna_chance`) and COV's ideal depends on ``G / R``. So, as PointFlow (which
generates as many shapes as the reference holds), the protocol is scored on two sets of one size: the larger
set is subsampled without replacement, seeded, and the choice is recorded.
"""

from __future__ import annotations

import numpy as np

from gen3d.errors import UserInputError

__all__ = ["UNEQUAL_POLICIES", "equal_size_indices", "take_shapes"]

UNEQUAL_POLICIES = ("subsample", "refuse")


def equal_size_indices(n_gen: int, n_ref: int, seed: int, policy: str = "subsample"):
    """-> ``(gen_idx (n,), ref_idx (n,), record)`` with ``n = min(n_gen, n_ref)``, indices sorted.

    ``policy="refuse"`` raises :class:`UserInputError` for unequal sizes. ``record`` (JSON) holds the policy,
    the given and scored sizes, the seed, and the kept indices of the subsampled set.
    """
    if policy not in UNEQUAL_POLICIES:
        raise UserInputError(f"unknown policy {policy!r} for unequal set sizes; choose {UNEQUAL_POLICIES}")
    n = min(n_gen, n_ref)
    record = {"policy": policy, "given": [int(n_gen), int(n_ref)], "scored": [int(n), int(n)], "seed": seed}
    gi, ri = np.arange(n_gen), np.arange(n_ref)
    if n_gen == n_ref:
        return gi, ri, {**record, "subsampled": None}
    if policy == "refuse":
        raise UserInputError(
            f"{n_gen} generated vs {n_ref} reference shapes: the protocol needs equal sizes (1-NNA's 50% "
            "holds only then); generate as many shapes as the reference holds, or pass --unequal subsample"
        )
    keep = np.sort(np.random.default_rng(seed).choice(max(n_gen, n_ref), n, replace=False))
    which = "gen" if n_gen > n_ref else "ref"
    if which == "gen":
        gi = keep
    else:
        ri = keep
    return gi, ri, {**record, "subsampled": which, "kept_indices": keep.tolist()}


def take_shapes(n: int, max_shapes: int | None, random: bool, seed: int) -> np.ndarray:
    """Indices of at most ``max_shapes`` of ``n`` shapes: the first ones, or (``random``) a seeded random
    subset in the original order. ``max_shapes=None``: all."""
    if max_shapes is None or max_shapes >= n:
        return np.arange(n)
    if not random:
        return np.arange(max_shapes)
    return np.sort(np.random.default_rng(seed).choice(n, max_shapes, replace=False))
