"""One call that scores a generated set against a reference set: the distance matrices, MMD/COV/1-NNA per
distance on equal-size sets (:mod:`gen3d.metrics.subsets`) with bootstrap intervals
(:mod:`gen3d.metrics.bootstrap`), JSD, optional novelty against a training set, optional per-category
results, with counts, normalisation, EMD error bounds and timings recorded. Used by ``gen3d evaluate``; all
values are plain Python (JSON-ready).

Distances are computed once on the whole (normalised) sets; equal-size subsets, categories and bootstrap
resamples are sub-blocks of those matrices. With ``pairs="pruned"`` (the default for point clouds) only the
pairs that the nearest-neighbour decisions need are computed (:mod:`gen3d.metrics.pruned`); every value of
MMD, COV, 1-NNA and their intervals is identical to ``pairs="all"``.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from gen3d import __version__
from gen3d.errors import UserInputError
from gen3d.metrics._inputs import as_cloud_set
from gen3d.metrics.bootstrap import bootstrap_intervals
from gen3d.metrics.chamfer import chamfer_pairwise
from gen3d.metrics.emd import emd_pairwise
from gen3d.metrics.jsd import point_set_jsd
from gen3d.metrics.normalize import normalize_sets
from gen3d.metrics.novelty import novelty_scores
from gen3d.metrics.protocol import mmd_cov, one_nna
from gen3d.metrics.pruned import PrunedDistances, UnionBounds
from gen3d.metrics.subsets import equal_size_indices
from gen3d.metrics.voxel import as_occupancy, iou_distance_pairwise, voxel_jsd

__all__ = [
    "PAIRS",
    "POINT_METRICS",
    "evaluate_point_sets",
    "evaluate_voxel_sets",
    "protocol_from_matrices",
    "score_matrices",
]

POINT_METRICS = ("cd", "emd")
PAIRS = ("pruned", "all")


def protocol_from_matrices(d_gg, d_rr, d_gr) -> dict:
    """``{"mmd", "cov", "1nna", "1nna_gen", "1nna_ref", "1nna_chance"}`` from the three distance matrices."""
    m, c = mmd_cov(d_gr)
    n = one_nna(d_gg, d_rr, d_gr)
    return {
        "mmd": m,
        "cov": c,
        "1nna": n["acc"],
        "1nna_gen": n["acc_gen"],
        "1nna_ref": n["acc_ref"],
        "1nna_chance": n["chance"],
    }


def score_matrices(d_gg, d_rr, d_gr, gi, ri, *, n_boot: int = 0, level: float = 0.95, seed: int = 0) -> dict:
    """Protocol values on the shapes ``gi`` (generated) and ``ri`` (reference) of the full matrices ``d_gg``
    (G, G), ``d_rr`` (R, R), ``d_gr`` (G, R); with ``n_boot > 0`` also ``"ci"`` (bootstrap intervals)."""
    sub = (d_gg[np.ix_(gi, gi)], d_rr[np.ix_(ri, ri)], d_gr[np.ix_(gi, ri)])
    res = protocol_from_matrices(*sub)
    if n_boot > 0:
        ci = bootstrap_intervals(*sub, res, n_boot=n_boot, level=level, seed=seed)
        res["ci"] = {s: ci[s] for s in ("mmd", "cov", "1nna")}
    return res


def _score(m, gi, ri, *, n_boot: int, level: float, seed: int) -> dict:
    """:func:`score_matrices` on ``m``: a triple of matrices, or a :class:`PrunedDistances` that first
    certifies the subsets' queries (and their bootstrap resamples') and then reads its matrices."""
    if isinstance(m, PrunedDistances):
        m.certify(gi, ri, n_boot=n_boot, seed=seed)
        return score_matrices(*m.matrices(), gi, ri, n_boot=n_boot, level=level, seed=seed)
    return score_matrices(*m, gi, ri, n_boot=n_boot, level=level, seed=seed)


def _scored(gen_idx, ref_idx, seed, unequal):
    """Equal-size subsets of the index arrays; the record's kept indices refer to the whole sets."""
    a, b, rec = equal_size_indices(len(gen_idx), len(ref_idx), seed, unequal)
    if rec.get("subsampled"):
        rec["kept_indices"] = (gen_idx if rec["subsampled"] == "gen" else ref_idx)[
            np.asarray(rec["kept_indices"])
        ].tolist()
    return gen_idx[a], ref_idx[b], rec


def _intervals_record(n_boot, level, seed):
    if n_boot <= 0:
        return None
    return {
        "level": level,
        "n_boot": n_boot,
        "seed": seed,
        "method": "bootstrap over both sets (distinct shapes per resample), re-centred percentile interval",
    }


def _score_all(
    mats: dict,
    g: int,
    r: int,
    *,
    seed: int,
    n_boot: int,
    level: float,
    unequal: str,
    jsd_fn: Callable | None,
    gen_groups=None,
    ref_groups=None,
) -> dict:
    """Pooled and per-category protocol results from ``mats`` ``{metric: (d_gg, d_rr, d_gr)}``."""
    gi, ri, rec = _scored(np.arange(g), np.arange(r), seed, unequal)
    out = {"n_scored": [len(gi), len(ri)], "equal_sizes": rec, "metrics": {}}
    for name, m in mats.items():
        out["metrics"][name] = _score(m, gi, ri, n_boot=n_boot, level=level, seed=seed)
    if jsd_fn is not None:
        out["jsd"] = jsd_fn(gi, ri)
    if gen_groups is not None:
        out["per_category"] = _per_category(
            mats,
            gen_groups,
            ref_groups,
            seed=seed,
            n_boot=n_boot,
            level=level,
            unequal=unequal,
            jsd_fn=jsd_fn,
        )
    return out


def _per_category(mats, gen_groups, ref_groups, *, seed, n_boot, level, unequal, jsd_fn) -> dict:
    """``{category: {"n_gen", "n_ref", "n_scored", "equal_sizes", "metrics", "jsd"}}``: each category of the
    generated set against the same category of the reference."""
    gen_groups = np.asarray(gen_groups)
    ref_groups = np.asarray(ref_groups)
    missing = sorted(set(gen_groups.tolist()) - set(ref_groups.tolist()))
    if missing:
        raise UserInputError(
            f"the samples hold categories {missing} that the reference set does not hold "
            f"(it holds {sorted(set(ref_groups.tolist()))}); score them against a reference that does"
        )
    out = {}
    for cat in sorted(set(gen_groups.tolist())):
        g_idx = np.flatnonzero(gen_groups == cat)
        r_idx = np.flatnonzero(ref_groups == cat)
        entry = {"n_gen": len(g_idx), "n_ref": len(r_idx)}
        if min(len(g_idx), len(r_idx)) < 2:
            out[cat] = {**entry, "skipped": "fewer than 2 shapes of this category in a set"}
            continue
        gi, ri, rec = _scored(g_idx, r_idx, seed, unequal)
        entry.update(n_scored=[len(gi), len(ri)], equal_sizes=rec, metrics={})
        for name, m in mats.items():
            entry["metrics"][name] = _score(m, gi, ri, n_boot=n_boot, level=level, seed=seed)
        if jsd_fn is not None:
            entry["jsd"] = jsd_fn(gi, ri)
        out[cat] = entry
    return out


def _matrices(metric: str, gen, ref, emd_tol: float, d_rr=None):
    if metric == "cd":
        d_rr = chamfer_pairwise(ref) if d_rr is None else d_rr
        return chamfer_pairwise(gen), d_rr, chamfer_pairwise(gen, ref), None
    d_gg, g_gg = emd_pairwise(gen, tol=emd_tol)
    if d_rr is None:
        d_rr, g_rr = emd_pairwise(ref, tol=emd_tol)
    else:
        d_rr, g_rr = d_rr
    d_gr, g_gr = emd_pairwise(gen, ref, tol=emd_tol)
    gap = max(float(g.max()) for g in (g_gg, g_rr, g_gr))
    return d_gg, (d_rr, g_rr), d_gr, gap


def _distances(metrics, gen_n, ref_n, emd_tol: float, pairs: str, ref_cache: dict | None):
    """``({metric: matrices or PrunedDistances}, {metric: EMD gap}, {metric: seconds})``. Pruned distances
    share one set of lower bounds; the search itself runs when the subsets are scored."""
    timings: dict[str, float] = {}
    mats: dict = {}
    gaps: dict = {}
    bounds = UnionBounds(gen_n, ref_n) if pairs == "pruned" else None
    for metric in metrics:
        t = time.perf_counter()
        if bounds is not None:
            mats[metric] = PrunedDistances(metric, gen_n, ref_n, bounds, emd_tol=emd_tol)
        else:
            cached = None if ref_cache is None else ref_cache.get(metric)
            d_gg, d_rr, d_gr, gap = _matrices(metric, gen_n, ref_n, emd_tol, cached)
            if ref_cache is not None:
                ref_cache[metric] = d_rr
            mats[metric] = (d_gg, d_rr[0] if metric == "emd" else d_rr, d_gr)
            gaps[metric] = gap
        timings[metric] = time.perf_counter() - t
    return mats, gaps, timings


def evaluate_point_sets(
    gen,
    ref,
    *,
    metrics=POINT_METRICS,
    normalize: str = "none",
    emd_tol: float = 0.01,
    train=None,
    jsd: bool = True,
    jsd_mode: str = "cells",
    keep_matrices: bool = False,
    n_boot: int = 0,
    level: float = 0.95,
    seed: int = 0,
    unequal: str = "subsample",
    gen_groups=None,
    ref_groups=None,
    ref_cache: dict | None = None,
    pairs: str = "pruned",
) -> dict:
    """Score ``gen`` (G, N, 3) against ``ref`` (R, N, 3).

    metrics: subset of ("cd", "emd"). normalize: see :func:`gen3d.metrics.normalize.normalize_sets` (``train``
    gets the map fitted for ``ref`` under "global", its own per-shape maps otherwise). MMD/COV/1-NNA and JSD
    are scored on equal-size sets (``unequal``: "subsample" the larger, seeded by ``seed``, or "refuse");
    ``n_boot > 0`` adds bootstrap intervals at ``level``. ``jsd_mode``: "pointflow" or "cells"
    (:mod:`gen3d.metrics.jsd`). ``train`` (T, N, 3): adds the novelty score (nearest training shape, CD) of
    every generated shape, with every reference shape as the held-out yardstick. ``gen_groups`` (G,) and
    ``ref_groups`` (R,) category names: adds ``"per_category"``. ``ref_cache``: a dict reused across calls
    with the same ``ref`` and ``normalize`` (several sample files) so reference distances are computed once
    (all pairs only). ``pairs``: "pruned" (certified nearest-neighbour search, :mod:`gen3d.metrics.pruned`;
    identical results, recorded per metric under ``"search"``) or "all" (every pair; forced for unequal point
    counts). Returns a JSON-ready dict; with ``keep_matrices`` also ``"_matrices"`` (numpy, not JSON): under
    "pruned" they hold lower bounds where no decision needed a distance.
    """
    unknown = set(metrics) - set(POINT_METRICS)
    if unknown or not metrics:
        raise UserInputError(f"unknown metrics {sorted(unknown)}; choose from {', '.join(POINT_METRICS)}")
    gen = as_cloud_set(gen, "generated set")  # shapes, finiteness: both paths get the same clear error
    ref = as_cloud_set(ref, "reference set")
    if len(gen) < 1 or len(ref) < 1 or len(gen) + len(ref) < 3:
        raise UserInputError(
            f"need >= 1 generated and >= 1 reference shape (3 in all), got {len(gen)}, {len(ref)}"
        )
    if "emd" in metrics and gen.shape[1] != ref.shape[1]:
        raise UserInputError(
            f"EMD needs equal point counts: generated {gen.shape[1]}, reference {ref.shape[1]}"
        )
    if pairs not in PAIRS:
        raise UserInputError(f"pairs must be one of {', '.join(PAIRS)}, got {pairs!r}")
    gen_n, ref_n, norm = normalize_sets(gen, ref, normalize)
    pairs_note = None
    if pairs == "pruned" and gen.shape[1] != ref.shape[1]:
        pairs, pairs_note = "all", "unequal point counts: the pruned search needs equal ones"
    out = {
        "version": __version__,
        "kind": "points",
        "n_gen": len(gen),
        "n_ref": len(ref),
        "n_points": [int(gen.shape[1]), int(ref.shape[1])],
        "normalization": norm,
    }
    mats, gaps, timings = _distances(metrics, gen_n, ref_n, emd_tol, pairs, ref_cache)
    if keep_matrices:  # the plot reads every shape's nearest neighbour, not only the scored subsets'
        for m in mats.values():
            if isinstance(m, PrunedDistances):
                m.certify(np.arange(len(gen)), np.arange(len(ref)))

    def jsd_fn(gi, ri):
        return point_set_jsd(gen_n[gi], ref_n[ri], mode=jsd_mode)

    t = time.perf_counter()
    scored = _score_all(
        mats,
        len(gen),
        len(ref),
        seed=seed,
        n_boot=n_boot,
        level=level,
        unequal=unequal,
        jsd_fn=jsd_fn if jsd else None,
        gen_groups=gen_groups,
        ref_groups=ref_groups,
    )
    timings["scoring"] = time.perf_counter() - t
    out.update(scored)
    out["intervals"] = _intervals_record(n_boot, level, seed)
    for name, m in mats.items():
        if isinstance(m, PrunedDistances):
            out["metrics"][name]["search"] = m.record()
            gaps[name] = m.max_rel_gap()
            mats[name] = m.matrices()
            # the search ran while scoring: count it with its metric
            timings[name] += m.search.stats["search_s"]
            timings["scoring"] -= m.search.stats["search_s"]
        else:
            out["metrics"][name]["search"] = {"pairs": "all", **({"why": pairs_note} if pairs_note else {})}
    if "emd" in out["metrics"]:
        out["metrics"]["emd"]["emd_tol"] = emd_tol
        # certified bound on the error of every EMD value computed (all values read by the protocol)
        out["metrics"]["emd"]["emd_max_rel_gap"] = gaps["emd"]
    if train is not None:
        t = time.perf_counter()
        train = np.asarray(train, dtype=np.float32)
        if norm["kind"] == "global":
            from gen3d.geometry.normalize import NormParams

            train_n = NormParams.from_dict(norm["params"]).apply(train)
        else:
            train_n, _, _ = normalize_sets(train, train[:1], normalize)
        d_gt = chamfer_pairwise(gen_n, train_n)
        d_rt = chamfer_pairwise(ref_n, train_n)
        nov = novelty_scores(d_gt, d_rt)
        out["novelty"] = {"distance": "cd", "n_train": len(train), "n_heldout": len(ref), **nov}
        timings["novelty"] = time.perf_counter() - t
        mats["novelty"] = (d_gt, d_rt)
    out["timings_s"] = timings
    if keep_matrices:
        out["_matrices"] = mats
    return out


def evaluate_voxel_sets(
    gen,
    ref,
    *,
    threshold: float = 0.5,
    keep_matrices: bool = False,
    n_boot: int = 0,
    level: float = 0.95,
    seed: int = 0,
    unequal: str = "subsample",
    gen_groups=None,
    ref_groups=None,
) -> dict:
    """IoU-based MMD/COV/1-NNA (distance ``1 - IoU``) and occupancy JSD for grids (S, 1, R, R, R), on
    equal-size sets with optional intervals and per-category results as :func:`evaluate_point_sets`."""
    gen, ref = (a.detach().cpu().numpy() if hasattr(a, "detach") else np.asarray(a) for a in (gen, ref))
    t = time.perf_counter()
    d_gg = iou_distance_pairwise(gen, threshold=threshold)
    d_rr = iou_distance_pairwise(ref, threshold=threshold)
    d_gr = iou_distance_pairwise(gen, ref, threshold=threshold)
    t_iou = time.perf_counter() - t

    def jsd_fn(gi, ri):
        return {"jsd": voxel_jsd(gen[gi], ref[ri], threshold), "base": 2.0, "mode": "voxel occupancy"}

    mats = {"iou": (d_gg, d_rr, d_gr)}
    out = {
        "version": __version__,
        "kind": "voxels",
        "n_gen": int(len(d_gg)),
        "n_ref": int(len(d_rr)),
        "threshold": threshold,
    }
    t = time.perf_counter()
    out.update(
        _score_all(
            mats,
            len(d_gg),
            len(d_rr),
            seed=seed,
            n_boot=n_boot,
            level=level,
            unequal=unequal,
            jsd_fn=jsd_fn,
            gen_groups=gen_groups,
            ref_groups=ref_groups,
        )
    )
    out["intervals"] = _intervals_record(n_boot, level, seed)
    out["pieces"] = {"gen": _pieces(gen, threshold), "ref": _pieces(ref, threshold)}
    out["timings_s"] = {"iou": t_iou, "scoring": time.perf_counter() - t}
    if keep_matrices:
        out["_matrices"] = mats
    return out


def _pieces(grids: np.ndarray, threshold: float) -> dict:
    """Face-connected pieces of every grid of a set: the share in one piece and the mean count."""
    from gen3d.geometry.components import count_components

    n = count_components(as_occupancy(grids, threshold))
    return {"one_piece": float(np.mean(n == 1)), "mean": float(n.mean()), "max": int(n.max())}
