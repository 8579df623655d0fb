"""Resuming with a changed config: list what differs from the checkpoint's config, refuse unsafe changes.

A resumed run continues the stored one exactly only if everything that shapes training (data, process,
network, optimiser, precision, devices, seed) is unchanged. Keys in :data:`SAFE_ON_RESUME` only say when
to stop, how often to log / checkpoint / draw the gallery, or how fast to load data; they may change freely.
Any other change is refused unless the user names it (``gen3d fit --allow-config-change KEY``).
"""

from __future__ import annotations

import json
from typing import Any

from gen3d.errors import UserInputError

__all__ = ["SAFE_ON_RESUME", "check_resume_config", "config_changes", "format_change"]

#: Dotted keys (or whole groups) that may change on resume: stopping, logging, checkpoint and gallery
#: intervals, progress display, the experiment tracker, data-loading workers, CPU threads, where the run
#: lives, the gallery's sampler.
SAFE_ON_RESUME = frozenset(
    {
        "trainer.max_steps",
        "trainer.max_time",
        "trainer.max_epochs",
        "trainer.log_every_n_steps",
        "trainer.checkpoint_every_n_steps",
        "trainer.sample_every_n_steps",
        "trainer.sample_count",
        "trainer.sample_steps",
        "trainer.gallery_renderer",
        "trainer.gallery_timeout",
        "trainer.enable_progress_bar",
        "trainer.limit_val_batches",
        "trainer.logger",  # the experiment tracker and its settings: where metrics go, not what is trained
        "trainer.mlflow_tracking_uri",
        "trainer.mlflow_experiment",
        "trainer.wandb_project",
        "data.num_workers",
        "experiment.threads",
        "experiment.run_dir",
        "experiment.name",
        "sampler",  # used by the gallery and gen3d sample only, never by training
    }
)

_ABSENT = object()


def _flatten(node: Any, prefix: str, out: dict[str, Any]) -> None:
    if isinstance(node, dict) and (node or not prefix):
        for k in sorted(node, key=str):
            _flatten(node[k], f"{prefix}.{k}" if prefix else str(k), out)
    else:
        out[prefix] = node


def config_changes(old: dict, new: dict) -> list[tuple[str, Any, Any]]:
    """``(dotted key, old value, new value)`` for every leaf that differs, sorted by key. Nested dicts are
    compared key by key, lists as a whole; a key missing on one side has the value :func:`format_change`
    prints as ``<absent>``."""
    a: dict[str, Any] = {}
    b: dict[str, Any] = {}
    _flatten(old, "", a)
    _flatten(new, "", b)
    changes = []
    for key in sorted(set(a) | set(b)):
        va, vb = a.get(key, _ABSENT), b.get(key, _ABSENT)
        if not _same(va, vb):
            changes.append((key, va, vb))
    return changes


def _same(a: Any, b: Any) -> bool:
    if a is _ABSENT or b is _ABSENT:
        return a is b
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):  # YAML lists vs stored tuples
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, str) != isinstance(b, str):  # "1e-4" stored by an older gen3d, 0.0001 read now
        text, num = (a, b) if isinstance(a, str) else (b, a)
        try:
            return isinstance(num, int | float) and float(text) == float(num)
        except ValueError:
            return False
    return a == b


def _show(value: Any) -> str:
    if value is _ABSENT:
        return "<absent>"
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)


def format_change(key: str, old: Any, new: Any) -> str:
    """``group.key: old -> new``."""
    return f"{key}: {_show(old)} -> {_show(new)}"


def _covered(key: str, names) -> bool:
    return any(key == n or key.startswith(n + ".") for n in names)


def check_resume_config(
    old: dict, new: dict, allow: list[str] | tuple[str, ...] = (), ckpt: str = ""
) -> None:
    """Raise :class:`~gen3d.errors.UserInputError` listing every change from ``old`` (the checkpoint's config)
    to ``new`` that is neither in :data:`SAFE_ON_RESUME` nor named in ``allow`` (dotted keys or groups)."""
    allow = [str(a).strip().strip(".") for a in allow if str(a).strip()]
    refused = [
        c
        for c in config_changes(old, new)
        if not _covered(c[0], SAFE_ON_RESUME) and not _covered(c[0], allow)
    ]
    if not refused:
        return
    lines = "; ".join(format_change(*c) for c in refused)
    keys = " ".join(f"--allow-config-change {c[0]}" for c in refused)
    where = f" {ckpt}" if ckpt else ""
    raise UserInputError(
        f"the config differs from the one stored in the checkpoint{where}: {lines}. Resume with the "
        "checkpoint's settings (the run then continues exactly), start a new run (another "
        f"experiment.name), or, if the change is intended, pass {keys}"
    )
