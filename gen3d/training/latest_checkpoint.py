"""``--resume auto``: the newest readable checkpoint of a run, decided by the stored global step.

A run directory can hold ``checkpoints/last.ckpt``, periodic ``checkpoints/step*.ckpt`` files, the
pre-emption checkpoint ``gen3d fit`` writes on SIGTERM / SIGUSR1 (``checkpoints/last.ckpt``) and Lightning's
SLURM requeue checkpoints ``hpc_ckpt_<n>.ckpt`` in the run directory itself. File times say nothing reliable
(copies, restores), so the candidate with the largest stored ``global_step`` wins; on a tie a checkpoint
written at a batch end (``last.ckpt``, then ``step*.ckpt``) beats Lightning's requeue checkpoint, which is
written from inside the signal handler, possibly in the middle of a step. Unreadable files (truncated, not a
gen3d checkpoint) are skipped with a one-line note.
"""

from __future__ import annotations

import os
import pickle
import zipfile
from collections.abc import Callable
from pathlib import Path

import torch

from gen3d.errors import CheckpointError

__all__ = ["checkpoint_candidates", "newest_checkpoint", "stored_step"]


def checkpoint_candidates(run_dir: str | os.PathLike) -> list[Path]:
    """Every ``.ckpt`` of the run: ``checkpoints/*.ckpt`` and Lightning's ``hpc_ckpt_*.ckpt`` (temp files of
    interrupted writes, ``.<name>.<random>.ckpt``, are not candidates)."""
    run_dir = Path(run_dir)
    found = list((run_dir / "checkpoints").glob("*.ckpt")) + list(run_dir.glob("hpc_ckpt_*.ckpt"))
    return sorted(p for p in found if p.is_file() and not p.name.startswith("."))


def stored_step(path: str | os.PathLike) -> int:
    """The ``global_step`` stored in a gen3d checkpoint, read without loading its tensors (memory-mapped).

    Raises CheckpointError for a truncated, corrupt or foreign file."""
    from gen3d.models import CHECKPOINT_KEY

    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except (RuntimeError, EOFError, zipfile.BadZipFile, pickle.UnpicklingError, OSError, ValueError) as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise CheckpointError(f"unreadable ({msg}; truncated or corrupt?)") from e
    if not isinstance(ckpt, dict) or CHECKPOINT_KEY not in ckpt or "state_dict" not in ckpt:
        raise CheckpointError("not a gen3d checkpoint")
    step = ckpt.get("global_step")
    if isinstance(step, bool) or not isinstance(step, int):
        raise CheckpointError("no global_step stored")
    return step


def _preference(path: Path) -> int:
    if path.name.startswith("hpc_ckpt_"):
        return 0
    return 2 if path.name == "last.ckpt" else 1


def newest_checkpoint(run_dir: str | os.PathLike, note: Callable[[str], None] = print) -> Path | None:
    """The readable checkpoint of ``run_dir`` with the largest stored global step, or None when the run has
    no checkpoint file at all. ``note`` receives one line per skipped file.

    Raises CheckpointError when checkpoint files exist but none of them can be read (starting afresh would
    overwrite the run)."""
    candidates = checkpoint_candidates(run_dir)
    ranked = []
    for path in candidates:
        try:
            ranked.append((stored_step(path), _preference(path), path.name, path))
        except CheckpointError as e:
            note(f"gen3d fit: --resume auto: skipping {path}: {e}")
    if ranked:
        return max(ranked)[3]
    if candidates:
        raise CheckpointError(
            f"--resume auto: none of the {len(candidates)} checkpoint file(s) in {run_dir} can be read; "
            "remove them to start afresh, or pass --resume PATH"
        )
    return None
