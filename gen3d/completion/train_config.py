"""Settings files of ``gen3d complete-train --config NAME|PATH``: a flat YAML mapping of the fine-tuning
settings, checked when it loads.

Shipped files live in ``gen3d.configs`` under ``completion/`` (``configs/completion/*.yaml``) and are named
by their stem (``demo``, ``pc15k_chair``); any other argument is a path. Keys and their types (every key
optional; a missing key keeps the command's default, :data:`DEFAULTS`):

=========== ======================= =============================================================
key         type                    meaning
=========== ======================= =============================================================
split       str                     the cache split whose (view, shape) pairs train the model
categories  list of str, or null    categories of the cache (null: all)
steps       int >= 1                Adam steps
batch_size  int >= 1                pairs per step
lr          float > 0               learning rate
grad_clip   float > 0               gradient-norm clip
observed    int >= 1, or null       observed slots at most per pair (null: half the points)
seed        int >= 0                seed of the pairs, the subsets and the noise
=========== ======================= =============================================================

The base checkpoint and the cache are not settings: they are the command's arguments. Unknown keys and
values of the wrong type are refused with a one-line :class:`gen3d.errors.UserInputError` naming the key.
"""

from __future__ import annotations

import importlib.resources
import math
import os
from pathlib import Path
from typing import Any

from gen3d.config import read_yaml_file
from gen3d.errors import UserInputError

__all__ = ["DEFAULTS", "KEYS", "list_train_configs", "load_train_config", "merge_flags", "train_config_path"]

#: the command's defaults, used for any key that neither the file nor a flag sets
DEFAULTS: dict[str, Any] = {
    "split": "train",
    "categories": None,
    "steps": 300,
    "batch_size": 16,
    "lr": 1e-4,
    "grad_clip": 1.0,
    "observed": None,
    "seed": 0,
}
KEYS = tuple(DEFAULTS)
_FOLDER = "completion"


def list_train_configs() -> list[str]:
    """Names of the shipped completion configs (``configs/completion/*.yaml``)."""
    root = importlib.resources.files("gen3d.configs") / _FOLDER
    return sorted(p.name[: -len(".yaml")] for p in root.iterdir() if p.name.endswith(".yaml"))


def train_config_path(name: str | os.PathLike) -> Path:
    """An existing file, else the shipped completion config of that name; UserInputError otherwise."""
    p = Path(name)
    if p.is_file():
        return p
    shipped = importlib.resources.files("gen3d.configs") / _FOLDER / f"{p.stem}.yaml"
    if str(name) == p.stem and shipped.is_file():
        return Path(str(shipped))
    raise UserInputError(
        f"no completion config file '{name}' and no shipped one of that name; shipped: {list_train_configs()}"
    )


def load_train_config(name_or_path: str | os.PathLike) -> dict[str, Any]:
    """The settings of a completion config file: :data:`DEFAULTS` with the file's keys over them, each checked
    (see the module docstring). ``categories`` comes back as a list of str or None."""
    path = train_config_path(name_or_path)
    raw = read_yaml_file(path)
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise UserInputError(f"{path}: a completion config is a mapping of {', '.join(KEYS)}")
    for key in raw:
        if key not in DEFAULTS:
            raise UserInputError(f"{path}: unknown key '{key}'; allowed keys: {', '.join(KEYS)}")
    return {**DEFAULTS, **{key: _check(path, key, value) for key, value in raw.items()}}


def merge_flags(settings: dict[str, Any], flags: dict[str, Any]) -> dict[str, Any]:
    """``settings`` with every flag that was given (not None) over it; the flags' keys are :data:`KEYS`."""
    unknown = set(flags) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"not completion settings: {sorted(unknown)}")
    return {**settings, **{k: v for k, v in flags.items() if v is not None}}


def _check(path: Path, key: str, value: Any) -> Any:
    """``value`` of ``key`` if it has the key's type and range; UserInputError naming the key otherwise."""
    bad = f"{path}: '{key}' must be"
    if key == "split":
        if not isinstance(value, str) or not value:
            raise UserInputError(f"{bad} a split name (text), got {value!r}")
        return value
    if key == "categories":
        if value is None:
            return None
        if not isinstance(value, list) or not value or not all(isinstance(c, str) and c for c in value):
            raise UserInputError(f"{bad} a non-empty list of category names or null, got {value!r}")
        return list(value)
    if key in ("lr", "grad_clip"):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
            hint = " (YAML reads 1e-4 as text: write 1.0e-4)" if isinstance(value, str) else ""
            raise UserInputError(f"{bad} a finite number > 0, got {value!r}{hint}")
        return float(value)
    least = 0 if key == "seed" else 1
    if value is None and key == "observed":
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise UserInputError(f"{bad} an integer >= {least}, got {value!r}")
    return value
