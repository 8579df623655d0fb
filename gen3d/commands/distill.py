"""``gen3d distill``: a few-step sampler for a trained model, written as a checkpoint ``gen3d sample`` uses.

Two methods (both write ``<out>/checkpoints/last.ckpt`` and ``<out>/distill.json``):

* ``trajectory`` (training): a student initialised from the teacher learns to follow the teacher's ODE
  trajectories with one Euler step per level of its own grid (:mod:`gen3d.trajectories`,
  :mod:`gen3d.training.distill`); Lightning like ``gen3d fit`` (atomic checkpoints, ``--resume auto``,
  pre-emption), the teacher's trajectories cached in ``<out>/trajectories.npz``.
* ``schedule`` (no training): the teacher's weights with a ``--steps``-step grid fitted to its own ODE paths
  by dynamic programming (:mod:`gen3d.samplers.tuned_schedule`).
"""

from __future__ import annotations

import argparse

NAME = "distill"
HELP = "make a few-step sampler from a trained model (a distilled student or a tuned sigma grid)"

METHODS = ("trajectory", "schedule")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ckpt", required=True, help="teacher checkpoint (gen3d fit)")
    parser.add_argument(
        "--out", required=True, help="output folder; the student is <out>/checkpoints/last.ckpt"
    )
    parser.add_argument(
        "--steps", type=int, required=True, help="sampling steps of the result (1, 2, 4, ...)"
    )
    parser.add_argument("--method", choices=METHODS, default="trajectory", help="(default: trajectory)")
    parser.add_argument(
        "--budget",
        default=None,
        metavar="30m",
        help="wall-clock budget of the whole distillation, teacher trajectories included (90s, 30m, 1.5h); "
        "training stops when it is spent (or at --max-steps). With --resume the training time already done "
        "counts against it (the checkpoint restores it), so give the total you want, not the extra",
    )
    parser.add_argument("--max-steps", type=int, default=2000, help="training steps at most (trajectory)")
    parser.add_argument(
        "--pairs", type=int, default=1024, help="teacher trajectories to train on (trajectory)"
    )
    parser.add_argument(
        "--val-pairs", type=int, default=64, help="held-out teacher trajectories (trajectory)"
    )
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-4, help="student learning rate (trajectory)")
    parser.add_argument("--ema-decay", type=float, default=0.995, help="student EMA decay (trajectory)")
    parser.add_argument(
        "--sigma-end",
        type=float,
        default=0.02,
        help="the student's levels are geometric from sigma_max toward this level, then 0 (trajectory)",
    )
    parser.add_argument(
        "--teacher-steps",
        type=int,
        default=None,
        help="teacher ODE steps (default: the checkpoint's sampler.steps; its sampler must be euler, heun or "
        "dpmpp_2m)",
    )
    parser.add_argument("--shapes", type=int, default=16, help="ODE paths the grid is fitted to (schedule)")
    parser.add_argument("--candidates", type=int, default=40, help="candidate steps searched (schedule)")
    parser.add_argument("--solver", default="heun", help="sampler the grid is fitted for (schedule)")
    parser.add_argument("--seed", type=int, default=1_000_000, help="first seed of the teacher's prior draws")
    parser.add_argument("--resume", default=None, metavar="CKPT|auto", help="resume a trajectory run")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: all cores)")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda if available)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def parse_budget(text: str | None) -> float | None:
    """``"90s"``, ``"30m"``, ``"1.5h"`` or plain seconds -> seconds (None: no budget)."""
    from gen3d.durations import parse_duration

    return None if text is None else parse_duration(text, "--budget")


def _check_args(args: argparse.Namespace) -> float | None:
    from gen3d.errors import UserInputError

    for name in ("steps", "max_steps", "pairs", "val_pairs", "batch_size", "shapes", "candidates"):
        value = getattr(args, name)
        if value < 1:
            raise UserInputError(f"--{name.replace('_', '-')} must be >= 1, got {value}")
    if args.method == "trajectory" and args.batch_size > args.pairs:
        raise UserInputError(f"--batch-size {args.batch_size} exceeds --pairs {args.pairs}")
    if args.method == "schedule" and args.steps > args.candidates:
        raise UserInputError(f"--steps {args.steps} exceeds --candidates {args.candidates}")
    for name in ("lr", "sigma_end"):
        if not getattr(args, name) > 0:
            raise UserInputError(f"--{name.replace('_', '-')} must be > 0, got {getattr(args, name)}")
    if not 0 <= args.ema_decay < 1:
        raise UserInputError(f"--ema-decay must be in [0, 1), got {args.ema_decay}")
    return parse_budget(args.budget)


def run(args: argparse.Namespace) -> int:
    import os
    import time

    import torch

    from gen3d.models import load_denoiser

    started = time.monotonic()
    budget = _check_args(args)
    torch.set_num_threads(int(args.threads or os.cpu_count() or 1))
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    teacher, config, process = load_denoiser(args.ckpt, ema=True, map_location=device)
    if args.method == "schedule":
        from gen3d.commands._distill_schedule import run_schedule

        return run_schedule(args, teacher, config, process, device)
    from gen3d.commands._distill_trajectory import run_trajectory

    return run_trajectory(args, teacher, config, process, device, budget, started)
