"""Spread over sampling seeds: the same protocol scored on several sample files (one per seed).

The bootstrap interval of one file covers the sampling variability of the two *sets*; several files drawn
with different seeds from one model show the spread a reader would see re-running the sampler. Both are
reported.
"""

from __future__ import annotations

import numpy as np

__all__ = ["across_files"]

_STATS = ("mmd", "cov", "1nna")


def across_files(results: list[dict]) -> dict:
    """``{metric: {stat: {"mean", "std", "min", "max", "values"}}, "n_files"}`` over per-file results (each
    with ``"metrics"``, as returned by :func:`gen3d.metrics.evaluation.evaluate_point_sets`). ``std`` is the
    sample standard deviation (ddof 1; 0 for one file). Also ``"jsd"`` when every file has one."""
    out: dict = {"n_files": len(results), "metrics": {}}
    for metric in results[0]["metrics"]:
        out["metrics"][metric] = {s: _summary([r["metrics"][metric][s] for r in results]) for s in _STATS}
    if all("jsd" in r for r in results):
        out["jsd"] = _summary([r["jsd"]["jsd"] for r in results])
    return out


def _summary(values) -> dict:
    v = np.asarray(values, dtype=np.float64)
    return {
        "mean": float(v.mean()),
        "std": float(v.std(ddof=1)) if len(v) > 1 else 0.0,
        "min": float(v.min()),
        "max": float(v.max()),
        "values": v.tolist(),
    }
