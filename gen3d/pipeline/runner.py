"""Run a pipeline: every step once, in order, skipping those whose artefacts exist for the same inputs.

A step's *key* is the digest of its resolved inputs (:attr:`Step.inputs`) and the digests of the artefacts of
the steps it reads (:meth:`gen3d.pipeline.spec.PipelineSpec.needs`). A step is *up to date* when the state
file holds a record with that key and every artefact of the record still has its recorded digest; it is then
skipped. Otherwise it runs in its own folder ``<work_dir>/<step>/<key[:12]>/`` (a re-run with the same key,
after a crash, finds what the crashed run left there: ``gen3d fit`` resumes from its ``last.ckpt``), and its
record is written only after it succeeded. A step that fails leaves the state and every earlier artefact as
they were.

Selection: ``only`` runs one step, ``start`` a step and those after it; the steps not selected are checked,
never run, and a selected step whose upstream is not up to date is refused before any work. ``force`` runs
the selected steps even when they are up to date. ``dry_run`` computes the plan and runs nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from gen3d.errors import Gen3dError, UserInputError
from gen3d.pipeline.digest import json_digest, path_digest
from gen3d.pipeline.spec import PipelineSpec
from gen3d.pipeline.state import StepRecord, read_state, record_step

__all__ = ["Outcome", "Step", "StepContext", "run_pipeline"]


def _local_digest(location: str) -> str | None:
    return path_digest(location)


@dataclass(frozen=True)
class StepContext:
    """What a running step gets: the ``spec``, its ``key``, its own ``folder`` (created) and the artefacts
    of the steps it reads, ``upstream[step][label] -> location`` (local paths absolute)."""

    spec: PipelineSpec
    key: str
    folder: Path
    upstream: dict[str, dict[str, str]]


@dataclass(frozen=True)
class Step:
    """One step: ``inputs(spec)`` its resolved inputs (JSON values; a bad setting raises
    :class:`~gen3d.errors.UserInputError` before any step runs), ``run(context)`` does the work and returns
    its artefacts (label -> local path or URL), ``digest(location)`` the content digest of one artefact
    (None: missing)."""

    name: str
    inputs: Callable[[PipelineSpec], dict]
    run: Callable[[StepContext], dict[str, str]]
    digest: Callable[[str], str | None] = _local_digest


@dataclass
class Outcome:
    """What happened to a step: ``status`` (``ran``, ``skipped``, ``would run``, ``not selected``),
    ``reason``, ``outputs`` (label -> absolute path or URL) and the wall ``seconds`` it ran."""

    name: str
    status: str
    reason: str
    outputs: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


def _absolute(work_dir: Path, location: str) -> str:
    return location if "://" in location or Path(location).is_absolute() else str(work_dir / location)


def _relative(work_dir: Path, location) -> str:
    loc = str(location)
    if "://" in loc:
        return loc
    p = Path(loc).resolve()
    return p.relative_to(work_dir).as_posix() if p.is_relative_to(work_dir) else str(p)


def _stale(step: Step, work_dir: Path, rec: StepRecord | None, key: str | None) -> str | None:
    """Why ``rec`` is not an up-to-date record for ``key`` (None: it is)."""
    if rec is None:
        return "never ran here"
    if key is None or rec.key != key:
        return "inputs changed"
    for label, loc in rec.outputs.items():
        if step.digest(_absolute(work_dir, loc)) != rec.digests.get(label):
            return f"artefact '{label}' changed or missing"
    return None


def _selected(spec: PipelineSpec, only: str | None, start: str | None) -> tuple[str, ...]:
    for option, name in (("--step", only), ("--from", start)):
        if name is not None and name not in spec.steps:
            raise UserInputError(
                f"{option} {name}: not a step of {spec.source} (its steps: {list(spec.steps)})"
            )
    if only is not None and start is not None:
        raise UserInputError("give --step or --from, not both")
    if only is not None:
        return (only,)
    return spec.steps[spec.steps.index(start) :] if start is not None else spec.steps


def run_pipeline(
    spec: PipelineSpec,
    steps: dict[str, Step],
    only: str | None = None,
    start: str | None = None,
    force: bool = False,
    dry_run: bool = False,
    announce: Callable[[Outcome], None] | None = None,
) -> list[Outcome]:
    """Run (or with ``dry_run`` plan) ``spec`` with the step implementations ``steps``; returns one
    :class:`Outcome` per step of the pipeline, in order. ``announce`` is called before a step runs."""
    selected = _selected(spec, only, start)
    inputs = {name: steps[name].inputs(spec) for name in spec.steps}  # every setting checked before any work
    wd = spec.work_dir
    state = read_state(wd)
    current: dict[str, StepRecord] = {}
    outcomes = []
    for name in spec.steps:
        step, needs = steps[name], spec.needs(name)
        pending = [n for n in needs if n not in current]
        key = (
            None
            if pending
            else json_digest(
                {"step": name, "inputs": inputs[name], "upstream": {n: current[n].digest for n in needs}}
            )
        )
        why = _stale(step, wd, state.get(name), key)
        if name not in selected or (why is None and not force):
            if why is None:
                current[name] = state[name]
            status = "skipped" if name in selected else "not selected"
            outcome = Outcome(name, status, why or "up to date", _outputs(wd, state.get(name), why))
        elif pending and not dry_run:
            raise UserInputError(
                f"step '{name}' reads the artefacts of '{pending[0]}', which is not up to date in {wd}: "
                f"run the same command with --step {pending[0]} (or without --step/--from) first"
            )
        elif dry_run:
            reason = f"after {pending[0]}" if pending else ("forced" if why is None else why)
            outcome = Outcome(name, "would run", reason)
        else:
            outcome = Outcome(name, "ran", "forced" if why is None else why)
            if announce is not None:
                announce(outcome)
            current[name], outcome.seconds = _execute(spec, step, key, needs, current)
            outcome.outputs = _outputs(wd, current[name], None)
        outcomes.append(outcome)
    return outcomes


def _outputs(work_dir: Path, rec: StepRecord | None, why: str | None) -> dict[str, str]:
    if rec is None or why is not None:
        return {}
    return {label: _absolute(work_dir, loc) for label, loc in rec.outputs.items()}


def _execute(spec: PipelineSpec, step: Step, key, needs, current) -> tuple[StepRecord, float]:
    """Run one step in its folder and record it; a failure leaves the state file as it was."""
    wd = spec.work_dir
    folder = wd / step.name / key[:12]
    folder.mkdir(parents=True, exist_ok=True)
    upstream = {n: {lab: _absolute(wd, loc) for lab, loc in current[n].outputs.items()} for n in needs}
    t = time.perf_counter()
    try:
        produced = step.run(StepContext(spec, key, folder, upstream))
    except Gen3dError as e:
        raise Gen3dError(
            f"step '{step.name}' failed: {e}; the earlier steps' artefacts and state are kept: fix the cause "
            f"and re-run it alone: the same command with --step {step.name}"
        ) from e
    outputs = {label: _relative(wd, loc) for label, loc in produced.items()}
    digests = {}
    for label, loc in outputs.items():
        d = step.digest(_absolute(wd, loc))
        if d is None:
            raise Gen3dError(f"step '{step.name}' finished but its artefact '{label}' is missing at {loc}")
        digests[label] = d
    rec = record_step(wd, step.name, key, outputs, digests)
    return rec, time.perf_counter() - t
