"""Geometry throughput: surface sampling and voxelisation against baselines measured in the same run.

Usage: ``python benchmarks/bench_geometry.py [--repeats 3] [--synth-count 60]``

Prints one table: per case the median wall time of gen3d's implementation, of the baseline, and their ratio
(baseline / gen3d, > 1 means gen3d is faster). Baselines: trimesh's ``sample_surface`` for sampling,
trimesh's subdivision voxeliser (``trimesh.voxel.creation.voxelize_subdivide``, which marks the cells of
subdivided vertices: an approximation) and gen3d's own vectorised numpy reference for the exact surface
voxelisation, and the same numpy reference + fill for solids. Then the preprocessing rate of a synthetic
collection (load + 2048 points + 32^3 solid voxels per mesh, one process). Numba compilation is excluded
(warm-up call first).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

import numpy as np


def _timed(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def _cases():
    import trimesh

    rng = np.random.default_rng(0)
    ico = trimesh.creation.icosphere(subdivisions=6, radius=0.8)  # 81920 faces
    a = rng.uniform(-1, 1, (2000, 3))
    slivers = np.concatenate([a, -a + rng.normal(0, 0.02, a.shape), a + rng.normal(0, 0.02, a.shape)])
    sl_faces = np.arange(6000).reshape(3, 2000).T
    from gen3d.datasets.synth import build_shape

    chair = build_shape("chair", 0, 0)
    return [
        ("icosphere 82k faces", np.asarray(ico.vertices), np.asarray(ico.faces)),
        ("2000 slivers across grid", slivers, sl_faces),
        ("synth chair (bbox [-1,1])", chair.vertices * 2, chair.faces),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--synth-count", type=int, default=60, help="meshes in the preprocessing-rate row")
    args = parser.parse_args()

    import trimesh

    from gen3d.geometry import fill_enclosed, load_mesh, sample_surface, voxelize_solid, voxelize_surface
    from gen3d.geometry.tri_box import mark_surface_numpy

    alloc = {k: os.environ.get(k) for k in ("MALLOC_MMAP_MAX_", "MALLOC_TRIM_THRESHOLD_")}
    print(f"allocator env: {alloc} (None = glibc default)")
    print(
        f"threads: OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}, the numba kernel is single-threaded; "
        f"cpus={os.cpu_count()}, load average at start {os.getloadavg()[0]:.1f}"
    )
    voxelize_surface(np.eye(3), np.array([[0, 1, 2]]), 4)  # compile / load the kernel

    rows = []
    for name, v, f in _cases():
        mesh = trimesh.Trimesh(v, f, process=False)
        ours = _timed(lambda v=v, f=f: sample_surface(v, f, 15000, np.random.default_rng(0)), args.repeats)
        base = _timed(lambda m=mesh: trimesh.sample.sample_surface(m, 15000, seed=0), args.repeats)
        rows.append((name, "sample 15000 pts", "trimesh.sample_surface", ours, base))
        for r in (32, 64):
            s = 2.0 / r
            ours = _timed(lambda v=v, f=f, r=r: voxelize_surface(v, f, r), args.repeats)
            tri = (v[f] + 1.0) / s
            ref = _timed(lambda tri=tri, r=r: mark_surface_numpy(tri, r), max(1, args.repeats // 2))
            rows.append((name, f"surface {r}^3", "gen3d numpy reference", ours, ref))
            if not (name.startswith("2000 slivers") and r == 64):  # about 100 s for trimesh: skipped
                sub = _timed(
                    lambda m=mesh, s=s: trimesh.voxel.creation.voxelize_subdivide(m, pitch=s, max_iter=30),
                    max(1, args.repeats // 2),
                )
                rows.append((name, f"surface {r}^3", "trimesh voxelize_subdivide", ours, sub))
            ours = _timed(lambda v=v, f=f, r=r: voxelize_solid(v, f, r), args.repeats)
            half = max(1, args.repeats // 2)
            ref = _timed(lambda tri=tri, r=r: fill_enclosed(mark_surface_numpy(tri, r)), half)
            rows.append((name, f"solid {r}^3", "numpy reference + fill", ours, ref))

    print(f"\n{'mesh':28s} {'task':17s} {'baseline':28s} {'gen3d s':>9s} {'base s':>9s} {'ratio':>7s}")
    for name, task, base_name, ours, base in rows:
        print(f"{name:28s} {task:17s} {base_name:28s} {ours:9.4f} {base:9.4f} {base / ours:7.1f}")

    # preprocessing rate on a synthetic collection, as the cache does it (one process)
    from gen3d.datasets.synth import write_collection
    from gen3d.geometry import fit_normalization

    with tempfile.TemporaryDirectory() as tmp:
        per = max(1, args.synth_count // 6)
        write_collection(tmp, per_category=per, seed=0)
        from pathlib import Path

        paths = sorted(Path(tmp).glob("*/*/models/model_normalized.obj"))
        t = time.perf_counter()
        for p in paths:
            v, f = load_mesh(p)
            v = fit_normalization("bbox", v).apply(v)
            sample_surface(v, f, 2048, np.random.default_rng(0))
            voxelize_solid(v, f, 32)
        dt = time.perf_counter() - t
    print(
        f"\nsynthetic collection: {len(paths)} meshes, load + bbox-normalise + 2048 points + 32^3 solid: "
        f"{dt:.2f} s = {len(paths) / dt:.0f} meshes/s (one process)"
    )


if __name__ == "__main__":
    main()
