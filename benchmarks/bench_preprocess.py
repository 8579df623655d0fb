"""Preprocessing throughput: meshes/s for sampling 2048 points + voxelising 32^3 (surface and solid), with 1
and 2 worker processes, on the synthetic collection (generated into a temporary folder).

Run: ``.venv/bin/python benchmarks/bench_preprocess.py [--per-category 10] [--points 2048] [--res 32]``.
The 1-worker run is in-process, after one warm-up mesh load (imports). The 2-worker time includes starting the
spawned worker processes and their imports (what a user of ``gen3d prepare`` pays), so it only wins on
collections large enough to amortise that start-up.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path


def _cpu_seconds() -> float:
    """User + system CPU time of this process and of its reaped children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--per-category", type=int, default=40)
    ap.add_argument("--points", type=int, default=2048)
    ap.add_argument("--res", type=int, default=32)
    ap.add_argument("--workers", default="1,2")
    args = ap.parse_args()

    from gen3d.datasets.prepare import prepare
    from gen3d.datasets.synth import write_collection

    keys = ("MALLOC_MMAP_MAX_", "MALLOC_TRIM_THRESHOLD_", "OMP_NUM_THREADS")
    env = {k: os.environ.get(k, "unset") for k in keys}
    print(f"allocator/threads env: {env}; cpu_count={os.cpu_count()}")
    print(f"load average before the run (other processes share the cores): {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "synth"
        t = time.perf_counter()
        counts = write_collection(root, per_category=args.per_category, seed=0)
        n = sum(counts.values())
        print(
            f"synthetic collection: {n} meshes ({len(counts)} categories), generated in "
            f"{time.perf_counter() - t:.1f} s"
        )
        from gen3d.datasets import open_dataset
        from gen3d.geometry import load_mesh

        t = time.perf_counter()
        load_mesh(open_dataset("shapenet", root)[0].path)  # warm-up: imports trimesh once
        print(f"warm-up (imports + first mesh): {time.perf_counter() - t:.2f} s")
        rows = []
        for w in [int(x) for x in args.workers.split(",")]:
            out = Path(tmp) / f"cache_w{w}"
            cpu0 = _cpu_seconds()
            t = time.perf_counter()
            res = prepare(
                "shapenet", root, out, n_points=args.points, voxels=(args.res,), workers=w, progress=False
            )
            dt = time.perf_counter() - t
            cpu = _cpu_seconds() - cpu0
            assert res.processed == n and res.skipped == 0, res
            t = time.perf_counter()
            again = prepare(
                "shapenet", root, out, n_points=args.points, voxels=(args.res,), workers=w, progress=False
            )
            dt_rerun = time.perf_counter() - t
            assert again.up_to_date
            rows.append((w, dt, n / dt, dt_rerun, cpu))
            print(f"workers={w}: {dt:.2f} s; load average now {os.getloadavg()}")
        base = rows[0][2]
        print(f"\n{args.points} points + {args.res}^3 surface & solid grids per mesh")
        cols = ("workers", "time s", "meshes/s", "vs 1st", "CPU s", "re-run s (no work)")
        head = " | ".join(f"{c:>{w}}" for c, w in zip(cols, (7, 7, 8, 6, 6, 17)))
        print(head)
        for w, dt, rate, rr, cpu in rows:
            print(f"{w:>7} | {dt:7.2f} | {rate:8.2f} | {rate / base:5.2f}x | {cpu:6.2f} | {rr:17.3f}")
        print(
            "CPU s: user+system time of this process and its finished worker processes during the run; with a"
        )
        print("busy machine (load average above the core count) wall-clock ratios say little about scaling.")


if __name__ == "__main__":
    main()
