"""``gen3d diagnose``: the physics of a trained model's reverse process on its data (speciation, collapse,
information, likelihood) as report.json, summary.md and PNG plots (docs/diagnostics.md)."""

from __future__ import annotations

import argparse

NAME = "diagnose"
HELP = "speciation / collapse / information / likelihood diagnostics of a trained model on its data"

WHAT = ("info", "commitment", "collapse", "likelihood")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ckpt", required=True, help="checkpoint written by gen3d fit (.ckpt)")
    parser.add_argument(
        "--data", default=None, help="prepared cache (default: the checkpoint's data.cache_dir)"
    )
    parser.add_argument(
        "--what", default=",".join(WHAT), help=f"comma-separated subset of {','.join(WHAT)} (default: all)"
    )
    parser.add_argument(
        "--budget",
        default="auto",
        help="'auto' (sizes for the demo model: a few CPU minutes), a number of network evaluations "
        "(e.g. 20000) or minutes (e.g. 5min; also a hard stop between noise levels)",
    )
    parser.add_argument("--out", default="report", help="output folder (report.json, summary.md, *.png)")
    parser.add_argument(
        "--heldout-split", default=None, help="held-out split (default: data.val_split or test)"
    )
    parser.add_argument(
        "--route",
        default="auto",
        choices=("auto", "posterior", "uturn"),
        help="class-commitment route: auto = uturn (any model); posterior: K + 1 calls per level for "
        "class-conditional models, valid only where its reported I4 residual is small",
    )
    parser.add_argument("--levels", type=int, default=None, help="noise levels of the curves (default 14)")
    parser.add_argument(
        "--uturn-steps", type=int, default=None, help="ancestral steps per U-turn (default 12)"
    )
    parser.add_argument(
        "--likelihood-steps", type=int, default=None, help="Heun steps of the PF-ODE likelihood (default 24)"
    )
    parser.add_argument("--probes", type=int, default=None, help="Hutchinson probes per step (default 2)")
    parser.add_argument(
        "--steps", type=int, default=None, help="sampler steps of the collapse scan (default: the config's)"
    )
    parser.add_argument("--clusters", type=int, default=2, help="k-means classes for unlabelled data (>= 2)")
    parser.add_argument("--seed", type=int, default=0, help="seed of every random draw")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument(
        "--raw-ema", action="store_true", help="use the raw weights instead of the EMA weights"
    )
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1 (default cpu)")
    parser.add_argument("--no-plots", action="store_true", help="JSON and Markdown only")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def _what(text: str) -> tuple[str, ...]:
    from gen3d.errors import UserInputError

    items = tuple(w.strip() for w in text.split(",") if w.strip())
    bad = [w for w in items if w not in WHAT]
    if bad or not items:
        raise UserInputError(f"--what takes a comma-separated subset of {','.join(WHAT)}, got {text!r}")
    return items


def _check(args: argparse.Namespace) -> tuple[tuple[str, ...], tuple[str, float | None]]:
    from gen3d.diagnostics.plan import parse_budget
    from gen3d.errors import UserInputError

    if args.clusters < 2:
        raise UserInputError(f"--clusters must be >= 2, got {args.clusters}")
    if args.batch_size < 1:
        raise UserInputError("--batch-size must be >= 1")
    return _what(args.what), parse_budget(args.budget)


def _base_plan(args: argparse.Namespace):
    """The default plan with the sizes given on the command line."""
    from dataclasses import replace

    from gen3d.diagnostics.plan import Plan
    from gen3d.errors import UserInputError

    given = {
        "info_levels": args.levels,
        "commit_levels": args.levels,
        "uturn_steps": args.uturn_steps,
        "like_steps": args.likelihood_steps,
        "like_probes": args.probes,
    }
    limits = {"info_levels": 2, "commit_levels": 2, "uturn_steps": 1, "like_steps": 2, "like_probes": 1}
    for key, v in given.items():
        if v is not None and v < limits[key]:
            raise UserInputError(f"{key.replace('_', ' ')} must be >= {limits[key]}, got {v}")
    return replace(Plan(), **{k: v for k, v in given.items() if v is not None})


def _plan(plan, budget, what, config, route, denoiser, sets, device):
    """``plan`` clamped to the data and scaled to the budget (minutes: converted with a measured throughput);
    returns ``(plan, planned NFE)``."""
    import time

    import torch

    from gen3d.diagnostics.plan import scale_plan
    from gen3d.diagnostics.run import sampler_nfe
    from gen3d.models import num_classes_of

    k = num_classes_of(config)
    r = "uturn" if route == "auto" else route
    per_sample = sampler_nfe(config["sampler"]["name"], int(config["sampler"]["steps"]))

    def cost(p) -> int:
        return sum(p.cost(what, k, r, per_sample).values())

    plan = _clamped(plan, sets)
    kind, value = budget
    if kind == "auto":
        return plan, cost(plan)
    if kind == "minutes":
        x = sets.heldout[:8].to(device)
        cond = torch.full((x.shape[0],), k, dtype=torch.int64, device=device) if k else None
        with torch.no_grad():
            t = time.monotonic()
            denoiser(x, torch.full((x.shape[0],), 0.5, device=device), cond)
            rate = x.shape[0] / max(time.monotonic() - t, 1e-6)
        value = 0.6 * rate * 60.0 * float(value)  # 40% left for distances and overhead
    plan = _clamped(scale_plan(plan, float(value) / max(cost(plan), 1)), sets)
    return plan, cost(plan)


def _clamped(plan, sets):
    """``plan`` with no more shapes than the splits hold (the estimators take the first ones)."""
    from dataclasses import replace

    both = min(len(sets.train), len(sets.heldout))
    return replace(
        plan,
        info_shapes=min(plan.info_shapes, both),
        commit_shapes=min(plan.commit_shapes, len(sets.heldout)),
        like_shapes=min(plan.like_shapes, both),
    )


def run(args: argparse.Namespace) -> int:
    import torch

    from gen3d.diagnostics.common import Meter
    from gen3d.diagnostics.data import load_shape_sets
    from gen3d.diagnostics.report import write_report
    from gen3d.diagnostics.run import diagnose, inapplicable
    from gen3d.errors import UserInputError
    from gen3d.models import load_denoiser

    what, budget = _check(args)
    denoiser, config, process = load_denoiser(args.ckpt, ema=not args.raw_ema, map_location=args.device)
    cache = args.data or config["data"].get("cache_dir")
    if not cache:
        raise UserInputError("--data is needed: the checkpoint's config names no data.cache_dir")
    gen = torch.Generator().manual_seed(args.seed)
    sets = load_shape_sets(cache, config, heldout_split=args.heldout_split, generator=gen)
    sets.train, sets.heldout = sets.train.to(args.device), sets.heldout.to(args.device)
    if args.steps is not None:
        if args.steps < 1:
            raise UserInputError(f"--steps must be >= 1, got {args.steps}")
        config = dict(config, sampler=dict(config["sampler"], steps=args.steps))
    skip = inapplicable(what, process, args.route, tuple(sets.train.shape[1:]))
    todo = tuple(w for w in what if w not in skip)  # the budget goes to the estimators that apply
    plan, planned = _plan(_base_plan(args), budget, todo, config, args.route, denoiser, sets, args.device)
    print(
        f"gen3d diagnose: {', '.join(todo) or 'nothing'} on {len(sets.train)} training / "
        f"{len(sets.heldout)} held-out shapes; about {planned} network evaluations planned"
        + (f" ({', '.join(skip)}: not applicable to {process.name})" if skip else "")
    )
    meter = Meter(budget[1] if budget[0] == "minutes" else None, progress=_bar(planned, not args.no_progress))
    report = diagnose(
        denoiser,
        process,
        config,
        sets,
        what=what,
        plan=plan,
        generator=gen,
        meter=meter,
        route=args.route,
        clusters=args.clusters,
        batch_size=args.batch_size,
    )
    if meter.progress is not None:
        meter.progress.close()
    report.update(checkpoint=str(args.ckpt), cache=str(cache), seed=args.seed, budget=args.budget)
    paths = write_report(report, args.out, plots=not args.no_plots)
    _print_summary(report["summary"], paths)
    return 0


def _bar(total: int, enabled: bool):
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="NFE", desc="diagnose")


def _print_summary(s: dict, paths: dict) -> None:
    def f(v):
        return "–" if v is None else (f"{v:.3g}" if isinstance(v, float) else str(v))

    keys = ("sigma_S", "sigma_C", "near_copy_fraction", "near_copy_fraction_null", "sigma_C_entropy")
    print("gen3d diagnose: " + ", ".join(f"{k} {f(s[k])}" for k in keys if k in s))
    print(f"gen3d diagnose: {s['nfe_total']} network evaluations, {s['minutes']:.1f} min")
    for name, p in paths.items():
        print(f"  {name}: {p}")
