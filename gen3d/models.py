"""Trained models without Lightning: build a process and a denoiser from a config, read checkpoints.

This is what inference needs (``gen3d sample``, :func:`gen3d.load_denoiser`); it imports torch and gen3d's
own components only, never Lightning, so sampling from a checkpoint works without the training stack.

Checkpoint payload schema (written by :class:`gen3d.training.module.Gen3dModule` inside a Lightning
``.ckpt`` dict):

* ``ckpt["state_dict"]``: the Lightning module's weights; the denoiser's are under ``denoiser.``;
* ``ckpt[CHECKPOINT_KEY]`` (``"gen3d"``): ``{"format": int, "config": resolved config dict,
  "ema": {"shadow": the denoiser's state dict with the EMA weights, "decay", "warmup", "num_updates"},
  "num_classes": int}``.

The stored config is enough to rebuild the denoiser: ``config["process"]`` names the process and holds its
keyword arguments, and the process decides the preconditioning
(:meth:`gen3d.processes.Process.preconditioning`).
A VP or VE checkpoint written before processes owned their preconditioning (they were trained with EDM's)
does not match the denoiser rebuilt today and gives wrong samples.
"""

from __future__ import annotations

import os
import pickle
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from gen3d.errors import CheckpointError, UserInputError

if TYPE_CHECKING:  # the components are imported where they are built, so importing this module stays light
    from gen3d.precond import Precond
    from gen3d.processes import Process

__all__ = [
    "CHECKPOINT_KEY",
    "build_denoiser",
    "build_process",
    "call_factory",
    "load_denoiser",
    "num_classes_of",
    "read_checkpoint",
]

#: Key of gen3d's own payload inside a Lightning checkpoint dict.
CHECKPOINT_KEY = "gen3d"


def call_factory(group: str, factory, *args, **kwargs):
    """``factory(*args, **kwargs)``; TypeError/ValueError become a UserInputError naming the config group."""
    try:
        return factory(*args, **kwargs)
    except UserInputError:
        raise
    except (TypeError, ValueError) as e:
        raise UserInputError(f"config group '{group}': {e}") from e


def build_process(config: dict) -> Process:
    """The process named by ``config['process']`` (kwargs passed through)."""
    from gen3d.processes import get_process

    kwargs = dict(config["process"])
    name = kwargs.pop("name")
    return call_factory("process", get_process, name, **kwargs)


def num_classes_of(config: dict) -> int:
    """Number of classes the net is conditioned on (0: unconditional)."""
    if not config["experiment"].get("class_cond"):
        return 0
    names = config["experiment"].get("class_names")
    if not names:
        raise UserInputError("experiment.class_cond is true but experiment.class_names is empty")
    return len(names)


def build_denoiser(config: dict, process: Process, num_classes: int | None = None) -> Precond:
    """Backbone from ``config['net']`` wrapped in the process's own preconditioning
    (:class:`gen3d.precond.Precond`): ``(x (B, ...), sigma (B,), cond) -> x0_hat (B, ...)``."""
    from gen3d.nets import get_backbone
    from gen3d.precond import Precond

    kwargs = dict(config["net"])
    name = kwargs.pop("name")
    nc = num_classes_of(config) if num_classes is None else num_classes
    backbone = call_factory("net", get_backbone, name, num_classes=nc, **kwargs)
    return Precond(backbone, process)


def _check_device(path: Path | str, map_location: Any) -> Any:
    """``map_location`` for torch.load: None -> ``"cpu"``; a CUDA device on a host without CUDA is refused
    here with a message about the device (torch would report it as a deserialisation error)."""
    if map_location is None:
        return "cpu"
    if isinstance(map_location, (str, torch.device)):
        try:
            device = torch.device(map_location)
        except (RuntimeError, TypeError) as e:
            raise UserInputError(f"cannot load {path}: {map_location!r} is not a torch device ({e})") from e
        if device.type == "cuda" and not torch.cuda.is_available():
            raise UserInputError(
                f"cannot load {path} onto {device}: CUDA is not available on this host; "
                "load it with map_location='cpu' (gen3d sample --device cpu)"
            )
    return map_location


def read_checkpoint(path: str | os.PathLike, map_location: Any = "cpu") -> dict:
    """``torch.load(path, weights_only=True)`` with every tensor on ``map_location`` (default CPU, also for
    a checkpoint saved on CUDA), and clear errors for missing, truncated or foreign files.

    ``path`` may be an fsspec URL string (``s3://bucket/run/last.ckpt``; :mod:`gen3d.storage`): the object is
    streamed into a temporary file (its size checked against the store's listing) and loaded the same way.
    """
    from gen3d.storage.urls import is_url

    if is_url(path):
        from gen3d.storage.transfer import exists, fetched
        from gen3d.storage.urls import redact

        url = str(path)
        if not exists(url):
            raise CheckpointError(f"no checkpoint object at {redact(url)}")
        with fetched(url, suffix=".ckpt") as local:
            return _read_local_checkpoint(Path(local), map_location, redact(url))
    return _read_local_checkpoint(Path(path), map_location, None)


def _read_local_checkpoint(path: Path, map_location: Any, shown_as: str | None) -> dict:
    """:func:`read_checkpoint` of the local file ``path``; messages name ``shown_as`` (a URL) when given."""
    shown = shown_as or path
    if not path.is_file():
        raise CheckpointError(f"no checkpoint file at {shown}")
    map_location = _check_device(shown, map_location)
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except (RuntimeError, EOFError, zipfile.BadZipFile, pickle.UnpicklingError, OSError, ValueError) as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise CheckpointError(
            f"cannot read checkpoint {shown}: {msg} (truncated, corrupt or not a .ckpt?)"
        ) from e
    if not isinstance(ckpt, dict) or CHECKPOINT_KEY not in ckpt or "state_dict" not in ckpt:
        raise CheckpointError(
            f"{shown} is not a gen3d checkpoint (no '{CHECKPOINT_KEY}' payload / state_dict)"
        )
    return ckpt


def load_denoiser(
    path: str | os.PathLike, ema: bool = True, map_location: Any = "cpu"
) -> tuple[Precond, dict, Process]:
    """Rebuild the trained denoiser from a checkpoint.

    Returns ``(denoiser, config, process)``: the denoiser (nn.Module in eval mode on ``map_location``, EMA
    weights when ``ema``), the resolved config dict saved at training time, and the process built from it.
    """
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
    shown = path if isinstance(path, str) else Path(path)
    return denoiser.to(_check_device(shown, map_location)).eval(), config, process
