"""Bootstrap confidence intervals for MMD, COV and 1-NNA from already computed distance matrices.

Each replicate draws ``G`` generated and ``R`` reference shapes *with replacement* (both sets are resampled)
and recomputes the statistics from sub-blocks of ``d_gg`` (G, G), ``d_rr`` (R, R) and ``d_gr`` (G, R): no
distance is evaluated again.

**Copies.** A draw with replacement holds copies of one shape, and a copy is another copy's nearest neighbour
at distance 0. Counted as they are, copies make leave-one-out 1-NNA degenerate (every duplicated shape is
"classified correctly" by its own copy) and give COV and MMD weights that the real sets never have. So a
replicate is scored on the *distinct* shapes it drew: the leave-one-out neighbour search of a shape excludes
every copy of its own original index, and each original counts once in MMD, COV and 1-NNA. Scored this way a
replicate is a uniformly random subset of about 63% of each set (``1 - 1/e``).

**Intervals.** MMD, COV and 1-NNA depend on the set sizes (the nearest of fewer generated shapes is farther),
so the replicates are centred slightly off the estimate (MMD by more than its spread). The interval is the
percentile interval of the replicates shifted by that offset, ``estimate + quantile(reps - mean(reps))``:
the percentile interval re-centred on the point estimate. ``benchmarks/bench_intervals.py`` measures its
coverage on sets drawn from one distribution next to the plain percentile interval (which, for MMD, misses
the truth most of the time for this reason).
"""

from __future__ import annotations

import numpy as np

from gen3d.errors import UserInputError

__all__ = ["STATS", "bootstrap_intervals", "bootstrap_replicates", "interval", "resamples"]

STATS = ("mmd", "cov", "1nna")


def _stats_on(d_gg, d_rr, d_gr, ug, ur, want) -> dict:
    """MMD / COV / 1-NNA on the distinct originals ``ug`` (generated) and ``ur`` (reference), each sorted."""
    d = d_gr[np.ix_(ug, ur)]
    out = {}
    col_min = d.min(axis=0)  # nearest generated shape of each reference shape
    if "mmd" in want:
        out["mmd"] = float(col_min.mean())
    if "cov" in want:
        covered = np.zeros(len(ur), dtype=bool)
        covered[d.argmin(axis=1)] = True  # ties: the lowest reference index, as coverage()
        out["cov"] = float(covered.mean())
    if "1nna" in want:
        # leave-one-out among distinct originals: the diagonal is the shape itself (and all its copies)
        s_g = d_gg[np.ix_(ug, ug)].copy()
        np.fill_diagonal(s_g, np.inf)
        s_r = d_rr[np.ix_(ur, ur)].copy()
        np.fill_diagonal(s_r, np.inf)
        a_g = _nn_correct(s_g.min(axis=1), d.min(axis=1))
        a_r = _nn_correct(s_r.min(axis=1), col_min)
        out["1nna"] = float((a_g.sum() + a_r.sum()) / (len(ug) + len(ur)))
    return out


def _nn_correct(same, other):
    return np.where(same < other, 1.0, np.where(same == other, 0.5, 0.0))


def resamples(g: int, r: int, n_boot: int, seed: int):
    """The replicates' distinct originals: ``n_boot`` pairs ``(ug, ur)`` of sorted index arrays into the
    generated (G) and reference (R) sets, the same for the same arguments."""
    rng = np.random.default_rng(seed)
    for _ in range(n_boot):
        yield np.unique(rng.integers(0, g, g)), np.unique(rng.integers(0, r, r))


def bootstrap_replicates(d_gg, d_rr, d_gr, n_boot: int, seed: int, stats=STATS) -> dict[str, np.ndarray]:
    """``{stat: (n_boot,) float64}`` replicates of ``stats`` (subset of :data:`STATS`); see the module doc."""
    d_gg, d_rr, d_gr = (np.asarray(a, dtype=np.float64) for a in (d_gg, d_rr, d_gr))
    g, r = d_gr.shape
    if d_gg.shape != (g, g) or d_rr.shape != (r, r):
        raise UserInputError(f"bootstrap: matrix shapes disagree: {d_gg.shape}, {d_rr.shape}, {d_gr.shape}")
    if n_boot < 1:
        raise UserInputError(f"the number of bootstrap resamples must be >= 1, got {n_boot}")
    unknown = set(stats) - set(STATS)
    if unknown:
        raise UserInputError(f"unknown bootstrap statistics {sorted(unknown)}; choose from {STATS}")
    reps = {s: np.empty(n_boot) for s in stats}
    for b, (ug, ur) in enumerate(resamples(g, r, n_boot, seed)):
        for k, v in _stats_on(d_gg, d_rr, d_gr, ug, ur, stats).items():
            reps[k][b] = v
    return reps


def interval(estimate: float, reps: np.ndarray, level: float, recentre: bool = True) -> tuple[float, float]:
    """``(lo, hi)`` at ``level`` from replicates ``reps`` (B,): re-centred percentile interval (module doc);
    ``recentre=False`` gives the plain percentile interval (for comparison only)."""
    if not 0 < level < 1:
        raise UserInputError(f"the confidence level must be in (0, 1), got {level}")
    q = np.quantile(reps, [(1 - level) / 2, (1 + level) / 2])
    if recentre:
        q = q - (reps.mean() - estimate)
    return float(q[0]), float(q[1])


def bootstrap_intervals(
    d_gg, d_rr, d_gr, estimates: dict, *, n_boot: int, level: float = 0.95, seed: int = 0, stats=STATS
) -> dict:
    """Intervals for ``estimates`` (``{"mmd": .., "cov": .., "1nna": ..}``, the values on the full sets).

    Returns ``{stat: {"lo", "hi", "std"}, "level", "n_boot", "seed", "method"}`` (JSON-ready). COV and 1-NNA
    bounds (both ends) are clipped to [0, 1], MMD's to [0, inf).
    """
    reps = bootstrap_replicates(d_gg, d_rr, d_gr, n_boot, seed, stats)
    out = {}
    for s in stats:
        lo, hi = interval(estimates[s], reps[s], level)
        top = np.inf if s == "mmd" else 1.0  # COV and 1-NNA are fractions; both ends clipped to their range
        lo, hi = float(np.clip(lo, 0.0, top)), float(np.clip(hi, 0.0, top))
        out[s] = {"lo": lo, "hi": hi, "std": float(reps[s].std(ddof=1)) if n_boot > 1 else 0.0}
    out.update(
        level=level,
        n_boot=n_boot,
        seed=seed,
        method="bootstrap over both sets (distinct shapes per resample), re-centred percentile interval",
    )
    return out
