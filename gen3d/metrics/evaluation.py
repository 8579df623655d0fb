"""One call that scores a generated set against a reference set: the distance matrices, MMD/COV/1-NNA per
distance, JSD, optional novelty against a training set, with counts, normalisation, EMD error bounds and
timings recorded. Used by ``gen3d evaluate``; all values are plain Python (JSON-ready).
"""

from __future__ import annotations

import time

import numpy as np

from gen3d import __version__
from gen3d.errors import UserInputError
from gen3d.metrics.chamfer import chamfer_pairwise
from gen3d.metrics.emd import emd_pairwise
from gen3d.metrics.jsd import point_set_jsd
from gen3d.metrics.normalize import normalize_sets
from gen3d.metrics.novelty import novelty_scores
from gen3d.metrics.protocol import mmd_cov, one_nna
from gen3d.metrics.voxel import iou_distance_pairwise, voxel_jsd

__all__ = ["POINT_METRICS", "evaluate_point_sets", "evaluate_voxel_sets", "protocol_from_matrices"]

POINT_METRICS = ("cd", "emd")


def protocol_from_matrices(d_gg, d_rr, d_gr) -> dict:
    """``{"mmd", "cov", "1nna", "1nna_gen", "1nna_ref"}`` from the three distance matrices."""
    m, c = mmd_cov(d_gr)
    n = one_nna(d_gg, d_rr, d_gr)
    return {"mmd": m, "cov": c, "1nna": n["acc"], "1nna_gen": n["acc_gen"], "1nna_ref": n["acc_ref"]}


def _matrices(metric: str, gen, ref, emd_tol: float):
    if metric == "cd":
        return chamfer_pairwise(gen), chamfer_pairwise(ref), chamfer_pairwise(gen, ref), None
    d_gg, g_gg = emd_pairwise(gen, tol=emd_tol)
    d_rr, g_rr = emd_pairwise(ref, tol=emd_tol)
    d_gr, g_gr = emd_pairwise(gen, ref, tol=emd_tol)
    gap = max(float(g.max()) for g in (g_gg, g_rr, g_gr))
    return d_gg, d_rr, d_gr, gap


def evaluate_point_sets(
    gen,
    ref,
    *,
    metrics=POINT_METRICS,
    normalize: str = "none",
    emd_tol: float = 0.01,
    train=None,
    jsd: bool = True,
    keep_matrices: bool = False,
) -> dict:
    """Score ``gen`` (G, N, 3) against ``ref`` (R, N, 3).

    metrics: subset of ("cd", "emd"). normalize: see :func:`gen3d.metrics.normalize.normalize_sets` (``train``
    gets the map fitted for ``ref`` under "global", its own per-shape maps otherwise). ``train`` (T, N, 3):
    adds the novelty score (nearest training shape, CD) with ``ref`` as the held-out yardstick.
    Returns a JSON-ready dict; with ``keep_matrices`` also ``"_matrices"`` (numpy, not JSON).
    """
    unknown = set(metrics) - set(POINT_METRICS)
    if unknown or not metrics:
        raise UserInputError(f"unknown metrics {sorted(unknown)}; choose from {', '.join(POINT_METRICS)}")
    gen = np.asarray(gen, dtype=np.float32)
    ref = np.asarray(ref, dtype=np.float32)
    if len(gen) < 1 or len(ref) < 1 or len(gen) + len(ref) < 3:
        raise UserInputError(
            f"need >= 1 generated and >= 1 reference shape (3 in all), got {len(gen)}, {len(ref)}"
        )
    if "emd" in metrics and gen.shape[1] != ref.shape[1]:
        raise UserInputError(
            f"EMD needs equal point counts: generated {gen.shape[1]}, reference {ref.shape[1]}"
        )
    gen_n, ref_n, norm = normalize_sets(gen, ref, normalize)
    out = {
        "version": __version__,
        "kind": "points",
        "n_gen": len(gen),
        "n_ref": len(ref),
        "n_points": [int(gen.shape[1]), int(ref.shape[1])],
        "normalization": norm,
        "metrics": {},
        "timings_s": {},
    }
    mats = {}
    for metric in metrics:
        t = time.perf_counter()
        d_gg, d_rr, d_gr, gap = _matrices(metric, gen_n, ref_n, emd_tol)
        res = protocol_from_matrices(d_gg, d_rr, d_gr)
        if metric == "emd":
            res["emd_tol"] = emd_tol
            res["emd_max_rel_gap"] = gap  # certified bound on the relative error of every EMD value used
        out["metrics"][metric] = res
        out["timings_s"][metric] = time.perf_counter() - t
        mats[metric] = (d_gg, d_rr, d_gr)
    if jsd:
        t = time.perf_counter()
        out["jsd"] = point_set_jsd(gen_n, ref_n)
        out["timings_s"]["jsd"] = time.perf_counter() - t
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
        out["novelty"] = {"distance": "cd", "n_train": len(train), **nov}
        out["timings_s"]["novelty"] = time.perf_counter() - t
        mats["novelty"] = (d_gt, d_rt)
    if keep_matrices:
        out["_matrices"] = mats
    return out


def evaluate_voxel_sets(gen, ref, *, threshold: float = 0.5, keep_matrices: bool = False) -> dict:
    """IoU-based MMD/COV/1-NNA (distance ``1 - IoU``) and occupancy JSD for grids (S, 1, R, R, R)."""
    t = time.perf_counter()
    d_gg = iou_distance_pairwise(gen, threshold=threshold)
    d_rr = iou_distance_pairwise(ref, threshold=threshold)
    d_gr = iou_distance_pairwise(gen, ref, threshold=threshold)
    res = protocol_from_matrices(d_gg, d_rr, d_gr)
    out = {
        "version": __version__,
        "kind": "voxels",
        "n_gen": int(len(d_gg)),
        "n_ref": int(len(d_rr)),
        "threshold": threshold,
        "metrics": {"iou": res},
        "jsd": {"jsd": voxel_jsd(gen, ref, threshold), "base": 2.0},
        "timings_s": {"iou": time.perf_counter() - t},
    }
    if keep_matrices:
        out["_matrices"] = {"iou": (d_gg, d_rr, d_gr)}
    return out
