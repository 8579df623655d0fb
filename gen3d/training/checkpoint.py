"""Checkpoints: atomic writes through Lightning's CheckpointIO, safe reading, and rebuilding the denoiser.

Lightning's own ``_atomic_save`` goes through an fsspec transaction whose local temp file lives in the
system temp
folder and is moved (copied across file systems, never fsynced) into place, so a kill can leave a partial
file.
:class:`AtomicCheckpointIO` writes through :func:`gen3d.atomic.atomic_path` instead: temp file in the
destination
folder, fsync, ``os.replace``.
"""

from __future__ import annotations

import os
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO

from gen3d.atomic import atomic_path
from gen3d.errors import CheckpointError
from gen3d.training.module import CHECKPOINT_KEY

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


def read_checkpoint(path: str | os.PathLike, map_location: Any = "cpu") -> dict:
    """``torch.load(path, weights_only=True)`` with clear errors for missing, truncated or foreign files."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint file at {path}")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except (RuntimeError, EOFError, zipfile.BadZipFile, pickle.UnpicklingError, OSError, ValueError) as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise CheckpointError(
            f"cannot read checkpoint {path}: {msg} (truncated, corrupt or not a .ckpt?)"
        ) from e
    if not isinstance(ckpt, dict) or CHECKPOINT_KEY not in ckpt or "state_dict" not in ckpt:
        raise CheckpointError(
            f"{path} is not a gen3d checkpoint (no '{CHECKPOINT_KEY}' payload / state_dict)"
        )
    return ckpt


def load_denoiser(path: str | os.PathLike, ema: bool = True, map_location: Any = "cpu"):
    """Rebuild the trained denoiser from a checkpoint.

    Returns ``(denoiser, config, process)``: the denoiser (nn.Module in eval mode, EMA weights when
    ``ema``), the
    resolved config dict saved at training time, and the process built from it.
    """
    from gen3d.training.components import build_denoiser, build_process, num_classes_of

    ckpt = read_checkpoint(path, map_location=map_location)
    payload = ckpt[CHECKPOINT_KEY]
    config = payload["config"]
    process = build_process(config)
    denoiser = build_denoiser(config, process, num_classes=num_classes_of(config))
    if ema:
        state = payload["ema"]["shadow"]
    else:
        prefix = "denoiser."
        state = {k[len(prefix) :]: v for k, v in ckpt["state_dict"].items() if k.startswith(prefix)}
    try:
        denoiser.load_state_dict(state)
    except RuntimeError as e:
        raise CheckpointError(
            f"checkpoint {path} does not match the network its config describes: {e}"
        ) from e
    return denoiser.to(map_location).eval(), config, process
