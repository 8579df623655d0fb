"""The pipeline file (``gen3d pipeline <pipeline.yaml>``): read, check and complete with defaults.

A pipeline file is a YAML mapping with ``work_dir`` (a local folder for the artefacts and the state file),
an optional ``steps`` list (a subset of :data:`STEPS`, in that order; default all of them) and one section per
step. Every key is checked when the file loads: an unknown key, an unknown step, a value of the wrong type or
a missing input is one :class:`~gen3d.errors.UserInputError` line naming the file and the key. What a step
does with its section is up to the step (``gen3d/commands/_pipeline_steps.py``); this module only knows the
keys, their types and defaults, and which steps read which others' artefacts.
"""

from __future__ import annotations

import copy
import importlib.resources
import os
from dataclasses import dataclass
from pathlib import Path

from gen3d.config import read_yaml_file
from gen3d.errors import UserInputError

__all__ = [
    "STEPS",
    "NEEDS",
    "OPTIONAL_NEEDS",
    "PipelineSpec",
    "list_pipelines",
    "load_pipeline",
    "pipeline_path",
]

#: the steps in the order they run
STEPS = ("prepare", "fit", "sample", "evaluate", "render", "export", "publish")
#: the steps whose artefacts a step reads (they must be in the pipeline too)
NEEDS: dict[str, tuple[str, ...]] = {
    "prepare": (),
    "fit": ("prepare",),
    "sample": ("prepare", "fit"),
    "evaluate": ("prepare", "sample"),
    "render": ("sample",),
    "export": ("sample",),
    "publish": ("fit",),
}
#: artefacts a step uses when their step is in the pipeline (publish: the scores and the gallery picture)
OPTIONAL_NEEDS: dict[str, tuple[str, ...]] = {"publish": ("evaluate", "render")}

_TOP = ("work_dir", "steps", *STEPS)
_INT, _STR, _LIST, _DICT = "an integer", "a string", "a list of strings", "a mapping"
#: per step: key -> (type, default); a default of ``...`` marks a key the step needs
_SECTIONS: dict[str, dict[str, tuple[str, object]]] = {
    "prepare": {
        "synth": (_DICT, None),
        "layout": (_STR, None),
        "root": (_STR, None),
        "points": (_INT, 2048),
        "voxels": (_INT, 0),
        "normalize": (_STR, "bbox"),
        "workers": (_INT, 1),
    },
    "fit": {"config": (_STR, ...), "max_steps": (_INT, None), "set": (_LIST, []), "mirror": (_STR, None)},
    "sample": {"per_class": (_INT, 4), "seed": (_INT, 0), "sampler": (_STR, None), "steps": (_INT, None)},
    "evaluate": {"metrics": (_STR, None), "bootstrap": (_INT, 1000)},
    "render": {},
    "export": {},
    "publish": {"registry": (_STR, ...), "name": (_STR, ...)},
}
_SYNTH = {"per_category": (_INT, 40), "categories": (_LIST, None)}


@dataclass(frozen=True)
class PipelineSpec:
    """A checked pipeline: ``source`` (the file it came from), ``work_dir`` (absolute, local), ``steps`` (in
    order) and ``sections`` (step -> its keys, defaults filled in)."""

    source: str
    work_dir: Path
    steps: tuple[str, ...]
    sections: dict[str, dict]

    def section(self, step: str) -> dict:
        """A copy of ``step``'s settings."""
        return copy.deepcopy(self.sections[step])

    def needs(self, step: str) -> tuple[str, ...]:
        """The steps of this pipeline whose artefacts ``step`` reads."""
        return NEEDS[step] + tuple(s for s in OPTIONAL_NEEDS.get(step, ()) if s in self.steps)


def list_pipelines() -> list[str]:
    """Names of the pipelines shipped in ``gen3d.configs`` (``configs/pipelines/*.yaml``)."""
    root = importlib.resources.files("gen3d.configs") / "pipelines"
    return sorted(p.name[: -len(".yaml")] for p in root.iterdir() if p.name.endswith(".yaml"))


def pipeline_path(name: str | os.PathLike) -> Path:
    """An existing file, else the shipped pipeline of that name (``demo``)."""
    p = Path(name)
    if p.is_file():
        return p
    shipped = importlib.resources.files("gen3d.configs") / "pipelines" / f"{p.stem}.yaml"
    if str(name) == p.stem and shipped.is_file():
        return Path(str(shipped))
    raise UserInputError(
        f"no pipeline file '{name}' and no shipped pipeline of that name: {list_pipelines()}"
    )


def load_pipeline(
    name_or_path: str | os.PathLike, work_dir: str | None = None, registry: str | None = None
) -> PipelineSpec:
    """Read and check a pipeline file; ``work_dir`` and ``registry`` (``publish.registry``) replace the
    file's values when given. Relative work folders are relative to the current directory."""
    path = pipeline_path(name_or_path)
    raw = read_yaml_file(path)
    if not isinstance(raw, dict):
        raise UserInputError(f"{path}: a pipeline file is a mapping with work_dir, steps and step sections")
    _check_keys(path, "the pipeline", raw, _TOP)
    steps = _check_steps(path, raw.get("steps", list(STEPS)))
    for step in STEPS:
        if raw.get(step) is not None and step not in steps:
            raise UserInputError(f"{path}: section '{step}' given but '{step}' is not in steps {list(steps)}")
    sections = {s: _section(path, s, raw.get(s)) for s in steps}
    if registry is not None and "publish" in sections:
        sections["publish"]["registry"] = registry
    if "publish" in sections and "://" not in sections["publish"]["registry"]:
        sections["publish"]["registry"] = str(Path(sections["publish"]["registry"]).expanduser().resolve())
    _check_inputs(path, sections)
    wd = work_dir if work_dir is not None else raw.get("work_dir")
    return PipelineSpec(str(path), _work_dir(path, wd), steps, sections)


def _check_keys(path: Path, where: str, got: dict, known) -> None:
    for k in got:
        if k not in known:
            what = "step" if where == "the pipeline" and k not in ("work_dir", "steps") else "key"
            raise UserInputError(f"{path}: unknown {what} '{k}' in {where} (known: {', '.join(known)})")


def _check_steps(path: Path, steps) -> tuple[str, ...]:
    if not isinstance(steps, list) or not steps or not all(isinstance(s, str) for s in steps):
        raise UserInputError(f"{path}: steps must be a non-empty list of step names from {list(STEPS)}")
    for s in steps:
        if s not in STEPS:
            raise UserInputError(f"{path}: unknown step '{s}' in steps (known: {', '.join(STEPS)})")
    if len(set(steps)) != len(steps) or list(steps) != [s for s in STEPS if s in steps]:
        raise UserInputError(f"{path}: steps must name each step once, in the order {list(STEPS)}")
    for s in steps:
        missing = [n for n in NEEDS[s] if n not in steps]
        if missing:
            raise UserInputError(f"{path}: step '{s}' reads the artefacts of {missing}: add them to steps")
    return tuple(steps)


def _typed(path: Path, where: str, value, kind: str):
    ok = {
        _INT: isinstance(value, int) and not isinstance(value, bool),
        _STR: isinstance(value, str) and bool(value),
        _LIST: isinstance(value, list) and all(isinstance(v, str) for v in value),
        _DICT: isinstance(value, dict),
    }[kind]
    if not ok:
        raise UserInputError(f"{path}: {where} must be {kind}, got {value!r}")
    return value


def _fill(path: Path, where: str, raw, schema: dict) -> dict:
    raw = {} if raw is None else raw
    if not isinstance(raw, dict):
        raise UserInputError(f"{path}: {where} must be a mapping, got {raw!r}")
    _check_keys(path, where, raw, tuple(schema))
    out = {}
    for key, (kind, default) in schema.items():
        value = raw.get(key)
        if value is None and default is ...:
            raise UserInputError(f"{path}: {where} needs '{key}' ({kind})")
        out[key] = copy.deepcopy(default) if value is None else _typed(path, f"{where}.{key}", value, kind)
    return out


def _section(path: Path, step: str, raw) -> dict:
    out = _fill(path, step, raw, _SECTIONS[step])
    if step == "prepare" and out["synth"] is not None:
        out["synth"] = _fill(path, "prepare.synth", out["synth"], _SYNTH)
    return out


def _check_inputs(path: Path, sections: dict) -> None:
    """The inputs that exist outside the file: the collection, the training config, the model name."""
    prep = sections.get("prepare")
    if prep is not None:
        if (prep["synth"] is None) == (prep["root"] is None):
            raise UserInputError(
                f"{path}: prepare needs either synth (the embedded synthetic collection) or layout + root"
            )
        if prep["root"] is not None:
            if prep["layout"] is None:
                raise UserInputError(f"{path}: prepare.root needs prepare.layout (e.g. shapenet, pc15k)")
            if not Path(prep["root"]).expanduser().is_dir():
                raise UserInputError(f"{path}: prepare.root: no folder {prep['root']}")
        for key in ("points", "workers"):
            if prep[key] < 1:
                raise UserInputError(f"{path}: prepare.{key} must be >= 1, got {prep[key]}")
        if prep["synth"] is not None:
            _check_synth(path, prep["synth"])
    if "fit" in sections:
        from gen3d.config import config_path

        config_path(sections["fit"]["config"])
        if sections["fit"]["mirror"] is not None:
            sections["fit"]["mirror"] = _check_mirror(path, sections["fit"]["mirror"])
    if "publish" in sections:
        from gen3d.storage.registry import check_name

        check_name(sections["publish"]["name"])


def _check_mirror(path: Path, mirror: str) -> str:
    """``fit.mirror``: a URL (``s3://bucket/runs/demo``) or a folder (made absolute) whose fsspec
    implementation is installed and that carries no credentials (those come from the environment)."""
    from gen3d.storage.filesystem import open_fs
    from gen3d.storage.urls import is_url, local_path, redact

    if not is_url(mirror):
        return str(Path(mirror).expanduser().resolve())
    if redact(mirror) != mirror:
        raise UserInputError(
            f"{path}: fit.mirror {redact(mirror)}: user info or a query string in the URL; credentials come "
            "from the environment (AWS_ACCESS_KEY_ID, AWS_PROFILE, ...), never from the pipeline file"
        )
    lp = local_path(mirror)
    if lp is not None:
        return str(lp)
    try:
        open_fs(mirror)  # no request: a missing fsspec implementation fails here, a bucket when fit starts
    except UserInputError as e:
        raise UserInputError(f"{path}: fit.mirror: {e}") from e
    return mirror.rstrip("/")


def _check_synth(path: Path, synth: dict) -> None:
    from gen3d.datasets.synth import CATEGORIES  # type: ignore[import-not-found]

    if synth["per_category"] < 1:
        raise UserInputError(f"{path}: prepare.synth.per_category must be >= 1, got {synth['per_category']}")
    unknown = [c for c in synth["categories"] or () if c not in CATEGORIES]
    if unknown:
        raise UserInputError(
            f"{path}: prepare.synth.categories: {unknown} are not synthetic categories "
            f"({', '.join(CATEGORIES)})"
        )


def _work_dir(path: Path, work_dir) -> Path:
    if not isinstance(work_dir, str) or not work_dir:
        raise UserInputError(
            f"{path}: work_dir (a local folder for the artefacts) is missing; or give --work-dir"
        )
    if "://" in work_dir and not work_dir.startswith("file://"):
        raise UserInputError(
            f"{path}: work_dir must be a local folder, got {work_dir} (the registry may be a URL; a "
            "remote work folder needs URL-capable prepare/render/export outputs, docs/storage.md section 7)"
        )
    return Path(work_dir.removeprefix("file://")).expanduser().resolve()
