"""Real point clouds at a wall-clock budget: train, sample, score against the test split, all through the CLI.

Usage::

    python benchmarks/bench_points.py ../shared/data/ModelNet10-pcd --categories sofa,table,monitor \\
        --budget 25m --out runs/bench_points

The root is a collection in the ModelNet layout (``<category>/{train,test}/*.pcd|.ply|.npy|.off``). For each
category, one after the other (each holds the whole machine for the budget; run nothing else meanwhile):

1. ``gen3d prepare modelnet`` of that category: 1024 points per shape, per-shape unit sphere, the official
   train/test split, up axis z;
2. ``gen3d fit --config <config>`` on the train split for ``--budget`` of wall time (``trainer.max_time``; the
   learning rate decays to the budget when the config says so) or ``--steps`` optimiser steps; ``--set``
   passes config overrides (the ablations of ``docs/points.md``); ``--ckpt`` scores a trained checkpoint
   instead (one category);
3. ``gen3d sample``: as many shapes as the test split holds, seeds ``--seed`` on, with the config's sampler
   (``--sample-set`` overrides it, ``--sample-points`` sets the points per generated shape); every
   ``--variant LABEL=sampler.k=v;...`` adds a row of the same model sampled with other settings (the sampling
   ablations of ``docs/points.md``);
4. ``gen3d evaluate --split test``: MMD / COV / 1-NNA with Chamfer and EMD (certified, pruned pairs) on equal
   sets, 95% bootstrap intervals over both sets, in the cache's unit-sphere frame;
5. the memorisation floor: as many random training shapes as the test split, scored the same way;
6. pictures: ``gen3d render`` galleries of generated shapes and of test shapes, upright (z up).

Each row states its budget (training minutes and steps, NFE). The share of generated points outside the unit
ball (no training or test point is) measures the stray halo. Results go to ``<out>/<category>/`` and
``<out>/table.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from _cli import cell, checkpoint_step, fit_to_budget, run_gen3d


def _prepare(root: str, cat: str, out: Path) -> Path:
    cache = out / "cache"
    run_gen3d("prepare", "modelnet", root, "--categories", cat, "--out", str(cache), "--points", "1024",
              "--normalize", "unit_sphere", "--up", "z", "--no-progress")  # fmt: skip
    return cache


def _fit(args, cache: Path, out: Path) -> tuple[Path, str]:
    """Train (or reuse ``--ckpt``); the checkpoint and a budget string (minutes, steps)."""
    if args.ckpt:
        return Path(args.ckpt), f"{checkpoint_step(args.ckpt)} steps (given checkpoint)"
    ckpt, t_fit, step = fit_to_budget(
        args.config, cache, out / "runs", args.budget, args.steps, args.overrides
    )
    return ckpt, f"{t_fit / 60:.1f} min, {step} steps"


def _evaluate(path: Path, cache: Path, out: Path, args) -> dict:
    js = out / f"eval_{path.stem}.json"
    # fewer generated points than the cache's 1024: every set is scored at its first --sample-points points
    pts = ["--points", str(args.sample_points)] if args.sample_points else []
    run_gen3d("evaluate", str(path), str(cache), "--split", "test", "--metrics", args.metrics,
              "--bootstrap", str(args.resamples), "--no-jsd", "--out", str(js), *pts)  # fmt: skip
    return json.loads(js.read_text())


def _outside(points: np.ndarray) -> float:
    """Share of points (S, N, 3) farther than 1 from the origin (every unit-sphere data point is within)."""
    return float((np.linalg.norm(points, axis=-1) > 1.0 + 1e-6).mean())


def _row(cat: str, name: str, nfe: str, budget: str, res: dict, outside: float, metrics: list[str]) -> str:
    cols = [cat, name, nfe, budget]
    for m in metrics:
        r = res["metrics"][m]
        scale = 1e3 if m == "cd" else 1e2
        cols += [cell(r, "1nna", 100, ".1f"), cell(r, "cov", 100, ".1f"), cell(r, "mmd", scale, ".2f")]
    cols.append(f"{100 * outside:.2f}")
    return "| " + " | ".join(cols) + " |"


def _variants(specs: list[str]) -> list[tuple[str, list[str]]]:
    """``LABEL=key=value;key=value`` -> (LABEL, ["key=value", ...]) per ``--variant``."""
    out = []
    for spec in specs:
        label, sep, rest = spec.partition("=")
        if not sep or not label.strip() or label.strip() == "model":
            raise SystemExit(f"--variant {spec!r}: expected LABEL=sampler.key=value[;sampler.key=value]")
        out.append((label.strip(), [o.strip() for o in rest.split(";") if o.strip()]))
    return out


def _slug(label: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in label)


def _category(args, cat: str, out: Path) -> list[str]:
    from gen3d.datasets.cache import ShapeCache
    from gen3d.sample_file import SampleFile, load_samples, save_samples

    out.mkdir(parents=True, exist_ok=True)
    cache = _prepare(args.root, cat, out)
    ckpt, budget = _fit(args, cache, out)
    c = ShapeCache(cache)
    n_ref = len(c.entries("test"))
    train, _, _ = c.load_points("train")
    pick = np.random.default_rng(args.seed).choice(len(train), n_ref, replace=False)
    floor = out / "train_copies.npz"
    copies = np.asarray(train)[pick].astype(np.float32)
    save_samples(floor, SampleFile(points=copies, meta={"up_axis": "z"}))
    metrics = [m.strip() for m in args.metrics.split(",") if m.strip()]
    rows, results = [], {}
    for label, overrides in [("model", args.sample_set), *_variants(args.variant)]:
        path = out / ("samples.npz" if label == "model" else f"samples_{_slug(label)}.npz")
        opts = ["--n", str(n_ref), "--seed", str(args.seed), "--out", str(path), "--no-progress"]
        if args.sample_points:
            opts += ["--points", str(args.sample_points)]
        for o in overrides:
            opts += ["--set", o]
        t_sample = run_gen3d("sample", "--ckpt", str(ckpt), *opts)
        gen = load_samples(path)
        res = _evaluate(path, cache, out, args)
        name = label if label == "model" else f"model, {label}"
        rows.append(_row(cat, name, f"{gen.meta['nfe']:g}", budget, res, _outside(gen.points), metrics))
        results[label] = {"overrides": overrides, "nfe": gen.meta["nfe"], "metrics": res["metrics"],
                          "outside": _outside(gen.points), "s_per_shape": t_sample / n_ref}  # fmt: skip
    res_floor = _evaluate(floor, cache, out, args)
    rows.append(_row(cat, "training copies (floor)", "-", "-", res_floor, _outside(copies), metrics))
    gap = 100 * (results["model"]["metrics"]["cd"]["1nna"] - res_floor["metrics"]["cd"]["1nna"])
    print(
        f"{cat}: {len(train)} train, {n_ref} test; {gen.points.shape[1]} points per generated shape; "
        f"sampling {results['model']['s_per_shape']:.2f} s per shape (whole command); "
        f"1-NNA-CD {gap:+.1f} points from the floor",
        flush=True,
    )
    samples = out / "samples.npz"
    if args.gallery:
        held = out / "test_shapes.npz"
        ref, _, _ = c.load_points("test")
        save_samples(held, SampleFile(points=np.asarray(ref)[: args.gallery].astype(np.float32),
                                      meta={"up_axis": "z"}))  # fmt: skip
        for name, path in (("gallery_samples", samples), ("gallery_test", held)):
            pic = ["--out", str(out / f"{name}.png"), "--up", "z", "--max-shapes", str(args.gallery)]
            run_gen3d("render", str(path), *pic, "--ncols", "8", "--size", "200")
    summary = {"budget": budget, "rows": results, "floor": res_floor["metrics"]}
    (out / "summary.json").write_text(json.dumps(summary, indent=1, default=str))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("root", help="collection in the ModelNet layout, e.g. ../shared/data/ModelNet10-pcd")
    ap.add_argument(
        "--categories", default="sofa,table,monitor", help="comma-separated, run one after the other"
    )
    ap.add_argument("--out", default="runs/bench_points")
    ap.add_argument("--config", default="modelnet_cpu")
    ap.add_argument("--budget", default="25m", help="training wall time (trainer.max_time)")
    ap.add_argument("--steps", type=int, default=None, help="train N optimiser steps instead of --budget")
    ap.add_argument("--set", dest="overrides", action="append", default=[], help="extra config overrides")
    ap.add_argument("--ckpt", default=None, help="score this checkpoint instead of training (one category)")
    ap.add_argument("--sample-set", action="append", default=[], help="sampler overrides for gen3d sample")
    ap.add_argument(
        "--variant",
        action="append",
        default=[],
        help="also sample and score the model with other sampler settings: LABEL=sampler.k=v;sampler.k=v",
    )
    ap.add_argument("--sample-points", type=int, default=None, help="points per generated shape")
    ap.add_argument("--metrics", default="cd,emd")
    ap.add_argument("--resamples", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0, help="first sampling seed; also the floor's draw")
    ap.add_argument("--gallery", type=int, default=16, help="shapes per gallery (0: no pictures)")
    args = ap.parse_args()
    cats = [c.strip() for c in args.categories.split(",") if c.strip()]
    if args.ckpt and len(cats) != 1:
        raise SystemExit("--ckpt scores one category: pass --categories with one name")
    if args.sample_points is not None and not 1 <= args.sample_points <= 1024:
        raise SystemExit("--sample-points must be in 1..1024 (the cache's reference shapes hold 1024 points)")
    if "cd" not in args.metrics.split(","):
        raise SystemExit("--metrics must include cd (the goal is stated in 1-NNA-CD)")
    out = Path(args.out)
    t0 = time.perf_counter()
    rows = []
    for cat in cats:
        rows += _category(args, cat, out / cat)
    metrics = [m.strip() for m in args.metrics.split(",") if m.strip()]
    head = ["category", "set", "NFE", "training"]
    for m in metrics:
        unit = "×10³" if m == "cd" else "×10²"
        head += [f"1-NNA-{m.upper()} %", f"COV-{m.upper()} %", f"MMD-{m.upper()} {unit}"]
    head.append("points outside the ball %")
    print()
    print(f"config {args.config}, overrides {args.overrides or 'none'}; sampler overrides "
          f"{args.sample_set or 'none'}; {(time.perf_counter() - t0) / 60:.1f} min in all")  # fmt: skip
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    print("\n".join(rows))


if __name__ == "__main__":
    main()
