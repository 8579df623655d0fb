"""Certified nearest-neighbour search by branch and bound: the protocol's decisions without all pairs.

MMD, COV and 1-NNA (:mod:`gen3d.metrics.protocol`) read a distance matrix only through *row minima and their
argmins over a set of columns*: the nearest generated shape of each reference (MMD), the nearest reference of
each generated shape (COV), the nearest same-set and other-set shape of every shape, itself left out (1-NNA).
Call such a request a **query** ``(row i, column set C)``. Given a lower bound ``lb(i, j) <= d(i, j)`` for
every pair (cheap: :mod:`gen3d.metrics.distance_field`, :mod:`gen3d.metrics.emd_bounds`), a query is
**certified** once

    ``min_{j in C solved} d(i, j)  <  (1 - safety) lb(i, j)``   for every unsolved ``j in C``.       (1)

Then the query's minimum and argmin are those of the full matrix: every unsolved entry is larger than the
incumbent. The search (per query, all queries at once in rounds): take the unsolved column of smallest lower
bound; while it violates (1), solve it (the solver may stop early once a pair is certified farther than
the incumbent, which improves its lower bound instead) and update the incumbent. Pairs are solved in one
batch per round, so a parallel solver stays busy.

The matrix handed to the protocol code holds the solved distances and, elsewhere, the lower bounds. Under (1)
every minimum and argmin over a certified query equals the all-pairs one exactly, ties included (a tie with
an unsolved entry violates (1), so tied entries are solved), because the solver returns for a pair exactly
the value the all-pairs computation stores. Anything else read from an unsolved entry would be a bound, not a
distance, so only minima over certified queries may be read from it. ``safety`` (1e-6) absorbs the float32
rounding of the solvers' distances, which can fall that far below the exact value the bounds refer to.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np

__all__ = ["NNSearch"]

Solver = Callable[[np.ndarray, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


class NNSearch:
    """Branch-and-bound state over ``n`` shapes with a symmetric distance.

    Args:
        lower: (n, n) float64 lower bounds on the distances (symmetric; the diagonal is not read).
        solve: ``solve(ia, ib, stop_above) -> (values, lower)`` for the pairs ``ia[k] < ib[k]``: the distance
            (NaN where the solver stopped early because it certified ``d > stop_above[k]``) and a lower bound
            on it (the value itself where solved).
        safety: relative margin of (1) (module doc).
        progress: ``progress(certified, total)`` called after every round of :meth:`certify` with the number
            of certified queries of that call (a progress bar), or None.
    """

    def __init__(self, lower: np.ndarray, solve: Solver, *, safety: float = 1e-6, progress=None):
        n = lower.shape[0]
        if lower.shape != (n, n):
            raise ValueError(f"lower bounds must be square, got {lower.shape}")
        self.lower = np.array(lower, dtype=np.float64)
        self.value = np.full((n, n), np.nan)
        self.solve_fn = solve
        self.safety = float(safety)
        self.progress = progress
        self.stats = {"pairs_solved": 0, "pairs_stopped_early": 0, "rounds": 0}
        self.stats.update(solve_s=0.0, search_s=0.0)

    @property
    def n(self) -> int:
        return self.lower.shape[0]

    def matrix(self) -> np.ndarray:
        """(n, n): solved distances, lower bounds elsewhere, 0 on the diagonal (see the module doc)."""
        m = np.where(np.isnan(self.value), self.lower, self.value)
        np.fill_diagonal(m, 0.0)
        return m

    def solved_mask(self) -> np.ndarray:
        """(n, n) bool: pairs whose distance was computed."""
        return ~np.isnan(self.value)

    def _next(self, rows: np.ndarray, cols: np.ndarray):
        """The uncertified queries among ``(r, cols)``, r in ``rows``: (rows, next column, incumbent)."""
        v = self.value[np.ix_(rows, cols)]
        lo = self.lower[np.ix_(rows, cols)]
        own = rows[:, None] == cols[None, :]
        unsolved = np.isnan(v) & ~own
        best = np.where(unsolved | own, np.inf, v).min(axis=1)
        lu = np.where(unsolved, lo, np.inf)
        k = lu.argmin(axis=1)
        lk = lu[np.arange(len(rows)), k]
        bad = np.isfinite(lk) & ((1.0 - self.safety) * lk <= best)
        return rows[bad], cols[k[bad]], best[bad]

    def uncertified(self, blocks, group: np.ndarray) -> list:
        """The uncertified queries of many blocks ``[(rows, cols)]`` whose columns all lie in ``group`` (an
        index array), as blocks ``(rows, cols)`` to :meth:`certify`; for the bootstrap's many resamples.

        A fast screen first: a query is certified if its best solved entry is below the smallest unsolved
        lower bound of its row over the whole group (a sufficient condition for (1)); only the rest are
        checked entry by entry. Each row's solved entries are kept sorted, so the screen reads a few
        columns per row instead of the block."""
        n = self.n
        group = np.asarray(group, dtype=np.int64)
        v = self.value[:, group]
        me = group[None, :] == np.arange(n)[:, None]
        solved = ~np.isnan(v) & ~me
        width = max(int(solved.sum(axis=1).max()), 1)
        order = np.argsort(np.where(solved, v, np.inf), axis=1, kind="stable")[:, :width]
        rows_all = np.arange(n)[:, None]
        top_cols = group[order]  # (n, width) global column ids, nearest solved first
        top_vals = np.where(solved[rows_all, order], v[rows_all, order], np.inf)
        unsolved_lo = np.where(np.isnan(v) & ~me, self.lower[:, group], np.inf).min(axis=1)
        floor = (1.0 - self.safety) * unsolved_lo
        pending = []
        mask = np.zeros(n, dtype=bool)
        for rows, cols in blocks:
            rows = np.asarray(rows, dtype=np.int64)
            mask[cols] = True
            best = np.where(mask[top_cols[rows]], top_vals[rows], np.inf).min(axis=1)
            mask[cols] = False
            rest = rows[~(best < floor[rows])]
            if len(rest):
                bad = self._next(rest, np.asarray(cols, dtype=np.int64))[0]
                if len(bad):
                    pending.append((bad, cols))
        return pending

    def certify(self, queries: Sequence[tuple[np.ndarray, np.ndarray]]) -> None:
        """Certify every query of the blocks ``queries``: ``(rows, cols)`` means "nearest of each row among
        ``cols``, the row itself excluded". Blocks may overlap; solved pairs serve every block."""
        blocks = [(np.asarray(r, dtype=np.int64), np.asarray(c, dtype=np.int64)) for r, c in queries]
        t0 = time.perf_counter()
        total = sum(len(r) for r, c in blocks if len(c))
        while True:
            live = [(r, c) for r, c in blocks if len(r) and len(c)]
            found = [self._next(r, c) for r, c in live]
            # a certified query stays certified (incumbents only fall, bounds only rise): keep the others
            blocks = [(f[0], c) for f, (_, c) in zip(found, live) if len(f[0])]
            ri = np.concatenate([f[0] for f in found]) if found else np.zeros(0, np.int64)
            if self.progress is not None:
                self.progress(total - len(ri), total)
            if len(ri) == 0:
                break
            ci = np.concatenate([f[1] for f in found])
            inc = np.concatenate([f[2] for f in found])
            a, b = np.minimum(ri, ci), np.maximum(ri, ci)
            key = a * self.n + b
            # one solve per pair; it may stop early only above the largest incumbent that asked for it
            order = np.lexsort((-inc, key))
            key, inc = key[order], inc[order]
            first = np.r_[True, key[1:] != key[:-1]]
            # stopping above inc / (1 - safety) leaves a stopped pair certified by (1), never asked again
            a, b, stop = key[first] // self.n, key[first] % self.n, inc[first] / (1.0 - self.safety)
            ts = time.perf_counter()
            vals, lows = self.solve_fn(a, b, stop)
            self.stats["solve_s"] += time.perf_counter() - ts
            done = ~np.isnan(vals)
            finite = np.isfinite(lows).all() and np.isfinite(vals[done]).all()
            if not (finite and (lows[~done] > stop[~done]).all()):
                # a stop must certify d > stop, or the pair would be asked again forever
                raise FloatingPointError("distance solver: a non-finite value or an unproven early stop")
            self.value[a[done], b[done]] = self.value[b[done], a[done]] = vals[done]
            new_lo = np.maximum(self.lower[a, b], lows)
            self.lower[a, b] = self.lower[b, a] = new_lo
            self.stats["pairs_solved"] += int(done.sum())
            self.stats["pairs_stopped_early"] += int((~done).sum())
            self.stats["rounds"] += 1
        self.stats["search_s"] += time.perf_counter() - t0
