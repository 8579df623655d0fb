"""``gen3d fit``: train a model from a YAML config with Lightning."""

from __future__ import annotations

import argparse

NAME = "fit"
HELP = "train a generative model from a config (shipped name like demo_points, or a YAML path)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", required=True, help="shipped config name (demo_points, ...) or a YAML path"
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="GROUP.KEY=VALUE",
        help="override a config entry, e.g. --set trainer.max_steps=100 (repeatable)",
    )
    parser.add_argument(
        "--resume",
        default=None,
        metavar="CKPT|auto",
        help="resume from a checkpoint; 'auto' uses <run dir>/checkpoints/last.ckpt if present",
    )
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: all cores)")
    parser.add_argument("--print-config", action="store_true", help="print the resolved config and exit")


def run(args: argparse.Namespace) -> int:
    import json
    import os
    from pathlib import Path

    from gen3d.config import load_config
    from gen3d.errors import UserInputError

    config = load_config(args.config, args.overrides)
    if args.print_config:
        print(json.dumps(config, indent=2))
        return 0

    import lightning as L
    import torch

    from gen3d.training.components import build_datamodule, build_module, build_trainer, run_dir_of

    threads = args.threads or config["experiment"].get("threads") or os.cpu_count() or 1
    torch.set_num_threads(int(threads))
    L.seed_everything(int(config["experiment"]["seed"]), workers=True, verbose=False)
    ckpt_path = None
    if args.resume == "auto":
        last = run_dir_of(config) / "checkpoints" / "last.ckpt"
        ckpt_path = str(last) if last.is_file() else None
    elif args.resume:
        if not Path(args.resume).is_file():
            raise UserInputError(f"--resume: no checkpoint at {args.resume}")
        ckpt_path = args.resume
    if os.environ.get("LOCAL_RANK", "0") == "0":  # not a DDP worker started by Lightning's launcher
        from gen3d.training.checkpoint import remove_stale_temp_files

        removed = remove_stale_temp_files(run_dir_of(config) / "checkpoints")
        if removed:
            print(f"gen3d fit: removed {removed} partial checkpoint file(s) left by an interrupted run")
    dm = build_datamodule(config)
    module, config = build_module(config, dm)
    trainer = build_trainer(config)
    trainer.fit(module, datamodule=dm, ckpt_path=ckpt_path)
    last = run_dir_of(config) / "checkpoints" / "last.ckpt"
    if trainer.interrupted:  # Lightning stops gracefully on Ctrl-C
        if trainer.is_global_zero:
            print(
                f"gen3d fit: interrupted at step {trainer.global_step}; continue with --resume auto "
                f"(last checkpoint: {last if last.is_file() else 'none yet'})"
            )
        return 130
    if trainer.is_global_zero and not config["trainer"]["fast_dev_run"]:
        print(f"gen3d fit: done at step {trainer.global_step}; checkpoint {last}")
    return 0
