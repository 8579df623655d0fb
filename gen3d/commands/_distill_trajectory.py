"""``gen3d distill --method trajectory``: the teacher's ODE trajectories (cached), then a Lightning run of
:class:`gen3d.training.distill.DistillModule` under ``gen3d fit``'s checkpointing, resume and pre-emption."""

from __future__ import annotations

import argparse
from pathlib import Path

TRAJ_FILE = "trajectories.npz"


def _sha256(path: str) -> str:
    """The teacher file's sha256 (its path or URL as given when it is not a local file)."""
    import os

    from gen3d.storage.checksums import sha256_file

    return sha256_file(path)[1] if os.path.isfile(path) else str(path)


def _teacher_settings(args: argparse.Namespace, config: dict) -> dict:
    from gen3d.errors import UserInputError
    from gen3d.trajectories import DETERMINISTIC_TEACHERS

    stored = config["sampler"]
    name = stored["name"] if stored["name"] in DETERMINISTIC_TEACHERS else "heun"
    if stored["name"] != name:
        print(f"gen3d distill: the teacher's sampler {stored['name']!r} is not an ODE solver; using heun")
    steps = int(args.teacher_steps or stored["steps"])
    if steps < 1:
        raise UserInputError(f"--teacher-steps must be >= 1, got {steps}")
    return {"sampler": name, "steps": steps, "rho": float(stored["rho"])}


def _trajectories(path: Path, key: dict, make) -> tuple[dict, bool]:
    """The cached trajectories at ``path`` when their ``key`` matches, else ``make()`` saved atomically.
    Returns ``(arrays, reused)`` with ``states_train``, ``final_train``, ``states_val``, ``final_val``."""
    import json

    import numpy as np

    from gen3d.atomic import save_npz_atomic

    want = json.dumps(key, sort_keys=True)
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as z:
                if str(z["key"]) == want:
                    return {k: z[k] for k in z.files if k != "key"}, True
        except (OSError, ValueError, KeyError) as e:
            print(f"gen3d distill: ignoring unreadable {path} ({e}); computing the trajectories again")
    arrays = make()
    save_npz_atomic(path, key=np.asarray(want), **arrays)
    return arrays, False


def _check_same_grid(ckpt_path: str, grid: list[float]) -> None:
    """A run resumes only with the student grid it was trained for (its trajectories and targets)."""
    from gen3d.errors import UserInputError
    from gen3d.models import CHECKPOINT_KEY, read_checkpoint

    stored = (read_checkpoint(ckpt_path)[CHECKPOINT_KEY].get("distill") or {}).get("grid")
    if stored is not None and [round(v, 12) for v in stored] != [round(v, 12) for v in grid]:
        raise UserInputError(
            f"{ckpt_path} was distilled for the grid {stored}, not {grid} (--steps / --sigma-end changed): "
            "distill into another --out"
        )


def _seconds_so_far(path: Path, resumed: bool, reused: bool) -> dict[str, float]:
    """Seconds already spent on this student by earlier runs (``distill.json``): the trajectories' when they
    were reused, the training's when this run resumed; zeros otherwise. The cost of a resumed run is then the
    cost of the whole distillation."""
    import json

    spent = {"trajectories": 0.0, "training": 0.0}
    if not path.is_file():
        return spent
    try:
        before = json.loads(path.read_text()).get("seconds") or {}
    except (OSError, ValueError):
        return spent
    if reused:
        spent["trajectories"] = float(before.get("trajectories", 0.0))
    if resumed:
        spent["training"] = float(before.get("training", 0.0))
    return spent


def _student_config(config: dict, args: argparse.Namespace, grid: list[float]) -> dict:
    import copy

    from gen3d.config import check_sampler_group

    out = Path(args.out).resolve()
    cfg = copy.deepcopy(config)
    cfg["experiment"].update(run_dir=str(out.parent), name=out.name)
    cfg["sampler"] = check_sampler_group(
        {"name": "euler", "steps": len(grid) - 1, "schedule": "karras", "rho": 7.0, "sigmas": grid}
    )
    cfg["optim"].update(lr=args.lr, ema_decay=args.ema_decay, warmup_steps=0, ema_warmup=True)
    cfg["data"]["batch_size"] = args.batch_size
    every = min(500, args.max_steps)
    cfg["trainer"].update(
        max_steps=args.max_steps,
        max_epochs=-1,
        checkpoint_every_n_steps=every,
        sample_every_n_steps=0,
        limit_val_batches=1.0,
        log_every_n_steps=min(10, every),
        enable_progress_bar=not args.no_progress,
        fast_dev_run=False,
    )
    return cfg


def run_trajectory(
    args: argparse.Namespace,
    teacher,
    config: dict,
    process,
    device: str,
    budget: float | None,
    started: float,
) -> int:
    """Trajectories, then training; ``<out>/distill.json`` records the teacher, grid and costs."""
    import copy
    import datetime
    import json
    import time

    import torch

    from gen3d.atomic import atomic_write_text
    from gen3d.commands.fit import _fit, _resume_path
    from gen3d.commands.sample import _shape_per_sample
    from gen3d.errors import UserInputError
    from gen3d.models import num_classes_of
    from gen3d.training.components import build_trainer, run_dir_of
    from gen3d.training.distill import DistillModule, TrajectoryDataModule
    from gen3d.training.resume_check import check_resumable
    from gen3d.trajectories import euler_targets, student_sigmas, teacher_trajectories

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    grid = student_sigmas(args.steps, float(process.sigma_max), args.sigma_end)
    teach = _teacher_settings(args, config)
    shape = _shape_per_sample(config["data"])
    train_seeds = list(range(args.seed, args.seed + args.pairs))
    val_seeds = list(range(args.seed + args.pairs, args.seed + args.pairs + args.val_pairs))
    classes = num_classes_of(config)
    key = {
        "teacher": _sha256(args.ckpt),
        "grid": grid,
        **teach,
        "train": train_seeds[:1] + [len(train_seeds)],
        "val": val_seeds[:1] + [len(val_seeds)],
    }
    if classes:  # the labels the trajectories were made with (unconditional keys stay as they were)
        key["classes"] = classes

    def make() -> dict:
        arrays = {}
        for split, seeds in (("train", train_seeds), ("val", val_seeds)):
            print(
                f"gen3d distill: teacher trajectories ({split}: {len(seeds)} shapes, {teach['sampler']} "
                f"{teach['steps']} steps)"
            )
            # a class-conditional teacher: every class and its null label (the unconditional ODE) in turn
            labels = [i % (classes + 1) for i in range(len(seeds))] if classes else None
            tr = teacher_trajectories(
                teacher,
                process,
                shape,
                seeds,
                grid,
                batch_size=args.batch_size,
                device=device,
                progress=not args.no_progress,
                cond=labels,
                **teach,
            )
            arrays[f"states_{split}"], arrays[f"final_{split}"] = tr.states.numpy(), tr.final.numpy()
            arrays[f"labels_{split}"] = torch.tensor(labels if labels else [-1] * len(seeds)).numpy()
            arrays["teacher_nfe"] = torch.tensor(tr.nfe).numpy()
        return arrays

    t0 = time.monotonic()
    arrays, reused = _trajectories(out / TRAJ_FILE, key, make)
    traj_seconds = time.monotonic() - t0

    def pairs(split: str) -> tuple:
        states, final = (
            torch.from_numpy(arrays[f"states_{split}"]),
            torch.from_numpy(arrays[f"final_{split}"]),
        )
        # labels are absent from the caches of unconditional teachers written before labels were stored
        stored = arrays.get(f"labels_{split}")
        labels = None if stored is None else torch.from_numpy(stored)
        return states, euler_targets(states, final, grid), labels

    cfg = _student_config(config, args, grid)
    record = {
        "method": "trajectory",
        "teacher": str(args.ckpt),
        "teacher_sha256": key["teacher"],
        "grid": grid,
        **{f"teacher_{k}": v for k, v in teach.items()},
        "pairs": args.pairs,
        "val_pairs": args.val_pairs,
        "teacher_nfe_per_shape": int(arrays["teacher_nfe"]),
        "seed": args.seed,
    }
    student = copy.deepcopy(teacher).train()
    module = DistillModule(
        student,
        process,
        cfg["optim"],
        cfg,
        grid,
        record,
        seed=int(cfg["experiment"]["seed"]),
        num_classes=classes,
    )
    dm = TrajectoryDataModule(pairs("train"), pairs("val"), args.batch_size, seed=args.seed)
    run_dir = run_dir_of(cfg)
    ckpt_path = _resume_path(args.resume, run_dir, print)
    step = None
    if ckpt_path:
        _check_same_grid(ckpt_path, grid)
        step = check_resumable(ckpt_path, cfg, module, [])
        print(f"gen3d distill: resuming from {ckpt_path} (step {step})")
    remaining = None
    if budget is not None:
        remaining = budget - (time.monotonic() - started)
        if remaining <= 1:
            raise UserInputError(
                f"--budget {args.budget} is spent by the teacher trajectories ({traj_seconds:.0f} s): "
                "give more time"
            )
    extra = {"max_time": datetime.timedelta(seconds=remaining)} if remaining is not None else {}
    trainer = build_trainer(cfg, resume_step=step, **extra)
    t1 = time.monotonic()
    code = _fit(trainer, module, dm, ckpt_path, run_dir / "checkpoints" / "last.ckpt", cfg, "gen3d distill")
    seconds = _seconds_so_far(out / "distill.json", resumed=ckpt_path is not None, reused=reused)
    seconds["trajectories"] += traj_seconds if not reused else 0.0
    seconds["training"] += time.monotonic() - t1
    summary = {
        **record,
        "student_steps": args.steps,
        "trajectories_reused": reused,
        "seconds": {k: round(v, 1) for k, v in seconds.items()},
        "training_steps": int(trainer.global_step),
        "budget_s": budget,
    }
    atomic_write_text(out / "distill.json", json.dumps(summary, indent=2) + "\n")
    if code == 0:
        secs = summary["seconds"]
        print(
            f"gen3d distill: {args.steps}-step student ({trainer.global_step} steps, "
            f"{secs['trajectories']:.0f} s trajectories + {secs['training']:.0f} s training); "
            f"sample with gen3d sample --ckpt {run_dir / 'checkpoints' / 'last.ckpt'}"
        )
    return code
