"""Generation quality on the synthetic collection, next to two reference rows scored the same way.

Scores the shapes a demo run generated (``gen3d demo --out DIR`` writes ``DIR/samples/all.npz``, one sample
per held-out shape of each category) against the held-out split of the demo's cache with the settings of
``gen3d evaluate --protocol shapegf_bbox`` except the point count (every generated and reference shape scaled
to its own bounding box [-1,1]^3; MMD / COV / 1-NNA with Chamfer distance, optionally EMD, on equal-size
sets; 95% bootstrap intervals over both sets; the demo's own point count, not the preset's 2048), printed
in the papers' units (MMD-CD x10^3, MMD-EMD x10^2, %), and prints two reference rows computed identically:

* **Gaussian blobs**: isotropic Gaussian point clouds with the reference set's mean and spread; a useless
  generator, 1-NNA should be near 100%.
* **training copies**: as many training shapes as there are held-out shapes, drawn at random; a generator that
  memorised its data. Its 1-NNA is the floor a model of this collection can reach by copying.

    .venv/bin/gen3d demo --out runs/demo                       # trains, samples (states its budget)
    .venv/bin/python benchmarks/bench_quality.py runs/demo     # this table

The training budget (steps, batch, points, backbone) is read from the run's checkpoint; the demo prints the
wall time of each of its steps.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np


def _budget(run_dir: Path) -> str:
    """Steps (from the checkpoint), batch, points, backbone and process of the training config."""
    from gen3d.training.checkpoint import read_checkpoint

    ckpt = next(run_dir.glob("runs/*/checkpoints/last.ckpt"), None)
    if ckpt is None:
        return "no checkpoint found"
    state = read_checkpoint(ckpt)
    cfg = state["gen3d"]["config"]
    steps = state.get("global_step")
    net, data = cfg.get("net", {}), cfg.get("data", {})
    return (
        f"{steps} steps, batch {data.get('batch_size')}, {data.get('n_points')} points, "
        f"{net.get('name')} {net.get('size')}, {cfg.get('process', {}).get('name')}"
    )


def _cell(r: dict, stat: str, factor: float, width: int, fmt: str) -> str:
    """``value [lo, hi]`` right-aligned in ``width`` (just the value without intervals)."""
    text = f"{factor * r[stat]:{fmt}}"
    if "ci" in r:
        ci = r["ci"][stat]
        text += f" [{factor * ci['lo']:{fmt}}, {factor * ci['hi']:{fmt}}]"
    return f"{text:>{width}}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("demo_dir", help="output folder of `gen3d demo`")
    ap.add_argument("--metrics", default="cd", help="cd or cd,emd (EMD is slower)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples (0: no intervals)")
    args = ap.parse_args()

    from gen3d.atomic import atomic_write_text
    from gen3d.datasets.cache import ShapeCache
    from gen3d.metrics.evaluation import evaluate_point_sets
    from gen3d.metrics.presets import UNITS
    from gen3d.sample_file import load_samples

    demo = Path(args.demo_dir)
    samples = load_samples(demo / "samples" / "all.npz")
    if samples.points is None:
        raise SystemExit("bench_quality scores point-cloud demos (samples/all.npz holds no points)")
    gen = samples.points
    n = gen.shape[1]
    cache = ShapeCache(demo / "data" / "cache")
    split = "val" if "val" in cache.splits else "test"
    ref, _, _ = cache.load_points(split, n_points=n)
    train, _, _ = cache.load_points("train", n_points=n)
    rng = np.random.default_rng(args.seed)
    mean = ref.reshape(-1, 3).mean(0)
    std = ref.reshape(-1, 3).std(0)
    blobs = (rng.standard_normal((len(ref), n, 3)) * std + mean).astype(np.float32)
    copies = train[rng.choice(len(train), size=len(ref), replace=False)]

    metrics = tuple(args.metrics.split(","))
    print(
        f"# generation quality on the synthetic collection: {len(gen)} generated vs {len(ref)} held-out "
        f"('{split}') shapes, {n} points each, every shape scaled to its bounding box [-1,1]^3 "
        f"(protocol shapegf_bbox but {n} points); [95% bootstrap interval, {args.resamples} resamples]"
    )
    print(f"# training budget: {_budget(demo)}")
    print(
        f"# threads {os.environ.get('OMP_NUM_THREADS', 'default')}, "
        f"MALLOC_MMAP_MAX_={os.environ.get('MALLOC_MMAP_MAX_', 'unset')}"
    )
    header = (
        f"{'set':<20}"
        + "".join(
            f"{'1-NNA-' + m.upper() + ' %':>22}{'COV-' + m.upper() + ' %':>22}"
            f"{'MMD-' + m.upper() + ' ' + UNITS[m][1]:>26}"
            for m in metrics
        )
        + f"{'time s':>9}"
    )
    print(header)
    results = {}
    for name, x in (("model (demo)", gen), ("Gaussian blobs", blobs), ("training copies", copies)):
        t = time.perf_counter()
        r = evaluate_point_sets(
            x, ref, metrics=metrics, normalize="bbox", jsd=False, n_boot=args.resamples, seed=args.seed
        )
        dt = time.perf_counter() - t
        results[name] = r
        row = f"{name:<20}"
        for m in metrics:
            mm = r["metrics"][m]
            row += _cell(mm, "1nna", 100, 22, ".1f") + _cell(mm, "cov", 100, 22, ".1f")
            row += _cell(mm, "mmd", UNITS[m][0], 26, ".3f")
        print(row + f"{dt:>9.1f}")
    chance = next(iter(results["model (demo)"]["metrics"].values()))["1nna_chance"]
    print(f"# 1-NNA chance level for these set sizes: {100 * chance:.1f}%")
    out = demo / "quality.json"
    atomic_write_text(out, json.dumps(results, indent=1, default=float))
    print(f"# full results: {out}")


if __name__ == "__main__":
    main()
