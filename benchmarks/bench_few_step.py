"""Quality against network evaluations: one trained model sampled with 1 to 64 NFE, training-free solvers
next to its distilled students and tuned grids, scored against a real test split.

Rows (all from the same teacher checkpoint, the same prior seeds ``0 .. n-1``):

* ``heun`` / ``dpmpp_2m`` / ``dpmpp_3m`` on the teacher's Karras grid (``rho`` 7, sigma 0.002 .. 80) at
  the NFE of ``--nfe`` (Heun: 2 K - 1 evaluations for K steps, so the nearest odd count);
* every ``--student`` checkpoint (``gen3d distill --method trajectory``: Euler on its stored grid) and every
  ``--schedule`` checkpoint (``gen3d distill --method schedule``), their distillation cost read from
  ``distill.json`` beside them;
* ``training copies``: ``n`` training shapes, the memorisation floor, scored identically.

Scoring: :func:`gen3d.metrics.evaluation.evaluate_point_sets` (Chamfer; ``--emd`` adds EMD) against ``n``
shapes of the cache's test split, 95% bootstrap intervals (``--resamples``), the cache's own normalisation
(per-shape unit sphere for ModelNet prepared with ``--normalize unit_sphere``); ``out %`` is the share of
points outside the unit ball (a halo of stray points shows there first). Seconds per shape: sampling wall time
over ``n`` (batch 50) on this machine; the header gives the thread count and the load average, since a busy
machine makes every time longer.

    .venv/bin/python benchmarks/bench_few_step.py --teacher T.ckpt --cache CACHE \\
        --student runs/k1/checkpoints/last.ckpt --schedule runs/s9/checkpoints/last.ckpt --emd \\
        --json few_step.json --plot docs/few_step_curve.png
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

SOLVERS = ("heun", "dpmpp_2m", "dpmpp_3m")


def _steps_for(solver: str, nfe: int) -> int:
    """Steps of ``solver`` on a grid ending at 0 that cost about ``nfe`` evaluations."""
    return max(1, (nfe + 1) // 2) if solver == "heun" else max(1, nfe)


def _sample(ckpt, n: int, sampler=None, steps=None, sigmas=None):
    """``(points (n, N, 3), nfe, seconds)`` with the checkpoint's own sampler group unless overridden."""
    import torch

    from gen3d.generate import generate
    from gen3d.models import load_denoiser

    den, cfg, process = load_denoiser(ckpt)
    group = cfg["sampler"]
    name = sampler or group["name"]
    k = steps or group["steps"]
    grid = sigmas if sigmas is not None else (group.get("sigmas") if sampler is None else None)
    shape = (int(cfg["data"]["n_points"]), 3)
    t0 = time.perf_counter()
    with torch.no_grad():
        out = generate(
            den,
            process,
            shape,
            list(range(n)),
            sampler=name,
            steps=k,
            batch_size=50,
            schedule=group["schedule"],
            rho=group["rho"],
            sigmas=grid,
        )
    return out.x.numpy(), out.nfe, time.perf_counter() - t0


def _cost(ckpt: str) -> str:
    record = Path(ckpt).parent.parent / "distill.json"
    if not record.is_file():
        return "-"
    r = json.loads(record.read_text())
    secs = r.get("seconds")
    total = sum(secs.values()) if isinstance(secs, dict) else float(secs or 0)
    steps = f", {r['training_steps']} steps" if "training_steps" in r else ""
    return f"{total / 60:.1f} min{steps}"


def _score(x, ref, metrics, resamples: int) -> dict:
    from gen3d.metrics.evaluation import evaluate_point_sets

    res = evaluate_point_sets(x, ref, metrics=metrics, jsd=False, n_boot=resamples)
    out = {"out": float((np.linalg.norm(x, axis=-1) > 1.0).mean())}
    for m in metrics:
        r = res["metrics"][m]
        out[m] = {"1nna": r["1nna"], "cov": r["cov"], "mmd": r["mmd"], "ci": r.get("ci")}
    return out


def _cell(r: dict, m: str, stat: str, factor: float, fmt: str) -> str:
    if m not in r:
        return "-"
    v = r[m]
    text = f"{factor * v[stat]:{fmt}}"
    if v.get("ci"):
        text += f" [{factor * v['ci'][stat]['lo']:{fmt}}, {factor * v['ci'][stat]['hi']:{fmt}}]"
    return text


def _plot(rows: list[dict], floor: float | None, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=120)
    groups: dict[str, list[dict]] = {}
    for r in rows:
        if r["nfe"] is not None:
            groups.setdefault(r["family"], []).append(r)
    for fam, rs in groups.items():
        rs = sorted(rs, key=lambda r: r["nfe"])
        nfe = [r["nfe"] for r in rs]
        y = [100 * r["cd"]["1nna"] for r in rs]
        # error bars never negative: a re-centred interval can sit a rounding step off its point
        lo = [
            max(0.0, 100 * (r["cd"]["1nna"] - r["cd"]["ci"]["1nna"]["lo"])) if r["cd"].get("ci") else 0
            for r in rs
        ]
        hi = [
            max(0.0, 100 * (r["cd"]["ci"]["1nna"]["hi"] - r["cd"]["1nna"])) if r["cd"].get("ci") else 0
            for r in rs
        ]
        ax.errorbar(nfe, y, yerr=[lo, hi], marker="o", capsize=3, label=fam)
    if floor is not None:
        ax.axhline(100 * floor, color="grey", ls="--", label="training copies (floor)")
    ax.set_xscale("log", base=2)
    top = max(r["nfe"] for r in rows if r["nfe"] is not None)
    ticks = [t for t in (1, 2, 4, 8, 16, 35, 64, 128) if t <= top]  # labels that do not overlap
    ax.set_xticks(ticks, [str(t) for t in ticks])
    ax.set_xlabel("network evaluations per shape (NFE)")
    ax.set_ylabel("1-NNA-CD % (lower is better, 50 ideal)")
    ax.set_ylim(min(45.0, 100 * floor - 5) if floor is not None else 45.0, 101)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--teacher", required=True, help="trained checkpoint (gen3d fit)")
    ap.add_argument("--cache", required=True, help="prepared cache with train and test splits")
    ap.add_argument("--n", type=int, default=100, help="shapes per row (and test shapes scored against)")
    ap.add_argument("--nfe", default="1,2,4,8,16,35,64", help="NFE of the training-free rows")
    ap.add_argument("--solvers", default=",".join(SOLVERS))
    ap.add_argument("--student", action="append", default=[], help="distilled student checkpoint (repeat)")
    ap.add_argument("--schedule", action="append", default=[], help="tuned-schedule checkpoint (repeat)")
    ap.add_argument("--emd", action="store_true", help="also EMD (slower)")
    ap.add_argument("--resamples", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--json", default=None)
    ap.add_argument("--plot", default=None, help="PNG of 1-NNA-CD against NFE")
    args = ap.parse_args()

    import torch

    from gen3d.datasets.cache import ShapeCache

    torch.set_num_threads(args.threads or os.cpu_count() or 1)
    cache = ShapeCache(args.cache)
    ref = np.asarray(cache.load_points("test")[0])[: args.n]
    train = np.asarray(cache.load_points("train")[0])
    metrics = ("cd", "emd") if args.emd else ("cd",)
    print(
        f"# teacher {args.teacher}; {len(ref)} test shapes of {args.cache}, {ref.shape[1]} points; "
        f"torch threads {torch.get_num_threads()}, load average {os.getloadavg()[0]:.1f}; "
        f"95% bootstrap intervals ({args.resamples} resamples)"
    )
    rows = []

    def add(name, family, x, nfe, secs, cost="-"):
        t0 = time.perf_counter()
        r = {
            "row": name,
            "family": family,
            "nfe": nfe,
            "s_per_shape": secs / len(x) if secs else None,
            "cost": cost,
            **_score(x, ref, metrics, args.resamples),
        }
        rows.append(r)
        print(f"# done {name} (NFE {nfe}, scored in {time.perf_counter() - t0:.0f} s)", flush=True)

    for solver in [v for v in args.solvers.split(",") if v]:
        seen = set()
        for nfe in (int(v) for v in args.nfe.split(",")):
            steps = _steps_for(solver, nfe)
            if steps in seen:
                continue
            seen.add(steps)
            x, used, secs = _sample(args.teacher, args.n, sampler=solver, steps=steps)
            add(f"{solver} {steps} steps", f"{solver} (Karras)", x, used, secs)
    for kind, paths in (("student", args.student), ("tuned grid", args.schedule)):
        for p in paths:
            x, used, secs = _sample(p, args.n)
            add(f"{kind} {Path(p).parent.parent.name}", kind, x, used, secs, _cost(p))
    rng = np.random.default_rng(0)
    add("training copies", "floor", train[rng.choice(len(train), args.n, replace=False)], None, 0.0)

    print(
        "| row | NFE | s/shape | distill cost | 1-NNA-CD % | COV-CD % | MMD-CD x10^3 | "
        + ("1-NNA-EMD % | MMD-EMD x10^2 | " if args.emd else "")
        + "out % |"
    )
    print("|---|---|---|---|---|---|---|" + ("---|---|" if args.emd else "") + "---|")
    for r in rows:
        cells = [
            r["row"],
            str(r["nfe"] if r["nfe"] is not None else "-"),
            f"{r['s_per_shape']:.3f}" if r["s_per_shape"] else "-",
            r["cost"],
            _cell(r, "cd", "1nna", 100, ".1f"),
            _cell(r, "cd", "cov", 100, ".1f"),
            _cell(r, "cd", "mmd", 1e3, ".2f"),
        ]
        if args.emd:
            cells += [_cell(r, "emd", "1nna", 100, ".1f"), _cell(r, "emd", "mmd", 1e2, ".2f")]
        cells.append(f"{100 * r['out']:.2f}")
        print("| " + " | ".join(cells) + " |")
    floor = rows[-1]["cd"]["1nna"]
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    if args.plot:
        _plot(rows[:-1], floor, args.plot)
        print(f"# plot: {args.plot}")


if __name__ == "__main__":
    main()
