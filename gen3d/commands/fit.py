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
        help="resume from a checkpoint; 'auto' picks the run's readable checkpoint with the highest step "
        "(last.ckpt, step*.ckpt, pre-emption and SLURM requeue checkpoints) or starts afresh if it has none",
    )
    parser.add_argument(
        "--allow-config-change",
        dest="allow_config_change",
        action="append",
        default=[],
        metavar="GROUP.KEY",
        help="on resume, accept this difference from the checkpoint's config (repeatable; a group name "
        "accepts the whole group). Stopping, logging, checkpoint and gallery settings may always change",
    )
    parser.add_argument(
        "--mirror",
        default=None,
        metavar="URL",
        help="upload the run's checkpoints/last.ckpt to URL/checkpoints/last.ckpt whenever it is rewritten "
        "(s3://bucket/runs/name, ...; each upload atomic); with --resume auto a run folder without "
        "checkpoints resumes from the mirror (a job requeued on another machine)",
    )
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: all cores)")
    parser.add_argument("--print-config", action="store_true", help="print the resolved config and exit")


def _resume_path(resume: str | None, run_dir, note, mirror: str | None = None) -> str | None:
    """The checkpoint ``--resume`` names (a path or URL; ``auto``: the run's newest readable one, else the
    ``--mirror``'s last.ckpt), or None."""
    from pathlib import Path

    from gen3d.errors import UserInputError
    from gen3d.storage.transfer import exists
    from gen3d.storage.urls import is_url, redact
    from gen3d.training.latest_checkpoint import newest_checkpoint

    if resume == "auto":
        found = newest_checkpoint(run_dir, note=note)
        if found is None and mirror and exists(_mirror_url(mirror)):
            note(f"gen3d fit: --resume auto: no checkpoint in {run_dir}, resuming from the mirror")
            return _mirror_url(mirror)
        if found is None:
            note(f"gen3d fit: --resume auto: no checkpoint in {run_dir}, starting a new run")
        return None if found is None else str(found)
    if resume:
        if not (exists(resume) if is_url(resume) else Path(resume).is_file()):
            raise UserInputError(f"--resume: no checkpoint at {redact(resume)}")
        return resume
    return None


def _mirror_url(mirror: str) -> str:
    from gen3d.storage.urls import join_url

    return join_url(mirror, "checkpoints", "last.ckpt")


def _mirror_callback(last, mirror: str | None):
    """A callback that uploads ``last`` (checkpoints/last.ckpt) to the mirror after each batch and at the
    end when it changed (rank 0 only); None without ``--mirror``. Returns ``(callback, FileMirror)``."""
    if not mirror:
        return None, None
    import lightning as L

    from gen3d.storage.mirror import FileMirror
    from gen3d.storage.transfer import exists

    exists(_mirror_url(mirror))  # a wrong bucket or endpoint fails now, not after the first checkpoint
    files = FileMirror(last, _mirror_url(mirror))

    class MirrorCheckpoint(L.Callback):
        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
            if trainer.is_global_zero:
                files.sync()

        def on_train_end(self, trainer, pl_module) -> None:
            if trainer.is_global_zero:
                files.sync()

    return MirrorCheckpoint(), files


def run(args: argparse.Namespace) -> int:
    import json
    import os

    from gen3d.config import load_config

    config = load_config(args.config, args.overrides)
    if args.print_config:
        print(json.dumps(config, indent=2))
        return 0

    from gen3d.training.components import build_datamodule, build_module, build_trainer, run_dir_of
    from gen3d.training.resume_check import check_resumable

    _seed_and_threads(config, args.threads)
    run_dir = run_dir_of(config)
    first_process = os.environ.get("LOCAL_RANK", "0") == "0"  # not a DDP worker started by Lightning

    def note(line: str) -> None:
        if first_process:
            print(line)

    if first_process:
        _remove_partial_checkpoints(run_dir, note)
    ckpt_path = _resume_path(_slurm_resume(args.resume, run_dir, note), run_dir, note, args.mirror)
    dm = build_datamodule(config)
    module, config = build_module(config, dm)
    step = None
    if ckpt_path:
        step = check_resumable(ckpt_path, config, module, args.allow_config_change)
        note(f"gen3d fit: resuming from {ckpt_path} (step {step})")
    trainer = build_trainer(config, resume_step=step)
    last = run_dir / "checkpoints" / "last.ckpt"
    callback, mirror = _mirror_callback(last, args.mirror)
    if callback is not None:
        trainer.callbacks.append(callback)  # after the checkpoint callbacks: it sees each new last.ckpt
    code = _fit(trainer, module, dm, ckpt_path, last, config)
    _note_tracking(trainer, note)
    if mirror is not None and trainer.is_global_zero:
        mirror.sync()  # a pre-emption checkpoint written just before the run stopped
        from gen3d.storage.urls import redact

        note(f"gen3d fit: mirrored {last.name} to {redact(mirror.url)} ({mirror.uploads} upload(s))")
    if code == 0 and ckpt_path and trainer.is_global_zero and not last.is_file():
        _keep_resumed(ckpt_path, last, note)
    return code


def _note_tracking(trainer, note) -> None:
    """One line saying where the run was tracked (``trainer.logger`` other than csv)."""
    from gen3d.storage.model_card import tracking_summary
    from gen3d.training.tracking import TrackingRecord

    for cb in trainer.callbacks:
        if isinstance(cb, TrackingRecord) and cb.record is not None and trainer.is_global_zero:
            note(f"gen3d fit: tracked in {tracking_summary(cb.record)}".replace("`", ""))


def _keep_resumed(ckpt_path: str, last, note) -> None:
    """A run resumed at its last step trains nothing and writes no checkpoint: the one it resumed from (a
    mirror's, another folder's) is its final state, copied to ``last`` so the run folder holds it."""
    from gen3d.storage.transfer import download, upload_file
    from gen3d.storage.urls import is_url, local_path, redact

    if is_url(ckpt_path) and local_path(ckpt_path) is None:
        download(ckpt_path, last)
    else:
        upload_file(ckpt_path, last)  # a local copy, atomic
    note(f"gen3d fit: the run was already at its end; kept {redact(ckpt_path)} as {last}")


def _seed_and_threads(config: dict, threads: int | None) -> None:
    """torch's CPU threads (``--threads``, else the config's, else every core) and Lightning's global seed."""
    import os

    import lightning as L
    import torch

    threads = threads or config["experiment"].get("threads") or os.cpu_count() or 1
    torch.set_num_threads(int(threads))
    L.seed_everything(int(config["experiment"]["seed"]), workers=True, verbose=False)


def _remove_partial_checkpoints(run_dir, note) -> None:
    from gen3d.training.checkpoint import remove_stale_temp_files

    removed = remove_stale_temp_files(run_dir / "checkpoints") + remove_stale_temp_files(run_dir)
    if removed:
        note(f"gen3d fit: removed {removed} partial checkpoint file(s) left by an interrupted run")


def _slurm_resume(resume: str | None, run_dir, note) -> str | None:
    """``--resume``, or ``auto`` for a requeued SLURM job (its run folder holds ``hpc_ckpt_*.ckpt``)."""
    from lightning.pytorch.plugins.environments import SLURMEnvironment

    if resume is None and SLURMEnvironment.detect() and any(run_dir.glob("hpc_ckpt_*.ckpt")):
        # a requeued SLURM job: Lightning would resume from its newest hpc_ckpt on its own; take the newest
        # checkpoint of any kind instead (the pre-emption last.ckpt is at the same or a later step)
        note(f"gen3d fit: SLURM requeue checkpoints in {run_dir}: resuming as with --resume auto")
        return "auto"
    return resume


def _fit(trainer, module, dm, ckpt_path: str | None, last, config: dict, prog: str = "gen3d fit") -> int:
    """``trainer.fit``; the exit status and the line that says how the run ended (done, pre-empted by a
    signal, SIGTERM before training, interrupted), prefixed with ``prog``."""
    from lightning.pytorch.plugins.environments import SLURMEnvironment
    from lightning.pytorch.utilities.exceptions import SIGTERMException

    from gen3d.training.preemption import Preempted

    try:
        trainer.fit(module, datamodule=dm, ckpt_path=ckpt_path)
    except Preempted as e:
        if trainer.is_global_zero:
            slurm = SLURMEnvironment.detect() and e.signal_name == "SIGUSR1"
            requeued = " (Lightning asked SLURM to requeue the job)" if slurm else ""
            print(
                f"{prog}: stopped by {e.signal_name} at step {e.step}{requeued}; checkpoint {e.path}; "
                "continue with the same command and --resume auto"
            )
        return int(e.code)
    except SIGTERMException:  # Lightning's own: a SIGTERM before training started (e.g. during setup)
        if trainer.is_global_zero:
            print(
                f"{prog}: stopped by SIGTERM at step {trainer.global_step} before a checkpoint could be "
                f"written; last checkpoint: {last if last.is_file() else 'none yet'}"
            )
        return 143
    if trainer.interrupted:  # Lightning stops gracefully on Ctrl-C
        if trainer.is_global_zero:
            print(
                f"{prog}: interrupted at step {trainer.global_step}; continue with --resume auto "
                f"(last checkpoint: {last if last.is_file() else 'none yet'})"
            )
        return 130
    if trainer.is_global_zero and not config["trainer"]["fast_dev_run"]:
        print(f"{prog}: done at step {trainer.global_step}; checkpoint {last}")
    return 0
