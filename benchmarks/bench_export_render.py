"""Export and offscreen-render costs on this machine (one table; ratios against a baseline of the same run).

Export: marching cubes of a sphere at R = 32/64/128 (baseline R = 32); reconstruction of 2048 torus points
(Poisson depth 8 / ball pivoting / alpha; baseline ball pivoting). Render: the engine's first frame, then
steady-state galleries of 1, 4 and 16 shapes at 256 px tiles (baseline: 1 shape). Run:
    .venv/bin/python benchmarks/bench_export_render.py
"""

from __future__ import annotations

import os
import time

import numpy as np
import trimesh


def _timed(fn, repeat=3):
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    from gen3d.export import points_to_mesh, voxels_to_mesh
    from gen3d.viz.backend import offscreen_problem
    from gen3d.viz.offscreen import render_gallery_array

    alloc = (
        "set" if os.environ.get("MALLOC_MMAP_MAX_") or os.environ.get("MALLOC_TRIM_THRESHOLD_") else "not set"
    )
    print(
        f"allocator env (MALLOC_MMAP_MAX_/MALLOC_TRIM_THRESHOLD_): {alloc}; "
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}; cpus={os.cpu_count()}; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    rows = []
    base = None
    for res in (32, 64, 128):
        c = (np.arange(res) + 0.5) * 2 / res - 1
        x, y, z = np.meshgrid(c, c, c, indexing="ij")
        occ = (x**2 + y**2 + z**2 < 0.6).astype(np.float32)
        t = _timed(lambda occ=occ: voxels_to_mesh(occ))
        base = base or t
        rows.append((f"marching cubes R={res}", t, t / base))
    pts = trimesh.sample.sample_surface(trimesh.creation.torus(0.6, 0.25), 2048, seed=0)[0]
    times = {m: _timed(lambda m=m: points_to_mesh(pts, m)) for m in ("ball_pivoting", "poisson", "alpha")}
    for m, t in times.items():
        rows.append((f"{m} 2048 pts", t, t / times["ball_pivoting"]))
    problem = offscreen_problem()
    if problem:
        print(f"render: skipped ({problem})")
    else:
        t0 = time.perf_counter()
        render_gallery_array([pts], size=(256, 256))
        first = time.perf_counter() - t0
        one = _timed(lambda: render_gallery_array([pts], size=(256, 256)))
        rows.append(("render first frame (engine start)", first, first / one))
        for n in (1, 4, 16):
            t = _timed(lambda n=n: render_gallery_array([pts] * n, size=(256, 256)))
            rows.append((f"render gallery {n} x 256px", t, t / one))
    print(f"{'case':40s} {'seconds':>10s} {'ratio':>8s}")
    for name, t, r in rows:
        print(f"{name:40s} {t:10.3f} {r:8.2f}")


if __name__ == "__main__":
    main()
