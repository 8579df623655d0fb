"""Protocol-scale evaluation without all pairs: Chamfer and EMD nearest neighbours by certified branch and
bound.

:class:`PrunedDistances` holds one distance (``"cd"`` or ``"emd"``) on the union of a generated set (G shapes)
and a reference set (R shapes), generated first. Lower bounds for every pair come from the shapes' grid
distance fields (:mod:`gen3d.metrics.distance_field`; Chamfer and EMD) and, for the EMD, from sorted 1-D
summaries (:mod:`gen3d.metrics.emd_bounds`). :class:`gen3d.metrics.nn_search.NNSearch` then solves only the
pairs needed to certify the queries of the protocol on the scored subsets, on their bootstrap resamples
(:func:`gen3d.metrics.bootstrap.resamples`) and on the per-category subsets. Every pair it solves is computed
by the same kernel, on the same arrays and in the same orientation as :func:`gen3d.metrics.chamfer.
chamfer_pairwise` and :func:`gen3d.metrics.emd.emd_pairwise`, so MMD, COV, 1-NNA and their intervals are
identical to the all-pairs evaluation (tests compare them). The EMD solver stops a pair early once its dual
bound shows that it cannot be the nearest neighbour (:func:`gen3d.metrics.emd.auction_pairs`).
"""

from __future__ import annotations

import time

import numpy as np

from gen3d.metrics._inputs import to_soa_padded
from gen3d.metrics.bootstrap import resamples
from gen3d.metrics.chamfer import chamfer_pairs
from gen3d.metrics.distance_field import grid_fields, nn_lower_bounds
from gen3d.metrics.emd import EMD_EXACT_MAX_POINTS, auction_pairs, emd_exact
from gen3d.metrics.emd_bounds import sliced_lower_bounds, sliced_sketch
from gen3d.metrics.nn_search import NNSearch

__all__ = ["PrunedDistances", "UnionBounds"]


def _bar(desc: str, total: int, unit: str):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, disable=None, leave=False, dynamic_ncols=True)


class UnionBounds:
    """Lower bounds on Chamfer and EMD for every pair of the union of ``gen`` (G, N, 3) and ``ref`` (R, N, 3)
    (equal point counts), computed once and shared by both metrics.

    ``grid_res``: cells per side of the distance-field grid. ``timings_s`` records the time of each part.
    """

    def __init__(self, gen: np.ndarray, ref: np.ndarray, *, grid_res: int = 16, chunk: int = 20000):
        self.g = len(gen)
        self.union = np.concatenate([gen, ref]).astype(np.float32)
        self.grid_res = grid_res
        self.chunk = chunk
        self.timings_s: dict[str, float] = {}
        self._bounds: dict[str, np.ndarray] = {}
        self._pairs = np.triu_indices(len(self.union), k=1)

    def _fields(self) -> None:
        if "cd" in self._bounds:
            return
        t = time.perf_counter()
        gf = grid_fields(self.union, self.grid_res)
        self.timings_s["distance_fields"] = time.perf_counter() - t
        t = time.perf_counter()
        ia, ib = self._pairs
        cd, em = np.empty(len(ia)), np.empty(len(ia))
        bar = _bar("bounds (distance fields)", len(ia), "pair")
        for s in range(0, len(ia), self.chunk):
            cd[s : s + self.chunk], em[s : s + self.chunk] = nn_lower_bounds(
                gf, ia[s : s + self.chunk], ib[s : s + self.chunk]
            )
            bar.update(len(ia[s : s + self.chunk]))
        bar.close()
        self._bounds["cd"], self._bounds["emd_field"] = cd, em
        self.timings_s["field_bounds"] = time.perf_counter() - t

    def lower(self, metric: str) -> np.ndarray:
        """(n, n) float64 lower bounds on ``metric`` ("cd" or "emd") for all pairs of the union."""
        self._fields()
        if metric == "cd":
            flat = self._bounds["cd"]
        else:
            if "emd" not in self._bounds:
                t = time.perf_counter()
                sk = sliced_sketch(self.union)
                sliced = sliced_lower_bounds(sk, *self._pairs)
                self._bounds["emd"] = np.maximum(self._bounds["emd_field"], sliced)
                self.timings_s["sliced_bounds"] = time.perf_counter() - t
            flat = self._bounds["emd"]
        n = len(self.union)
        m = np.zeros((n, n))
        m[self._pairs] = flat
        return m + m.T


def _split(a: np.ndarray, b: np.ndarray, g: int):
    """Pairs ``a < b`` of the union by block: gen-gen, ref-ref, gen-ref (masks)."""
    gg = b < g
    rr = a >= g
    return gg, rr, ~gg & ~rr


def _cd_solver(gen: np.ndarray, ref: np.ndarray):
    g = len(gen)
    xg, xr = to_soa_padded(gen), to_soa_padded(ref)
    ng, nr = gen.shape[1], ref.shape[1]

    def solve(a, b, stop):
        out = np.empty(len(a))
        gg, rr, gr = _split(a, b, g)
        out[gg] = chamfer_pairs(xg, ng, xg, ng, a[gg], b[gg])
        out[rr] = chamfer_pairs(xr, nr, xr, nr, a[rr] - g, b[rr] - g)
        out[gr] = chamfer_pairs(xg, ng, xr, nr, a[gr], b[gr] - g)
        return out, out.copy()

    return solve


def _emd_solver(gen: np.ndarray, ref: np.ndarray, tol: float):
    g = len(gen)
    if gen.shape[1] <= EMD_EXACT_MAX_POINTS:  # emd_pairwise's "auto": exact below this size
        u = np.concatenate([gen, ref])

        def exact(a, b, stop):
            out = np.array([emd_exact(u[i], u[j]) for i, j in zip(a, b)])
            return out, out.copy()

        return exact
    xg = np.ascontiguousarray(gen.transpose(0, 2, 1))
    xr = np.ascontiguousarray(ref.transpose(0, 2, 1))

    def solve(a, b, stop):
        out = np.empty((len(a), 2))
        gg, rr, gr = _split(a, b, g)
        out[gg] = auction_pairs(xg, xg, a[gg], b[gg], tol=tol, stop_above=stop[gg])
        out[rr] = auction_pairs(xr, xr, a[rr] - g, b[rr] - g, tol=tol, stop_above=stop[rr])
        out[gr] = auction_pairs(xg, xr, a[gr], b[gr] - g, tol=tol, stop_above=stop[gr])
        return out[:, 0], out[:, 1]

    return solve


class PrunedDistances:
    """One distance on the union of ``gen`` (G, N, 3) and ``ref`` (R, N, 3), certified query by query.

    Use :meth:`certify` for every scored subset ``(gi, ri)`` (with its bootstrap resamples), then
    :meth:`matrices` for ``(d_gg, d_rr, d_gr)``: exact where a decision needs them, lower bounds elsewhere
    (:mod:`gen3d.metrics.nn_search`), to be read only by the protocol's minima over certified queries.
    """

    def __init__(self, metric: str, gen, ref, bounds: UnionBounds, *, emd_tol: float = 0.01):
        if metric not in ("cd", "emd"):
            raise ValueError(f"metric must be cd or emd, got {metric!r}")
        self.metric = metric
        self.g, self.r = len(gen), len(ref)
        solve = _cd_solver(gen, ref) if metric == "cd" else _emd_solver(gen, ref, emd_tol)
        self._bar = None
        self.search = NNSearch(bounds.lower(metric), solve, progress=self._progress)
        self.bounds = bounds
        self._boot = {"pairs_solved": 0, "s": 0.0}  # the part of the search due to the bootstrap resamples

    def _progress(self, done: int, total: int) -> None:
        if self._bar is None:
            self._bar = _bar(f"{self.metric} nearest neighbours", total, "query")
        self._bar.total = total
        self._bar.n = done
        self._bar.set_postfix(solved=self.search.stats["pairs_solved"], refresh=False)
        self._bar.refresh()

    def _blocks(self, gu: np.ndarray, ru: np.ndarray) -> list:
        return [(gu, gu), (gu, ru), (ru, ru), (ru, gu)]

    def certify(self, gi, ri, *, n_boot: int = 0, seed: int = 0) -> None:
        """Certify the protocol's queries on generated shapes ``gi`` and reference shapes ``ri`` (indices into
        each set) and on the ``n_boot`` bootstrap resamples that :func:`gen3d.metrics.bootstrap.
        bootstrap_replicates` draws for them with ``seed``."""
        gu = np.asarray(gi, dtype=np.int64)
        ru = np.asarray(ri, dtype=np.int64) + self.g
        self.search.certify(self._blocks(gu, ru))
        if n_boot > 0:
            # one pass over the resamples collects the queries that the full sets did not certify
            t0, solved0 = time.perf_counter(), self.search.stats["pairs_solved"]
            by_group: dict[str, list] = {"gen": [], "ref": []}
            for ug, ur in resamples(len(gu), len(ru), n_boot, seed):
                g_rows, r_rows = gu[ug], ru[ur]
                by_group["gen"] += [(g_rows, g_rows), (r_rows, g_rows)]
                by_group["ref"] += [(r_rows, r_rows), (g_rows, r_rows)]
            pending = self.search.uncertified(by_group["gen"], gu)
            pending += self.search.uncertified(by_group["ref"], ru)
            self.search.certify(pending)
            self._boot["pairs_solved"] += self.search.stats["pairs_solved"] - solved0
            self._boot["s"] += time.perf_counter() - t0
        self._close_bar()

    def _close_bar(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def matrices(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(d_gg (G, G), d_rr (R, R), d_gr (G, R))`` (see the class doc)."""
        m = self.search.matrix()
        g = self.g
        return m[:g, :g], m[g:, g:], m[:g, g:]

    def max_rel_gap(self) -> float:
        """Largest certified relative error ``(value - lower) / lower`` of the solved EMD pairs (0 for CD)."""
        if self.metric == "cd":
            return 0.0
        solved = self.search.solved_mask()
        v, lo = self.search.value[solved], self.search.lower[solved]
        if not len(v):
            return 0.0
        with np.errstate(divide="ignore", invalid="ignore"):
            gap = np.where(v <= 0, 0.0, np.where(lo > 0, (v - lo) / lo, np.inf))
        return float(gap.max())

    def record(self) -> dict:
        """JSON-ready account of the search: pairs in all, solved, decided by bounds, time per stage."""
        n = self.g + self.r
        total = n * (n - 1) // 2
        st = self.search.stats
        solved = st["pairs_solved"]
        return {
            "pairs": "pruned",
            "pairs_total": total,
            "pairs_solved": solved,
            "pairs_decided_by_bounds": total - solved,
            "pairs_stopped_early": st["pairs_stopped_early"],
            "solved_share": solved / total if total else 0.0,
            "rounds": st["rounds"],
            "bootstrap_pairs_solved": self._boot["pairs_solved"],
            "grid_res": self.bounds.grid_res,
            "timings_s": {
                **self.bounds.timings_s,
                "solve": st["solve_s"],
                "search": st["search_s"],
                "bootstrap_search": self._boot["s"],
            },
        }
