"""Protocol-scale evaluation on a CPU: ``gen3d evaluate``'s pruned nearest-neighbour search against all pairs.

PointFlow's protocol on ShapeNet chair scores 662 generated against 662 reference shapes at 2 048 points, CD
and EMD, leave-one-out over the union: 876 826 pairs per distance. This script

1. scores ``--n`` vs ``--n`` shapes at ``--points`` points with the default (pruned) evaluation: CD and EMD,
   MMD/COV/1-NNA with 1 000 bootstrap resamples (every resample certified too), JSD; it prints the time of
   each stage and, per distance, the pairs computed vs decided by bounds;
2. scores ``--check`` vs ``--check`` shapes of the same sets both ways (``pairs="pruned"`` and
   ``pairs="all"``) and reports whether every value of the results agrees, bit for bit, and the per-pair time
   of the all-pairs computation, from which the all-pairs time at full scale is estimated (not run: hours).

Shapes: by default a synthetic chair collection made on the fly (``gen3d synth`` + ``gen3d prepare``, unit
sphere): reference = the first ``--n`` shapes, "generated" = the next ``--n`` with 0.01 Gaussian jitter (a
stand-in for samples from a good model: same distribution, not the same shapes). ``--cache DIR`` uses a
prepared cache instead (its train split, then val and test, in order), e.g. real ModelNet10 point clouds:

    .venv/bin/python benchmarks/bench_eval_scale.py                       # 662 vs 662, 2048 points
    gen3d prepare modelnet ../shared/data/ModelNet10-pcd --categories sofa,bed --out /tmp/mn \\
        --points 1024 --normalize unit_sphere
    .venv/bin/python benchmarks/bench_eval_scale.py --cache /tmp/mn --n 390 --points 1024

Run it alone: on 2 cores a second busy process slows every stage several times.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def _synthetic_chairs(n_shapes: int, points: int, root: Path) -> Path:
    gen3d = str(Path(sys.executable).with_name("gen3d"))
    subprocess.run(
        [gen3d, "synth", str(root / "meshes"), "--categories", "chair", "--per-category", str(n_shapes)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    cache = root / "cache"
    cmd = [gen3d, "prepare", "shapenet", str(root / "meshes"), "--out", str(cache), "--points", str(points)]
    cmd += ["--normalize", "unit_sphere", "--no-progress"]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return cache


def _load(cache: Path, need: int, points: int) -> np.ndarray:
    from gen3d.datasets.cache import ShapeCache

    c = ShapeCache(cache)
    parts = []
    for split in ("train", "val", "test"):
        try:
            parts.append(c.load_points(split, n_points=points)[0])
        except Exception:  # a split the cache does not hold
            continue
    pts = np.concatenate(parts)
    if len(pts) < need:
        sys.exit(f"the cache holds {len(pts)} shapes, the benchmark needs {need}")
    return pts[:need]


def _sets(pts: np.ndarray, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    ref = pts[:n]
    gen = (pts[n : 2 * n] + rng.normal(0, 0.01, pts[n : 2 * n].shape)).astype(np.float32)
    return gen, ref


def _strip(res: dict) -> dict:
    res = json.loads(json.dumps(res))
    res.pop("timings_s")
    for m in res["metrics"].values():
        m.pop("search", None)
        m.pop("emd_max_rel_gap", None)
    return res


def _fmt_s(s: float) -> str:
    if s < 10:
        return f"{s:.1f} s"
    return f"{s:.0f} s" if s < 120 else (f"{s / 60:.1f} min" if s < 7200 else f"{s / 3600:.1f} h")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=662, help="shapes per set (default 662, as ShapeNet chair)")
    ap.add_argument("--points", type=int, default=2048)
    ap.add_argument("--check", type=int, default=48, help="shapes per set of the all-pairs agreement check")
    ap.add_argument("--bootstrap", type=int, default=1000)
    ap.add_argument("--metrics", default="cd,emd", help="cd, emd or cd,emd")
    ap.add_argument("--cache", type=Path, default=None, help="a prepared cache instead of synthetic chairs")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = ap.parse_args()

    from gen3d.metrics.evaluation import evaluate_point_sets

    with tempfile.TemporaryDirectory() as tmp:
        cache = args.cache or _synthetic_chairs(2 * args.n + 20, args.points, Path(tmp))
        pts = _load(cache, 2 * args.n, args.points)
    gen, ref = _sets(pts, args.n, args.seed)
    data = "synthetic chairs" if args.cache is None else str(args.cache)
    print(f"{data}: {args.n} generated vs {args.n} reference, {args.points} points, unit sphere")

    t = time.perf_counter()
    metrics = tuple(args.metrics.split(","))
    big = evaluate_point_sets(
        gen, ref, metrics=metrics, n_boot=args.bootstrap, seed=args.seed, pairs="pruned"
    )
    wall = time.perf_counter() - t

    # agreement and the all-pairs per-pair cost on a subset both ways can afford
    k = args.check
    sub = (gen[:k], ref[:k])
    timings = {}
    results = {}
    for mode in ("pruned", "all"):
        t = time.perf_counter()
        results[mode] = evaluate_point_sets(
            *sub, metrics=metrics, n_boot=args.bootstrap, seed=args.seed, pairs=mode
        )
        timings[mode] = time.perf_counter() - t
    same = _strip(results["pruned"]) == _strip(results["all"])
    n_pairs_small = (2 * k) * (2 * k - 1) // 2

    total = big["metrics"][metrics[0]]["search"]["pairs_total"]
    rows = []
    for name in metrics:
        sr = big["metrics"][name]["search"]
        per_pair = results["all"]["timings_s"][name] / n_pairs_small
        rows.append((name, sr, per_pair * total))
    print()
    print(
        f"{'':<5}{'pairs':>10}{'computed':>10}{'share':>8}{'for CIs':>9}{'bounds':>9}{'search':>9}"
        f"{'for CIs':>9}{'all pairs (est.)':>18}"
    )
    for name, sr, est in rows:
        ts = sr["timings_s"]
        bounds = sum(v for k2, v in ts.items() if k2 not in ("solve", "search", "bootstrap_search"))
        print(
            f"{name:<5}{sr['pairs_total']:>10,}{sr['pairs_solved']:>10,}{100 * sr['solved_share']:>7.2f}%"
            f"{sr['bootstrap_pairs_solved']:>9,}{_fmt_s(bounds):>9}{_fmt_s(ts['search']):>9}"
            f"{_fmt_s(ts['bootstrap_search']):>9}{_fmt_s(est):>18}"
        )
    print(
        "bounds: distance fields + pair bounds (shared by CD and EMD; EMD adds its sliced bounds); "
        "'for CIs': the part of the pairs and of the search due to certifying the bootstrap resamples"
    )
    print()
    tm = big["timings_s"]
    print(
        f"whole evaluation ({' + '.join(m.upper() for m in metrics)}, MMD/COV/1-NNA, {args.bootstrap} "
        "bootstrap resamples certified, JSD): "
        f"{_fmt_s(wall)}; scoring and intervals {_fmt_s(tm['scoring'])}"
    )
    for name in metrics:
        m = big["metrics"][name]
        ci = m.get("ci", {}).get("1nna", {})
        print(
            f"  {name}: 1-NNA {100 * m['1nna']:.1f}% [{100 * ci.get('lo', np.nan):.1f}, "
            f"{100 * ci.get('hi', np.nan):.1f}], COV {100 * m['cov']:.1f}%, MMD {m['mmd']:.5f}"
        )
    if "emd" in metrics:
        print(f"  EMD values certified within {100 * big['metrics']['emd']['emd_max_rel_gap']:.2f}% (tol 1%)")
    print(
        f"agreement on {k} vs {k} shapes (same sets, {args.bootstrap} resamples): pruned and all pairs give "
        f"{'identical' if same else 'DIFFERENT'} results; {_fmt_s(timings['pruned'])} vs "
        f"{_fmt_s(timings['all'])}"
    )
    if args.json:
        record = {"big": big, "check_identical": same, "check_timings": timings}
        args.json.write_text(json.dumps(record, indent=1))
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
