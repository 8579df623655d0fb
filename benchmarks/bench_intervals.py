"""Do ``gen3d evaluate``'s bootstrap intervals cover the truth at their stated rate?

For each family, many independent pairs of sets (generated, reference) of one size are drawn (in three
families both sets from one distribution, in one from two). The *truth* of a statistic (MMD, COV, 1-NNA)
is its expected value at that set size, estimated from further independent pairs (for 1-NNA of sets from
one distribution it is known exactly: the chance level ``(n - 1) / (2n - 1)``). For each trial pair the
intervals of :mod:`gen3d.metrics.bootstrap` are computed from the distance matrices, and the table reports
how often they contain the truth, with a 95% Wilson interval for that binomial rate, next to the plain
percentile interval of the same resamples (which ignores that a resampled set holds about 63% distinct
shapes, and so misses for MMD).

Families:

* ``gauss3d``: every "shape" is one point of a standard 3-D Gaussian, Euclidean distance (the protocol on a
  plain distribution); also ``gauss3d-shift``, the generated set shifted by 0.5 (sets that differ).
* ``ellipsoids``: point clouds of 32 points on ellipsoids with random semi-axes in [0.5, 1], Chamfer
  distance (:func:`gen3d.metrics.chamfer_pairwise`), a small synthetic shape family.

    .venv/bin/python benchmarks/bench_intervals.py            # about a minute on 2 cores
    .venv/bin/python benchmarks/bench_intervals.py --trials 400 --resamples 500
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

LEVELS = (0.8, 0.9, 0.95)
STATS = ("mmd", "cov", "1nna")


def _wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def _gauss(shift: float):
    from scipy.spatial.distance import cdist

    def draw(rng, n):
        g = rng.standard_normal((n, 3)) + shift
        r = rng.standard_normal((n, 3))
        return cdist(g, g), cdist(r, r), cdist(g, r)

    return draw


def _ellipsoids():
    from gen3d.metrics import chamfer_pairwise

    def shapes(rng, n, m=32):
        u = rng.standard_normal((n, m, 3))
        u /= np.linalg.norm(u, axis=2, keepdims=True)
        return (u * rng.uniform(0.5, 1.0, (n, 1, 3))).astype(np.float32)

    def draw(rng, n):
        d = chamfer_pairwise(shapes(rng, 2 * n))  # one call: generated = first n, reference = last n
        return d[:n, :n], d[n:, n:], d[:n, n:]

    return draw


def run_family(
    name: str, draw, n: int, trials: int, truth_draws: int, resamples: int, seed: int, one_distribution: bool
) -> list:
    from gen3d.metrics.bootstrap import bootstrap_replicates, interval
    from gen3d.metrics.evaluation import protocol_from_matrices

    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    pop = np.array([[protocol_from_matrices(*draw(rng, n))[s] for s in STATS] for _ in range(truth_draws)])
    truth = dict(zip(STATS, pop.mean(0)))
    sd = dict(zip(STATS, pop.std(0, ddof=1)))
    if one_distribution:  # 1-NNA's expectation is known exactly: the chance level
        truth["1nna"] = (n - 1) / (2 * n - 1)
    hits = {(m, s, lv): 0 for m in ("gen3d", "percentile") for s in STATS for lv in LEVELS}
    widths = {s: [] for s in STATS}
    for t in range(trials):
        mats = draw(rng, n)
        est = protocol_from_matrices(*mats)
        reps = bootstrap_replicates(*mats, n_boot=resamples, seed=seed + 1000 + t)
        for s in STATS:
            widths[s].append(reps[s].std(ddof=1))
            for lv in LEVELS:
                for method, recentre in (("gen3d", True), ("percentile", False)):
                    lo, hi = interval(est[s], reps[s], lv, recentre=recentre)
                    hits[(method, s, lv)] += lo <= truth[s] <= hi
    dt = time.perf_counter() - t0
    rows = []
    for s in STATS:
        for method in ("gen3d", "percentile"):
            for lv in LEVELS:
                k = hits[(method, s, lv)]
                rows.append((name, n, s, method, lv, k / trials, *_wilson(k, trials)))
    print(
        f"# {name}: n = {n} vs {n}, {trials} trials, {resamples} resamples, truth from {truth_draws} pairs; "
        f"{dt:.1f} s"
    )
    print(
        "#   truth "
        + ", ".join(
            f"{s} {truth[s]:.4g} (sd {sd[s]:.3g}, bootstrap sd {np.mean(widths[s]):.3g})" for s in STATS
        )
    )
    if one_distribution:
        print(
            f"#   1-NNA truth: the chance level (n-1)/(2n-1) = {truth['1nna']:.4g}; "
            f"mean over the {truth_draws} pairs {pop[:, 2].mean():.4g}"
        )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trials", type=int, default=200)
    ap.add_argument("--resamples", type=int, default=300)
    ap.add_argument("--truth-draws", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    t0 = time.perf_counter()
    rows = []
    for name, draw, n, same in (
        ("gauss3d", _gauss(0.0), 50, True),
        ("gauss3d", _gauss(0.0), 100, True),
        ("gauss3d-shift", _gauss(0.5), 50, False),
        ("ellipsoids", _ellipsoids(), 40, True),
    ):
        rows += run_family(name, draw, n, args.trials, args.truth_draws, args.resamples, args.seed, same)
    print()
    print(
        f"{'family':<14}{'n':>4}  {'stat':<5} {'interval':<11}{'nominal':>8}{'empirical':>10}  binomial 95%"
    )
    for name, n, s, method, lv, p, lo, hi in rows:
        print(f"{name:<14}{n:>4}  {s:<5} {method:<11}{lv:>8.2f}{p:>10.3f}  [{lo:.3f}, {hi:.3f}]")
    print(f"\n# total {time.perf_counter() - t0:.0f} s; 'gen3d' is the interval gen3d evaluate reports")


if __name__ == "__main__":
    main()
