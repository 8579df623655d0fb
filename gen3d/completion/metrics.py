"""Completion metrics of PVD's protocol (Zhou, Du & Wu 2021, Sec. 5.3, following MPC, Wu et al. 2020).

For input ``i`` with true complete shape ``T_i``, partial ``P_i`` and completions ``C_ik`` (k < K):

* accuracy: ``CD(C_ik, T_i)`` and ``EMD(C_ik, T_i)`` (gen3d's kernels, :mod:`gen3d.metrics`: CD is the
  PointFlow convention, squared distances, both means summed; EMD the mean matched Euclidean distance, exact
  up to 256 points, else the certified auction with relative gap ``emd_tol``), reported as the mean over
  inputs of the best of K (``min_k``) and of the mean of K;
* fidelity: the unidirectional Hausdorff distance from the partial to each completion, ``UHD = max_{p in P_i}
  min_{c in C_ik} |p - c|`` (Euclidean), averaged over k and inputs;
* diversity: total mutual difference ``TMD_i = sum_k mean_{l != k} CD(C_ik, C_il)``, averaged over inputs
  (needs K >= 2).

EMD needs equal point counts: when the completions and the truth differ, both are subsampled (without
replacement, from ``numpy.random.default_rng(seed)``) to the smaller count, and the result says so.
"""

from __future__ import annotations

import numpy as np

__all__ = ["completion_metrics", "total_mutual_difference", "unidirectional_hausdorff"]


def unidirectional_hausdorff(partial: np.ndarray, completion: np.ndarray) -> float:
    """``max_{p in partial (M, 3)} min_{c in completion (N, 3)} |p - c|``."""
    from scipy.spatial import cKDTree

    d, _ = cKDTree(np.asarray(completion, dtype=np.float64)).query(np.asarray(partial, dtype=np.float64))
    return float(np.max(d))


def total_mutual_difference(completions: np.ndarray) -> float:
    """MPC's TMD of K completions (K, N, 3): ``sum_k mean_{l != k} CD(C_k, C_l)``; 0 when K = 1."""
    from gen3d.metrics import chamfer_pairwise

    k = len(completions)
    if k < 2:
        return 0.0
    d = chamfer_pairwise(completions)
    return float(d.sum() / (k - 1))


def _equal_counts(c: np.ndarray, t: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    n = min(c.shape[1], len(t))
    if c.shape[1] > n:
        c = np.stack([x[rng.choice(len(x), n, replace=False)] for x in c])
    if len(t) > n:
        t = t[rng.choice(len(t), n, replace=False)]
    return c, t


def _accuracy(metric: str, comps: np.ndarray, truth: np.ndarray, emd_tol: float, rng) -> np.ndarray:
    """(K,) distances of each completion (K, N, 3) to the truth (T, 3)."""
    from gen3d.metrics import chamfer_pairwise, emd_pairwise

    if metric == "cd":
        return chamfer_pairwise(comps, truth[None])[:, 0]
    c, t = _equal_counts(comps, truth, rng)
    return emd_pairwise(c, t[None], tol=emd_tol)[0][:, 0]


def _summary(per_input: np.ndarray) -> dict:
    """``per_input`` (I, K) -> best-of-K and mean-of-K, each the mean over inputs."""
    return {
        "best_of_k": float(per_input.min(axis=1).mean()),
        "mean_of_k": float(per_input.mean(axis=1).mean()),
        "per_input_best": per_input.min(axis=1).tolist(),
    }


def completion_metrics(
    completions: np.ndarray,
    partials: list[np.ndarray],
    truth: np.ndarray | None = None,
    metrics: tuple[str, ...] = ("cd", "emd"),
    emd_tol: float = 0.01,
    seed: int = 0,
) -> dict:
    """PVD's completion metrics of ``completions`` (I, K, N, 3) for ``partials`` (I arrays (M_i, 3)) and,
    when given, the complete shapes ``truth`` (I, T, 3). Without ``truth`` only fidelity and diversity."""
    from gen3d.errors import UserInputError

    comps = np.asarray(completions, dtype=np.float32)
    if comps.ndim != 4 or comps.shape[-1] != 3 or len(partials) != len(comps):
        raise UserInputError(
            f"completions must be (I, K, N, 3) with one partial per input, got {comps.shape}"
        )
    bad = [m for m in metrics if m not in ("cd", "emd")]
    if bad:
        raise UserInputError(f"unknown completion metrics {bad}; expected cd and/or emd")
    out: dict = {"n_inputs": int(comps.shape[0]), "k": int(comps.shape[1]), "n_points": int(comps.shape[2])}
    uhd = np.array([[unidirectional_hausdorff(p, c) for c in cs] for p, cs in zip(partials, comps)])
    out["fidelity_uhd"] = float(uhd.mean())
    out["diversity_tmd"] = (
        float(np.mean([total_mutual_difference(cs) for cs in comps])) if comps.shape[1] > 1 else None
    )
    if truth is None:
        return out
    t = np.asarray(truth, dtype=np.float32)
    if t.ndim != 3 or len(t) != len(comps) or t.shape[2] != 3:
        raise UserInputError(f"truth must be (I={len(comps)}, T, 3), got {t.shape}")
    rng = np.random.default_rng(seed)
    for m in metrics:
        per = np.stack([_accuracy(m, cs, ti, emd_tol, rng) for cs, ti in zip(comps, t)])
        out[m] = _summary(per)
    if "emd" in metrics and comps.shape[2] != t.shape[1]:
        out["emd_points"] = int(min(comps.shape[2], t.shape[1]))
    return out
