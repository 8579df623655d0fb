"""Checkpoints during training: atomic writes through Lightning's CheckpointIO and stale temp-file cleanup.

Reading checkpoints and rebuilding the denoiser live in the Lightning-free :mod:`gen3d.models`;
``read_checkpoint`` and ``load_denoiser`` are re-exported here for existing callers.

Lightning's own ``_atomic_save`` goes through an fsspec transaction whose local temp file lives in the system
temp folder and is moved (copied across file systems, never fsynced) into place, so a kill can leave a partial
file. :class:`AtomicCheckpointIO` writes through :func:`gen3d.atomic.atomic_path` instead: temp file in the
destination folder, fsync, ``os.replace``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO

from gen3d.atomic import atomic_path
from gen3d.models import load_denoiser, read_checkpoint

__all__ = ["AtomicCheckpointIO", "load_denoiser", "read_checkpoint", "remove_stale_temp_files"]


class AtomicCheckpointIO(TorchCheckpointIO):
    """CheckpointIO that never leaves a half-written ``.ckpt`` and loads with ``weights_only=True``."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path, storage_options: Any | None = None) -> None:
        if storage_options is not None:
            raise TypeError("AtomicCheckpointIO takes no storage_options")
        with atomic_path(path) as tmp:
            torch.save(checkpoint, tmp)

    def load_checkpoint(
        self, path, map_location: Any | None = None, weights_only: bool | None = None
    ) -> dict:
        return read_checkpoint(path, map_location=map_location if map_location is not None else "cpu")


def remove_stale_temp_files(dirpath: str | os.PathLike) -> int:
    """Delete temp files (``.<name>.ckpt.<random>.ckpt``) that a killed process left in ``dirpath``.

    Only call this when no process is writing checkpoints there (at the start of a run). Returns the count.
    """
    d = Path(dirpath)
    if not d.is_dir():
        return 0
    stale = [p for p in d.glob(".*.ckpt.*.ckpt") if p.is_file()]
    for p in stale:
        p.unlink(missing_ok=True)
    return len(stale)
