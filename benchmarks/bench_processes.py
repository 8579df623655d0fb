"""EDM, PFGM++ and Yukawa at an equal training budget on one prepared cache, same backbone and recipe.

Usage::

    gen3d prepare modelnet ../shared/data/ModelNet10-pcd --categories sofa --out cache/sofa \\
        --points 1024 --normalize unit_sphere
    python benchmarks/bench_processes.py cache/sofa --steps 3000 --out runs/bench_processes_sofa

For each process (``--processes``, default ``edm``, ``pfgmpp`` with D = 128, ``yukawa`` with D_eff = 128)
it trains ``demo_points`` unconditionally for ``--steps`` optimiser steps (batch ``--batch``, lr 1e-3, tiny
PVCNN, 1024 points) with ``gen3d fit`` in a subprocess (tuned allocator), samples as many shapes as the
reference split holds with Heun at each ``--sample-steps`` (18 steps = 35 NFE, 5 steps = 9 NFE), and scores
them against that split (no re-normalisation: the cache's frame) with MMD / COV / 1-NNA (Chamfer; EMD too at
the first sampler budget with ``--emd``), 95% bootstrap intervals over both sets. A last row scores copies of
as many training shapes (the memorisation floor). The budget is counted in steps, so the processes are
compared at equal compute whatever else the machine runs; the wall time of each fit is printed too.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

DEFAULT = "edm;pfgmpp:D=128;yukawa:D_eff=128"


def _parse(spec: str) -> tuple[str, list[str]]:
    name, _, rest = spec.partition(":")
    sets = [f"process.{kv}" for kv in rest.split(",") if kv] if rest else []
    return name, sets


def _gen3d(*args: str, env=None) -> None:
    cmd = [sys.executable, "-m", "gen3d", *args]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if res.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{res.stderr[-3000:]}")


def _cell(m: dict, stat: str, factor: float) -> str:
    """``value [lo, hi]`` of ``m[stat] * factor`` (percentages with one decimal, other units with two)."""
    fmt = ".1f" if factor == 100 else ".2f"
    v = f"{factor * m[stat]:{fmt}}"
    ci = m.get("ci", {}).get(stat)
    return v if ci is None else f"{v} [{factor * ci['lo']:{fmt}}, {factor * ci['hi']:{fmt}}]"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("cache", help="prepared cache (one category; train split for training)")
    ap.add_argument("--out", default="runs/bench_processes")
    ap.add_argument(
        "--processes", default=DEFAULT, help=f"';'-separated name:key=value,... (default {DEFAULT})"
    )
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--sample-steps", default="18,5", help="Heun steps per evaluation (NFE = 2 steps - 1)")
    ap.add_argument("--split", default="test", help="reference split")
    ap.add_argument("--emd", action="store_true", help="also EMD at the first sampler budget")
    ap.add_argument("--resamples", type=int, default=1000)
    args = ap.parse_args()

    from gen3d.datasets.cache import ShapeCache
    from gen3d.metrics.evaluation import evaluate_point_sets
    from gen3d.sample_file import load_samples

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cache = ShapeCache(args.cache)
    ref, _, _ = cache.load_points(args.split, n_points=1024)
    train, _, _ = cache.load_points("train", n_points=1024)
    specs = [p for p in args.processes.split(";") if p]
    env = dict(os.environ, MALLOC_MMAP_MAX_="0", MALLOC_TRIM_THRESHOLD_="100000000000")
    steps_list = [int(s) for s in args.sample_steps.split(",")]
    print(
        f"# {args.cache}: {len(train)} training shapes, {len(ref)} reference ('{args.split}'), 1024 points; "
        f"{args.steps} steps, batch {args.batch}, tiny PVCNN, lr 1e-3, EMA 0.995; Heun {steps_list} steps; "
        f"[95% bootstrap interval, {args.resamples} resamples]"
    )
    rows = []
    for spec in specs:
        name, sets = _parse(spec)
        tag = spec.replace(":", "_").replace("=", "").replace(",", "_")
        overrides = [
            f"data.cache_dir={args.cache}",
            "data.n_points=1024",
            f"data.batch_size={args.batch}",
            "data.val_split=test",
            "experiment.class_cond=false",
            f"experiment.run_dir={out}",
            f"experiment.name={tag}",
            f"process.name={name}",
            *sets,
            f"trainer.max_steps={args.steps}",
            "trainer.sample_every_n_steps=0",
            "trainer.enable_progress_bar=false",
            "trainer.checkpoint_every_n_steps=1000",
        ]
        ckpt = out / tag / "checkpoints" / "last.ckpt"
        t0 = time.perf_counter()
        _gen3d(
            "fit",
            "--config",
            "demo_points",
            "--resume",
            "auto",
            *[a for o in overrides for a in ("--set", o)],
            env=env,
        )
        fit_s = time.perf_counter() - t0
        for k, st in enumerate(steps_list):
            f = out / f"{tag}_heun{st}.npz"
            _gen3d(
                "sample",
                "--ckpt",
                str(ckpt),
                "--n",
                str(len(ref)),
                "--steps",
                str(st),
                "--seed",
                "0",
                "--batch-size",
                "25",
                "--no-progress",
                "--out",
                str(f),
                env=env,
            )
            sf = load_samples(f)
            metrics = ("cd", "emd") if (args.emd and k == 0) else ("cd",)
            r = evaluate_point_sets(sf.points, ref, metrics=metrics, jsd=False, n_boot=args.resamples, seed=0)
            outside = float((np.linalg.norm(sf.points, axis=2) > 1.0).mean())
            rows.append((spec, int(sf.meta["nfe"]), fit_s, outside, r))
            (out / f"{tag}_heun{st}.json").write_text(json.dumps(r, indent=1, default=float))
            print(f"# done {spec} heun{st} (fit {fit_s:.0f} s)", flush=True)
    copies = train[np.random.default_rng(0).choice(len(train), size=len(ref), replace=False)]
    rc = evaluate_point_sets(
        copies, ref, metrics=("cd", "emd") if args.emd else ("cd",), jsd=False, n_boot=args.resamples, seed=0
    )
    rows.append(("training copies", 0, 0.0, float((np.linalg.norm(copies, axis=2) > 1.0).mean()), rc))
    print(
        "| process | NFE | fit s | 1-NNA-CD % | COV-CD % | MMD-CD ×10³ | 1-NNA-EMD % | MMD-EMD ×10² "
        "| pts outside unit ball |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for spec, nfe, fit_s, outside, r in rows:
        cd = r["metrics"]["cd"]
        emd = r["metrics"].get("emd")
        e1 = _cell(emd, "1nna", 100) if emd else "–"
        e2 = _cell(emd, "mmd", 100) if emd else "–"
        print(
            f"| {spec} | {nfe or '–'} | {fit_s:.0f} | {_cell(cd, '1nna', 100)} | {_cell(cd, 'cov', 100)} | "
            f"{_cell(cd, 'mmd', 1000)} | {e1} | {e2} | {100 * outside:.2f}% |"
        )
    chance = rc["metrics"]["cd"]["1nna_chance"]
    print(f"# 1-NNA chance level: {100 * chance:.1f}%")


if __name__ == "__main__":
    main()
