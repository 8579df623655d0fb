"""Speed and accuracy of gen3d.metrics on 2048-point shapes, against the baselines in the same run.

Prints three tables:

1. all-pairs Chamfer (numba kernel) vs pytorch3d ``chamfer_distance`` on CPU (per pair, and batched), with the
   largest relative deviation from a float64 reference (scipy cKDTree in float64) over all pairs;
2. approximate EMD (auction, default tol) vs exact EMD (scipy ``linear_sum_assignment``) on many pairs of
   procedural shapes (same and different categories): error distribution, certified gap and speed;
3. wall time of a full MMD/COV/1-NNA evaluation (CD and EMD) of G generated vs R reference shapes.

Run: ``.venv/bin/python benchmarks/bench_metrics.py [--cd-shapes 16] [--emd-pairs 12] [--eval-shapes 100]``.
Set the allocator variables (MALLOC_MMAP_MAX_, MALLOC_TRIM_THRESHOLD_) before the process starts to compare
allocators; the header states what was set. Timings on a shared machine vary with its load (printed).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

CATEGORIES = ["chair", "table", "airplane", "lamp", "car", "mug"]


def make_shape(category: str, n_points: int, seed: int, index: int) -> np.ndarray:
    """One procedural shape (gen3d synth), surface-sampled to (n_points, 3), bbox-normalised to [-1, 1]."""
    from gen3d.datasets.synth import build_shape
    from gen3d.geometry import sample_surface
    from gen3d.geometry.normalize import fit_normalization

    s = build_shape(category, seed, index)
    p = sample_surface(s.vertices, s.faces, n_points, np.random.default_rng([seed, index]))
    return fit_normalization("bbox", p).apply(p).astype(np.float32)


def make_shapes(count: int, n_points: int, seed: int, offset: int = 0) -> np.ndarray:
    """``count`` shapes cycling through the categories: (count, n_points, 3) float32."""
    return np.stack(
        [make_shape(CATEGORIES[k % len(CATEGORIES)], n_points, seed, offset + k) for k in range(count)]
    )


def header() -> None:
    import numba
    import torch

    alloc = {k: os.environ.get(k, "unset") for k in ("MALLOC_MMAP_MAX_", "MALLOC_TRIM_THRESHOLD_")}
    print(
        f"cpus {os.cpu_count()}, numba threads {numba.get_num_threads()}, "
        f"torch threads {torch.get_num_threads()}"
    )
    print(f"allocator env: {alloc}; load average at start: {os.getloadavg()}")


def bench_chamfer(n_shapes: int, n_points: int) -> None:
    import torch
    from pytorch3d.loss import chamfer_distance as p3d_cd
    from scipy.spatial import cKDTree

    from gen3d.metrics import chamfer_pairwise

    X = make_shapes(n_shapes, n_points, seed=0)
    Y = make_shapes(n_shapes, n_points, seed=1, offset=1000)
    t = time.perf_counter()
    chamfer_pairwise(X[:2], Y[:2])  # compile or load the numba cache
    t_warm = time.perf_counter() - t
    t = time.perf_counter()
    D = chamfer_pairwise(X, Y)
    t_ours = (time.perf_counter() - t) / D.size

    # float64 reference on every pair
    X64, Y64 = X.astype(np.float64), Y.astype(np.float64)
    trees_x = [cKDTree(x) for x in X64]
    trees_y = [cKDTree(y) for y in Y64]
    ref = np.empty_like(D)
    for a in range(len(X)):
        for b in range(len(Y)):
            ref[a, b] = (trees_y[b].query(X64[a])[0] ** 2).mean() + (trees_x[a].query(Y64[b])[0] ** 2).mean()
    rel = np.abs(D - ref) / ref

    # pytorch3d on CPU: one pair per call, and all pairs of one row batched in a call
    tx, ty = torch.from_numpy(X), torch.from_numpy(Y)
    p3d_cd(tx[:1], ty[:1])
    k = min(16, n_shapes)
    t = time.perf_counter()
    p3d_vals = [float(p3d_cd(tx[i : i + 1], ty[j : j + 1])[0]) for i, j in zip(range(k), range(k))]
    t_p3d = (time.perf_counter() - t) / k
    t = time.perf_counter()
    p3d_cd(tx[:1].expand(n_shapes, -1, -1), ty, batch_reduction=None)
    t_p3d_b = (time.perf_counter() - t) / n_shapes
    p3d_rel = max(abs(v - D[i, i]) / ref[i, i] for i, v in enumerate(p3d_vals))

    print(
        f"\n== Chamfer, {n_points} points, {D.size} pairs ({n_shapes} x {n_shapes}); "
        f"warm-up {t_warm:.2f} s =="
    )
    print(f"{'method':<36}{'ms/pair':>10}{'speed-up':>10}{'max rel err vs f64':>20}")
    print(f"{'pytorch3d chamfer_distance (1/call)':<36}{1e3 * t_p3d:>10.2f}{1.0:>10.1f}{p3d_rel:>20.2e}")
    print(
        f"{'pytorch3d chamfer_distance (batched)':<36}{1e3 * t_p3d_b:>10.2f}{t_p3d / t_p3d_b:>10.1f}{'':>20}"
    )
    print(
        f"{'gen3d chamfer_pairwise (numba)':<36}{1e3 * t_ours:>10.3f}{t_p3d / t_ours:>10.1f}"
        f"{rel.max():>20.2e}"
    )


def bench_emd(n_pairs: int, n_points: int, tol: float) -> None:
    from scipy.optimize import linear_sum_assignment
    from scipy.spatial.distance import cdist

    from gen3d.metrics import emd, emd_pairwise

    X = make_shapes(n_pairs, n_points, seed=2)
    # half the pairs same category, half different
    Y = np.stack(
        [
            make_shapes(1, n_points, seed=3, offset=2000 + k + (k % 2))[0]
            if False
            else make_shapes(k + 1 + (k % 2), n_points, seed=3, offset=2000)[k + (k % 2)]
            for k in range(n_pairs)
        ]
    )
    emd(X[0, :300], Y[0, :300], method="approx")  # compile or load the cache
    emd_pairwise(X[:1, :300], Y[:1, :300], method="approx")
    exact, t_exact, approx, gap, t_approx = [], [], [], [], []
    for x, y in zip(X, Y):
        c = cdist(x.astype(np.float64), y.astype(np.float64))
        t = time.perf_counter()
        r, k = linear_sum_assignment(c)
        t_exact.append(time.perf_counter() - t)
        exact.append(c[r, k].mean())
        t = time.perf_counter()
        res = emd(x, y, method="approx", tol=tol)
        t_approx.append(time.perf_counter() - t)
        approx.append(res.value)
        gap.append(res.rel_gap)
    exact, approx, gap = map(np.asarray, (exact, approx, gap))
    err = (approx - exact) / exact
    # throughput of the parallel all-pairs path: a small all-pairs block of the same shapes
    m = min(4, n_pairs)
    t = time.perf_counter()
    emd_pairwise(X[:m], Y[:m], method="approx", tol=tol)
    t_pw = (time.perf_counter() - t) / (m * m)
    te, ta = float(np.mean(t_exact)), float(np.mean(t_approx))
    print(
        f"\n== EMD, {n_points} points, {n_pairs} pairs (alternating same / different category), tol {tol} =="
    )
    print(f"{'method':<40}{'ms/pair':>10}{'speed-up':>10}")
    print(f"{'scipy linear_sum_assignment (exact)':<40}{1e3 * te:>10.1f}{1.0:>10.1f}")
    print(f"{'gen3d emd approx, one pair, 1 thread':<40}{1e3 * ta:>10.1f}{te / ta:>10.1f}")
    print(f"{f'gen3d emd_pairwise approx ({m}x{m}, threads)':<40}{1e3 * t_pw:>10.1f}{te / t_pw:>10.1f}")
    q = np.percentile(err, [0, 50, 95, 100])
    print(
        f"relative error (approx - exact)/exact: min {q[0]:.2e}  median {q[1]:.2e}  "
        f"p95 {q[2]:.2e}  max {q[3]:.2e}"
    )
    print(f"certified gap (value - dual)/dual:     median {np.median(gap):.2e}  max {gap.max():.2e}")
    print(
        f"approx >= exact on every pair: {bool((approx >= exact * (1 - 1e-6)).all())}; "
        f"exact EMD range {exact.min():.4f} .. {exact.max():.4f}"
    )


def bench_full(n_shapes: int, n_points: int, tol: float) -> None:
    from gen3d.metrics import evaluate_point_sets

    G = make_shapes(n_shapes, n_points, seed=4)
    R = make_shapes(n_shapes, n_points, seed=5, offset=5000)
    t = time.perf_counter()
    res = evaluate_point_sets(G, R, metrics=("cd", "emd"), emd_tol=tol, jsd=True)
    wall = time.perf_counter() - t
    print(f"\n== full evaluation: {n_shapes} generated vs {n_shapes} reference, {n_points} points ==")
    print(f"{'metric':<8}{'MMD':>12}{'COV %':>9}{'1-NNA %':>10}{'time s':>9}")
    for name, r in res["metrics"].items():
        print(
            f"{name:<8}{r['mmd']:>12.5g}{100 * r['cov']:>9.2f}{100 * r['1nna']:>10.2f}"
            f"{res['timings_s'][name]:>9.1f}"
        )
    print(
        f"JSD {res['jsd']['jsd']:.4f} bits; "
        f"EMD max certified gap {res['metrics']['emd']['emd_max_rel_gap']:.2e}; "
        f"total wall time {wall:.1f} s"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=2048)
    ap.add_argument("--cd-shapes", type=int, default=16)
    ap.add_argument("--emd-pairs", type=int, default=12)
    ap.add_argument("--eval-shapes", type=int, default=100, help="0 skips the full evaluation")
    ap.add_argument("--tol", type=float, default=0.01)
    a = ap.parse_args()
    header()
    bench_chamfer(a.cd_shapes, a.points)
    bench_emd(a.emd_pairs, a.points, a.tol)
    if a.eval_shapes:
        bench_full(a.eval_shapes, a.points, a.tol)
    print(f"\nload average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
