"""Experiment configs: YAML files with fixed groups, defaults, ``base:`` inheritance and dotted overrides.

A config is a plain dict with the groups

============ =====================================================================================
group        content
============ =====================================================================================
experiment   name, seed, run_dir, class_cond, class_names (filled in by ``gen3d fit``), threads
data         ``type`` (``points`` | ``voxels``) and the DataModule's keyword arguments
process      ``name`` (registered in :mod:`gen3d.processes`) and its keyword arguments
net          ``name`` (registered in :mod:`gen3d.nets`), ``size`` and backbone keyword arguments
sampler      name, steps, schedule, rho, sigmas (an explicit grid or null), sigma_max / sigma_min (a late
             start, an early stop; null: the process's levels) and the sampler's options
             (``S_churn``, ``rtol``, ...; used by ``gen3d sample``, the gallery callback and ``gen3d demo``)
optim        learning rate, its warm-up and decay (none | cosine | linear, to lr_final * lr), Adam betas,
             EMA decay, gradient clipping, label dropout
trainer      max_steps, max_time (a wall-clock budget: 25m), precision, devices, checkpoint / gallery / log
             intervals, the experiment tracker (``logger``: csv | tensorboard | mlflow | wandb, and its
             settings ``mlflow_tracking_uri``, ``mlflow_experiment``, ``wandb_project``)
============ =====================================================================================

Unknown groups and unknown keys in the fixed groups are errors naming the key and the allowed keys.
``process`` and ``net`` take free keyword arguments (their factories validate them). The ``sampler`` group
takes, besides its five keys, the options of the chosen sampler (the keyword arguments of its function in
``gen3d.samplers.SAMPLERS``, e.g. ``S_churn``/``S_min``/``S_max``/``S_noise`` for ``edm_stochastic``,
``rtol``/``atol`` for ``adaptive``): name, schedule and options are checked against the sampler's signature
when the config is resolved (an option set to ``null`` is removed: the sampler's default applies).
A YAML file may start with ``base: <name or path>``: the base is loaded first and the file's groups are merged
over it (dicts recursively).
Overrides are strings ``group.key=value`` with ``value`` parsed as YAML (``trainer.max_steps=100``,
``data.categories=[chair,table]``). In files and overrides ``5e-4`` is a float (plain YAML 1.1 reads it as a
string).
"""

from __future__ import annotations

import copy
import functools
import importlib.resources
import os
from pathlib import Path
from typing import Any

from gen3d.errors import UserInputError

__all__ = [
    "DEFAULTS",
    "GROUPS",
    "SAMPLER_KEYS",
    "TRACKERS",
    "apply_overrides",
    "check_sampler_group",
    "check_tracking",
    "config_path",
    "list_configs",
    "load_config",
    "read_yaml_file",
    "resolve_config",
]

#: Default value of every key in the fixed groups (``None``: no default / filled in later).
DEFAULTS: dict[str, dict[str, Any]] = {
    "experiment": {
        "name": "run",
        "seed": 0,
        "run_dir": "runs",
        "class_cond": False,
        "class_names": None,
        "threads": None,
    },
    "data": {
        "type": "points",
        "cache_dir": None,
        "batch_size": 16,
        "num_workers": 0,
        "categories": None,
        "train_split": "train",
        "val_split": "val",
        "seed": 0,
        "max_count": None,
    },
    "process": {"name": "edm"},
    "net": {"name": "pvcnn", "size": "tiny"},
    "sampler": {
        "name": "heun",
        "steps": 18,
        "schedule": "karras",
        "rho": 7.0,
        "sigmas": None,
        "sigma_max": None,
        "sigma_min": None,
    },
    "optim": {
        "lr": 2e-4,
        "betas": [0.9, 0.999],
        "weight_decay": 0.0,
        "warmup_steps": 0,
        "lr_decay": "none",
        "lr_final": 0.0,
        "grad_clip": 1.0,
        "ema_decay": 0.999,
        "ema_warmup": True,
        "p_uncond": 0.1,
        "sigma_buckets": [-2.0, -1.0, 0.0, 1.0],
    },
    "trainer": {
        "max_steps": 1000,
        "max_time": None,
        "max_epochs": -1,
        "accelerator": "auto",
        "devices": "auto",
        "num_nodes": 1,
        "strategy": "auto",
        "precision": "auto",
        "log_every_n_steps": 10,
        "checkpoint_every_n_steps": 500,
        "sample_every_n_steps": 0,
        "sample_count": 4,
        "sample_steps": 8,
        "gallery_renderer": "auto",
        "gallery_timeout": 180.0,
        "deterministic": False,
        "enable_progress_bar": True,
        "fast_dev_run": False,
        "limit_val_batches": 0,
        # experiment tracking (metrics.csv is always written; docs/tracking.md)
        "logger": "csv",
        "mlflow_tracking_uri": None,  # null: $MLFLOW_TRACKING_URI, else sqlite in <run folder>/mlruns/
        "mlflow_experiment": None,  # null: experiment.name
        "wandb_project": None,  # null: gen3d
    },
}

#: Extra keys the data group accepts per data type (on top of the shared keys in DEFAULTS["data"]).
DATA_TYPE_KEYS: dict[str, dict[str, Any]] = {
    "points": {"n_points": 2048, "augment_rotate": False, "augment_scale": None},
    "voxels": {
        "resolution": 32,
        "kind": "solid",
        "augment_rotate": False,
        "augment_flip": [],
        "field": "occupancy",
        "tsdf_truncation": 2.0,
    },
}

GROUPS = tuple(DEFAULTS)
#: Learning-rate decays after the warm-up (``optim.lr_decay``), to ``optim.lr_final * optim.lr`` at the end.
LR_DECAYS = ("none", "cosine", "linear")
#: Keys of the sampler group that are not sampler options.
SAMPLER_KEYS = tuple(DEFAULTS["sampler"])
#: ``trainer.logger`` -> the modules that tracker needs (metrics.csv is written whatever the choice).
TRACKERS: dict[str, tuple[str, ...]] = {
    "csv": (),
    "tensorboard": ("tensorboard",),
    "mlflow": ("mlflow",),
    "wandb": ("wandb",),
}
#: what ``pip install`` brings each tracker's modules (the ``tracking`` extra holds them all)
_TRACKER_PACKAGES = {
    "tensorboard": "tensorboard",
    "mlflow": "mlflow-skinny",
    "wandb": "wandb",
    "sqlalchemy": "sqlalchemy",
    "alembic": "alembic",
}
#: settings keys of each tracker in the trainer group
_TRACKER_KEYS = {"mlflow": ("mlflow_tracking_uri", "mlflow_experiment"), "wandb": ("wandb_project",)}
_FREE_GROUPS = ("process", "net")  # kwargs checked by the component factories


def read_yaml_file(path: Path) -> Any:
    """The YAML document in the file ``path`` (None when empty); a syntax error is one line naming it."""
    import yaml

    try:
        return yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise UserInputError(f"{path}: not valid YAML ({first})") from e


def list_configs() -> list[str]:
    """Names of the configs shipped in :mod:`gen3d.configs`."""
    root = importlib.resources.files("gen3d.configs")
    return sorted(p.name[: -len(".yaml")] for p in root.iterdir() if p.name.endswith(".yaml"))


def config_path(name: str | os.PathLike) -> Path:
    """Resolve ``name``: an existing file path, else a shipped config name (``demo_points``)."""
    p = Path(name)
    if p.is_file():
        return p
    shipped = importlib.resources.files("gen3d.configs") / f"{Path(str(name)).stem}.yaml"
    if str(name) == Path(str(name)).stem and shipped.is_file():
        return Path(str(shipped))
    raise UserInputError(
        f"no config file '{name}' and no shipped config of that name; shipped: {list_configs()}"
    )


@functools.cache
def _float_loader():
    """A ``yaml.SafeLoader`` subclass (built once) that also resolves ``5e-4`` and ``1E6`` as floats."""
    import re

    import yaml

    class _Loader(yaml.SafeLoader):
        pass

    float_re = re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$")
    _Loader.add_implicit_resolver("tag:yaml.org,2002:float", float_re, list("-+0123456789"))
    return _Loader


def _yaml_load(text: str):
    """``yaml.safe_load`` that also reads ``5e-4`` and ``1E6`` as floats (YAML 1.1, and so PyYAML, wants
    a dot: ``5.0e-4``; a learning rate written the way Python writes it would otherwise be a string)."""
    import yaml

    return yaml.load(text, Loader=_float_loader())  # noqa: S506 - a SafeLoader subclass


def _read_yaml(path: Path, _seen: tuple[Path, ...] = ()) -> dict:
    import yaml

    path = path.resolve()
    if path in _seen:
        raise UserInputError(f"config inheritance cycle: {' -> '.join(map(str, _seen + (path,)))}")
    try:
        data = _yaml_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        raise UserInputError(f"config {path} is not valid YAML: {e}") from e
    if not isinstance(data, dict):
        raise UserInputError(f"config {path} must be a mapping of groups, got {type(data).__name__}")
    base = data.pop("base", None)
    if base is None:
        return data
    base_path = path.parent / base if (path.parent / str(base)).is_file() else config_path(base)
    return _merge(_read_yaml(base_path, _seen + (path,)), data)


def _merge(base: dict, over: dict) -> dict:
    """Recursive dict merge: ``over`` wins; nested dicts merge, everything else is replaced."""
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def apply_overrides(cfg: dict, overrides: list[str] | None) -> dict:
    """Apply ``group.key=value`` strings (value parsed as YAML) to a copy of ``cfg``."""
    import yaml

    cfg = copy.deepcopy(cfg)
    for item in overrides or []:
        if "=" not in item:
            raise UserInputError(
                f"override '{item}' must look like group.key=value (e.g. trainer.max_steps=100)"
            )
        key, _, raw = item.partition("=")
        parts = key.strip().split(".")
        if len(parts) < 2 or not all(parts):
            raise UserInputError(
                f"override key '{key}' must be dotted: group.key (groups: {', '.join(GROUPS)})"
            )
        try:
            value = _yaml_load(raw) if raw.strip() else None
        except yaml.YAMLError as e:
            raise UserInputError(f"override '{item}': value is not valid YAML: {e}") from e
        node = cfg
        for p in parts[:-1]:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise UserInputError(f"override '{item}': '{p}' is not a group")
        node[parts[-1]] = value
    return cfg


def resolve_config(raw: dict) -> dict:
    """Fill defaults into ``raw`` and check it; returns a new plain dict. Unknown keys raise
    UserInputError."""
    unknown = set(raw) - set(GROUPS)
    if unknown:
        raise UserInputError(f"unknown config group(s) {sorted(unknown)}; allowed groups: {list(GROUPS)}")
    cfg: dict[str, dict] = {}
    for group in GROUPS:
        given = raw.get(group) or {}
        if not isinstance(given, dict):
            raise UserInputError(f"config group '{group}' must be a mapping, got {type(given).__name__}")
        allowed = dict(DEFAULTS[group])
        if group == "data":
            dtype = given.get("type", allowed["type"])
            if dtype not in DATA_TYPE_KEYS:
                raise UserInputError(f"data.type '{dtype}' is unknown; allowed: {sorted(DATA_TYPE_KEYS)}")
            allowed.update(DATA_TYPE_KEYS[dtype])
        if group == "sampler":
            cfg[group] = check_sampler_group(given)
            continue
        if group not in _FREE_GROUPS:
            bad = sorted(set(given) - set(allowed))
            if bad:
                raise UserInputError(
                    f"unknown key(s) {', '.join(f'{group}.{k}' for k in bad)}; allowed keys in '{group}': "
                    f"{', '.join(sorted(allowed))}"
                )
        merged = copy.deepcopy(allowed)
        merged.update(copy.deepcopy(given))
        cfg[group] = merged
    for group in _FREE_GROUPS:
        if not isinstance(cfg[group].get("name"), str):
            raise UserInputError(f"config group '{group}' needs a 'name' (string)")
    _check_values(cfg)
    return cfg


def check_sampler_group(given: dict) -> dict:
    """Resolve and check a ``sampler`` group: defaults filled in, ``name`` a sampler of
    ``gen3d.samplers.SAMPLERS``, ``schedule`` one of ``gen3d.samplers.SCHEDULES``, ``steps`` >= 1,
    ``rho`` > 0, every other key an option of the named sampler (values coerced to the option's type and
    range-checked by the sampler itself, see ``gen3d.samplers.options.probe_options``); ``null`` options are
    dropped.

    Returns a new dict; raises UserInputError listing the allowed names / options.
    """
    from gen3d.samplers import SAMPLERS, SCHEDULES  # lazy: importing gen3d.config stays light
    from gen3d.samplers.options import probe_options, sampler_options

    if not isinstance(given, dict):
        raise UserInputError(f"config group 'sampler' must be a mapping, got {type(given).__name__}")
    group = copy.deepcopy(DEFAULTS["sampler"])
    group.update(copy.deepcopy(given))
    name = group["name"]
    if not isinstance(name, str) or name not in SAMPLERS:
        raise UserInputError(f"sampler.name {name!r} is unknown; allowed: {', '.join(sorted(SAMPLERS))}")
    if not isinstance(group["schedule"], str) or group["schedule"] not in SCHEDULES:
        raise UserInputError(
            f"sampler.schedule {group['schedule']!r} is unknown; allowed: {', '.join(sorted(SCHEDULES))}"
        )
    steps = group["steps"]
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise UserInputError(f"sampler.steps must be an integer >= 1, got {steps!r}")
    try:  # YAML reads 1e-3-style numbers as strings: accept numeric strings here as for the options
        rho = float("nan") if isinstance(group["rho"], bool) else float(group["rho"])
    except (TypeError, ValueError):
        rho = float("nan")
    if not 0 < rho < float("inf"):
        raise UserInputError(f"sampler.rho must be a positive finite number, got {group['rho']!r}")
    group["rho"] = rho
    group["sigmas"] = _check_sigmas(group["sigmas"], steps)
    group["sigma_max"], group["sigma_min"] = _check_levels(
        group["sigma_max"], group["sigma_min"], group["sigmas"]
    )
    options = {k: v for k, v in group.items() if k not in SAMPLER_KEYS and v is not None}
    allowed = sampler_options(name)
    bad = sorted(set(options) - set(allowed))
    if bad:
        takers = {k: [n for n in sorted(SAMPLERS) if k in sampler_options(n)] for k in bad}
        hints = [f"{k}: option of {', '.join(ns)}" for k, ns in takers.items() if ns]
        hint = f" ({'; '.join(hints)})" if hints else ""
        raise UserInputError(
            f"unknown key(s) {', '.join(f'sampler.{k}' for k in bad)} for sampler {name!r}; allowed keys in "
            f"'sampler': {', '.join(SAMPLER_KEYS)} and the options of {name!r}: "
            f"{', '.join(allowed) or 'none'}{hint}"
        )
    try:
        options = probe_options(name, options)
    except ValueError as e:
        shown = ", ".join(f"sampler.{k}={v!r}" for k, v in options.items())
        raise UserInputError(f"config group 'sampler' ({shown}): {e}") from None
    return {**{k: group[k] for k in SAMPLER_KEYS}, **options}


def _level(key: str, value) -> float | None:
    if value is None:
        return None
    try:
        level = float("nan") if isinstance(value, bool) else float(value)
    except (TypeError, ValueError):
        level = float("nan")
    if not 0 < level < float("inf"):
        raise UserInputError(f"sampler.{key} must be a positive finite number or null, got {value!r}")
    return level


def _check_levels(sigma_max, sigma_min, sigmas) -> tuple[float | None, float | None]:
    """``sampler.sigma_max`` / ``sampler.sigma_min``: None (the process's own levels) or the level the grid
    starts from, the prior drawn there (a late start), and the last level before the final denoise to 0 (an
    early stop); not together with an explicit ``sampler.sigmas``."""
    top, low = _level("sigma_max", sigma_max), _level("sigma_min", sigma_min)
    if (top is not None or low is not None) and sigmas is not None:
        raise UserInputError(
            "sampler.sigma_max / sigma_min and sampler.sigmas both set: an explicit grid has its own first "
            "and last levels; set one of them to null"
        )
    if top is not None and low is not None and not low < top:
        raise UserInputError(f"sampler.sigma_min ({low:g}) must be below sampler.sigma_max ({top:g})")
    return top, low


def _check_sigmas(sigmas, steps: int) -> list[float] | None:
    """``sampler.sigmas``: None (the grid comes from ``schedule``, ``steps``, ``rho``) or an explicit grid of
    ``steps + 1`` levels, strictly decreasing, ending with 0 (a tuned schedule or a distilled student's
    steps, written by ``gen3d distill``)."""
    from gen3d.samplers.base import check_schedule

    if sigmas is None:
        return None
    if isinstance(sigmas, (str, bytes, dict)) or not hasattr(sigmas, "__len__"):
        raise UserInputError(f"sampler.sigmas must be a list of noise levels or null, got {sigmas!r}")
    try:
        grid = check_schedule([float(v) for v in sigmas])
    except (TypeError, ValueError) as e:
        raise UserInputError(f"sampler.sigmas {list(sigmas)!r}: {e}") from None
    if grid[-1] != 0.0:
        raise UserInputError(f"sampler.sigmas must end with 0 (the denoised sample), got {grid[-1]:g}")
    if len(grid) != steps + 1:
        raise UserInputError(
            f"sampler.sigmas holds {len(grid) - 1} step(s) but sampler.steps is {steps}: set "
            f"sampler.steps={len(grid) - 1}, or sampler.sigmas=null to build a {steps}-step grid from "
            "sampler.schedule"
        )
    return grid


def _check_values(cfg: dict) -> None:
    def positive_int(group: str, key: str, allow_zero: bool = False) -> None:
        v = cfg[group][key]
        if isinstance(v, bool) or not isinstance(v, int) or v < (0 if allow_zero else 1):
            raise UserInputError(f"{group}.{key} must be an integer >= {0 if allow_zero else 1}, got {v!r}")

    positive_int("data", "batch_size")
    positive_int("trainer", "max_steps")
    for key in ("checkpoint_every_n_steps", "sample_every_n_steps", "sample_count", "log_every_n_steps"):
        positive_int("trainer", key, allow_zero=True)
    g = cfg["trainer"]["gallery_timeout"]
    if isinstance(g, bool) or not isinstance(g, (int, float)) or not g > 0:
        raise UserInputError(f"trainer.gallery_timeout must be positive seconds, got {g!r}")
    p = cfg["optim"]["p_uncond"]
    if not (isinstance(p, (int, float)) and 0.0 <= p < 1.0):
        raise UserInputError(f"optim.p_uncond must be in [0, 1), got {p!r}")
    d = cfg["optim"]["ema_decay"]
    if not (isinstance(d, (int, float)) and 0.0 <= d < 1.0):
        raise UserInputError(f"optim.ema_decay must be in [0, 1), got {d!r}")
    if not (isinstance(cfg["optim"]["lr"], (int, float)) and 0 < cfg["optim"]["lr"] < float("inf")):
        raise UserInputError(f"optim.lr must be a positive number, got {cfg['optim']['lr']!r}")
    if cfg["optim"]["lr_decay"] not in LR_DECAYS:
        raise UserInputError(
            f"optim.lr_decay must be one of {list(LR_DECAYS)}, got {cfg['optim']['lr_decay']!r}"
        )
    f = cfg["optim"]["lr_final"]
    if isinstance(f, bool) or not isinstance(f, (int, float)) or not 0.0 <= f <= 1.0:
        raise UserInputError(f"optim.lr_final (a fraction of optim.lr) must be in [0, 1], got {f!r}")
    if not isinstance(cfg["experiment"]["name"], str):
        raise UserInputError(
            f"experiment.name must be a string, got {cfg['experiment']['name']!r}: quote it "
            f'(experiment.name=\'"1e5"\' on the command line, name: "1e5" in YAML)'
        )
    if cfg["data"]["type"] == "voxels":
        from gen3d.geometry.grid_field import check_voxel_field, flip_dims

        check_voxel_field(cfg["data"]["field"], cfg["data"]["tsdf_truncation"])
        flip_dims(cfg["data"]["augment_flip"])
        _check_grid_divides(cfg["data"]["resolution"], cfg["net"])
    else:
        _check_enough_points(cfg["data"].get("n_points"), cfg["net"])
    if cfg["trainer"]["max_time"] is not None:
        from gen3d.durations import parse_duration

        parse_duration(cfg["trainer"]["max_time"], "trainer.max_time")
    edges = cfg["optim"]["sigma_buckets"]
    if not isinstance(edges, list) or sorted(edges) != edges:
        raise UserInputError(
            f"optim.sigma_buckets must be an increasing list of ln(sigma) edges, got {edges!r}"
        )
    check_tracking(cfg["trainer"])


def _installed(module: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def check_tracking(trainer: dict) -> None:
    """``trainer.logger`` and its settings: a known tracker whose packages are installed (else one line
    with the install command), settings only for the chosen tracker, names that are non-empty strings, and
    an MLflow tracking URI without credentials (user info or a query string: the config is stored in every
    checkpoint and published with the model; credentials come from MLflow's environment variables)."""
    name = trainer.get("logger")
    if not isinstance(name, str) or name not in TRACKERS:
        raise UserInputError(
            f"trainer.logger {name!r} is unknown; allowed: {', '.join(TRACKERS)} (metrics.csv is always "
            "written; the others add a tracker beside it)"
        )
    for tracker, keys in _TRACKER_KEYS.items():
        for key in keys:
            v = trainer.get(key)
            if v is None:
                continue
            if tracker != name:
                raise UserInputError(
                    f"trainer.{key} is set but trainer.logger is {name!r}: set trainer.logger={tracker} "
                    f"or trainer.{key}=null"
                )
            if not isinstance(v, str) or not v.strip():
                raise UserInputError(f"trainer.{key} must be a non-empty string or null, got {v!r}")
    project = trainer.get("wandb_project")
    if isinstance(project, str) and any(c in project for c in "/\\#?%:"):
        raise UserInputError(f"trainer.wandb_project {project!r}: a W&B project name has no / \\ # ? % :")
    uri = trainer.get("mlflow_tracking_uri")
    if isinstance(uri, str):
        from gen3d.storage.urls import redact

        if redact(uri) != uri:
            raise UserInputError(
                f"trainer.mlflow_tracking_uri {redact(uri)}: user info or a query string in the URI; the "
                "config is saved in every checkpoint, so credentials come from the environment "
                "(MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD or MLFLOW_TRACKING_TOKEN)"
            )
    modules = list(TRACKERS[name])
    if name == "mlflow" and (uri or os.environ.get("MLFLOW_TRACKING_URI") or "sqlite:").startswith("sqlite:"):
        modules += ["sqlalchemy", "alembic"]  # MLflow's SQLite store (the default: <run>/mlruns/mlflow.db)
    missing = [m for m in modules if not _installed(m)]
    if missing:
        pkgs = " ".join(_TRACKER_PACKAGES[m] for m in modules)
        raise UserInputError(
            f"trainer.logger={name} needs {', '.join(missing)}, not installed here: pip install "
            f"'gen3d[tracking]' (or pip install {pkgs})"
        )


def _net_options(net: dict, keys: tuple[str, ...]) -> dict:
    """The values of constructor arguments ``keys`` that the ``net`` group builds its backbone with: the
    class defaults, then the size preset, then the group's own keys (as ``gen3d.nets.get_backbone``)."""
    import inspect

    from gen3d.nets.registry import BACKBONES, SIZES

    defaults = inspect.signature(BACKBONES[net["name"]].__init__).parameters
    kw = {k: defaults[k].default for k in keys}
    kw.update({k: v for k, v in SIZES[net["name"]].get(net.get("size") or "", {}).items() if k in kw})
    kw.update({k: v for k, v in net.items() if k in kw})
    return kw


def _check_enough_points(n_points, net: dict) -> None:
    """The hierarchical ``pvd`` net keeps 1/stride of the points per level: refuse at load a ``data.n_points``
    below ``stride ** levels``, not at the first forward pass."""
    if net.get("name") != "pvd" or isinstance(n_points, bool) or not isinstance(n_points, int):
        return
    kw = _net_options(net, ("stride", "sa_blocks"))
    try:
        least = int(kw["stride"]) ** len(kw["sa_blocks"])
    except (TypeError, ValueError):
        return  # malformed net options: the backbone factory names them
    if n_points < least:
        raise UserInputError(
            f"data.n_points {n_points} is too few for net pvd: {len(kw['sa_blocks'])} levels of stride "
            f"{kw['stride']} need at least {least} points per shape"
        )


def _check_grid_divides(resolution, net: dict) -> None:
    """A 3D U-Net needs R divisible by ``patch_size * 2^(len(channel_mult) - 1)``: refuse at load, not at the
    first forward pass."""
    if net.get("name") != "unet3d" or isinstance(resolution, bool) or not isinstance(resolution, int):
        return
    from gen3d.nets.voxels.unet3d import resolution_factor

    kw = _net_options(net, ("patch_size", "channel_mult"))
    try:
        factor = resolution_factor(kw["patch_size"], list(kw["channel_mult"]))
    except (TypeError, ValueError):
        return  # malformed net options: the backbone factory names them
    if factor > 0 and resolution % factor:
        raise UserInputError(
            f"data.resolution {resolution} is not divisible by {factor} = net.patch_size * "
            "2^(len(net.channel_mult) - 1): change the resolution, the patch size or the levels"
        )


def load_config(name_or_path: str | os.PathLike, overrides: list[str] | None = None) -> dict:
    """Read a config (shipped name or path), apply ``base:`` inheritance and overrides, fill defaults, check.

    Returns the resolved config (plain, JSON-serialisable dict).
    """
    raw = _read_yaml(config_path(name_or_path))
    return resolve_config(apply_overrides(raw, overrides))
