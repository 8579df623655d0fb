"""Before resuming: the checkpoint must belong to the run the config describes.

Refuses (with the list of differences) a config that changed anything but the keys safe to change on
resume (:mod:`gen3d.training.config_diff`), and a checkpoint whose weights do not fit the network the
config builds (which Lightning would report as a raw ``load_state_dict`` traceback).
"""

from __future__ import annotations

import os

from gen3d.errors import CheckpointError, UserInputError
from gen3d.training.checkpoint import read_checkpoint
from gen3d.training.config_diff import check_resume_config

__all__ = ["check_resumable"]


def _resolved(stored: dict) -> dict:
    """The stored config with today's defaults filled in (keys added to gen3d after the checkpoint was
    written then compare equal to their defaults); as stored when it no longer resolves."""
    from gen3d.config import resolve_config

    try:
        return resolve_config(stored)
    except (UserInputError, KeyError, TypeError):
        return stored


def _network_mismatch(stored: dict, built: dict, limit: int = 3) -> list[str]:
    problems = []
    missing = [k for k in built if k not in stored]
    unexpected = [k for k in stored if k not in built]
    shapes = [k for k in built if k in stored and tuple(stored[k].shape) != tuple(built[k].shape)]
    for k in shapes[:limit]:
        problems.append(
            f"{k}: {tuple(stored[k].shape)} in the checkpoint, {tuple(built[k].shape)} in the config"
        )
    if missing:
        problems.append(f"{len(missing)} weight(s) missing from the checkpoint (e.g. {missing[0]})")
    if unexpected:
        problems.append(f"{len(unexpected)} weight(s) the config's network lacks (e.g. {unexpected[0]})")
    return problems


def check_resumable(
    path: str | os.PathLike, config: dict, module, allow: list[str] | tuple[str, ...] = ()
) -> int:
    """Check that ``module`` (built from the resolved ``config``) can resume from the checkpoint at ``path``.

    ``allow``: dotted keys or groups the user accepts as changed. Returns the checkpoint's global step.
    Raises UserInputError for a refused config change, CheckpointError for an unreadable checkpoint or one
    whose weights do not fit the network."""
    from gen3d.models import CHECKPOINT_KEY

    ckpt = read_checkpoint(path)
    stored = ckpt[CHECKPOINT_KEY].get("config") or {}
    check_resume_config(_resolved(stored), config, allow, ckpt=str(path))
    problems = _network_mismatch(ckpt["state_dict"], module.state_dict())
    if problems:
        raise CheckpointError(
            f"checkpoint {path} holds another network than the config builds: {'; '.join(problems)}"
        )
    return int(ckpt.get("global_step", 0))
