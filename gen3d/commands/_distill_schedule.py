"""``gen3d distill --method schedule``: the teacher's weights with a few-step grid fitted to its own ODE paths
(:func:`gen3d.samplers.tuned_schedule.tune_schedule`), written as a checkpoint."""

from __future__ import annotations

import argparse

#: solvers whose one-step error the dynamic programme can measure (single-step, deterministic)
SCHEDULE_SOLVERS = ("euler", "heun")


def run_schedule(args: argparse.Namespace, teacher, config: dict, process, device: str) -> int:
    """Fit the grid on ``args.shapes`` prior draws, write ``<out>/checkpoints/last.ckpt`` (teacher weights,
    ``sampler`` = ``{name: args.solver, steps, sigmas}``) and ``<out>/distill.json``."""
    import copy
    import time
    from pathlib import Path

    import torch

    from gen3d.commands.sample import _shape_per_sample
    from gen3d.errors import UserInputError
    from gen3d.models import CHECKPOINT_KEY, num_classes_of, read_checkpoint
    from gen3d.random import generators_for_seeds
    from gen3d.samplers.tuned_schedule import tune_schedule

    if args.solver not in SCHEDULE_SOLVERS:
        raise UserInputError(
            f"--solver {args.solver!r}: a schedule can be fitted for {', '.join(SCHEDULE_SOLVERS)}"
        )
    t0 = time.monotonic()
    shape = _shape_per_sample(config["data"])
    gens = generators_for_seeds(list(range(args.seed, args.seed + args.shapes)), device=device)
    x_T = torch.cat([process.prior((1, *shape), generator=g, device=device) for g in gens])
    classes = num_classes_of(
        config
    )  # a class-conditional model: fitted on its unconditional (null-label) ODE
    cond = torch.full((args.shapes,), classes, dtype=torch.long, device=device) if classes else None
    bar = None if args.no_progress else _bar(args.candidates)
    tuned = tune_schedule(
        teacher,
        x_T,
        args.steps,
        sigma_min=float(process.sigma_min),
        sigma_max=float(process.sigma_max),
        solver=args.solver,
        n_candidates=args.candidates,
        rho=float(config["sampler"]["rho"]),
        cond=cond,
        progress=None if bar is None else (lambda done, total: bar.update(1)),
    )
    if bar is not None:
        bar.close()
    seconds = time.monotonic() - t0
    stored = config["sampler"]
    keep = stored if stored["name"] == args.solver else {k: stored[k] for k in ("schedule", "rho")}
    # the fitted grid has its own first and last levels: drop a teacher's sampler.sigma_max / sigma_min
    keep = {k: v for k, v in keep.items() if k not in ("sigma_max", "sigma_min")}
    group = {**keep, "name": args.solver, "steps": args.steps, "sigmas": tuned.sigmas}
    record = {
        "method": "schedule",
        "teacher": str(args.ckpt),
        "solver": args.solver,
        "steps": args.steps,
        "sigmas": tuned.sigmas,
        "cost": tuned.cost,
        "karras_cost": tuned.karras_cost,
        "shapes": args.shapes,
        "seed": args.seed,
        "candidates": len(tuned.candidates),
        "nfe_per_shape": {"teacher": tuned.teacher_nfe, "search": tuned.search_nfe},
        "seconds": round(seconds, 1),
    }
    ckpt = read_checkpoint(args.ckpt)
    payload = ckpt[CHECKPOINT_KEY]
    payload["config"] = dict(copy.deepcopy(payload["config"]), sampler=group)
    payload["distill"] = record
    out = Path(args.out)
    _save(ckpt, out / "checkpoints" / "last.ckpt", record, out / "distill.json")
    print(
        f"gen3d distill: {args.steps}-step {args.solver} grid "
        f"{', '.join(f'{s:.4g}' for s in tuned.sigmas)}; summed one-step error {tuned.cost:.4f} "
        f"(Karras grid: {tuned.karras_cost:.4f}) on {args.shapes} ODE paths, {seconds:.0f} s; "
        f"checkpoint {out / 'checkpoints' / 'last.ckpt'}"
    )
    return 0


def _bar(total: int):
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="row", desc="step costs")


def _save(ckpt: dict, path, record: dict, json_path) -> None:
    """The checkpoint (``torch.save`` into a temporary file, then renamed) and the JSON record."""
    import json

    import torch

    from gen3d.atomic import atomic_path, atomic_write_text

    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        torch.save(ckpt, tmp)
    atomic_write_text(json_path, json.dumps(record, indent=2) + "\n")
