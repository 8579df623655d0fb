"""The pipeline's state file: ``<work_dir>/pipeline_state.json``, one record per finished step.

A record is written only after its step finished: ``key`` (the digest of the step's inputs), ``outputs``
(label -> location; local paths relative to the work folder, so a copied work folder keeps its state),
``digests`` (label -> the artefact's digest) and ``finished`` (UTC time). Every update re-reads the file and
replaces it atomically (:func:`gen3d.atomic.atomic_write_text`) under an exclusive lock on
``<work_dir>/.pipeline_state.lock``, so steps run in parallel (Airflow tasks) do not lose each other's records
and a crash never leaves a half-written state.
"""

from __future__ import annotations

import contextlib
import datetime
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from gen3d.errors import UserInputError

__all__ = ["STATE_FILE", "StepRecord", "read_state", "record_step"]

STATE_FILE = "pipeline_state.json"
_FORMAT = 1


@dataclass(frozen=True)
class StepRecord:
    """What a finished step left: its input ``key``, ``outputs`` (label -> location), ``digests`` (label ->
    content digest) and when it ``finished``."""

    key: str
    outputs: dict[str, str]
    digests: dict[str, str]
    finished: str

    @property
    def digest(self) -> str:
        """One digest of all the step's artefacts (what downstream keys include)."""
        from gen3d.pipeline.digest import json_digest

        return json_digest(self.digests)


def read_state(work_dir: Path) -> dict[str, StepRecord]:
    """The records in ``work_dir`` (empty when the pipeline never finished a step there)."""
    path = work_dir / STATE_FILE
    if not path.is_file():
        return {}
    try:
        raw = json.loads(path.read_text())
        if raw.get("format") != _FORMAT:
            raise ValueError(f"format {raw.get('format')!r}, expected {_FORMAT}")
        return {name: StepRecord(**rec) for name, rec in raw["steps"].items()}
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise UserInputError(
            f"{path} is not a gen3d pipeline state file ({e}): move it away to start over"
        ) from e


@contextlib.contextmanager
def _locked(work_dir: Path) -> Iterator[None]:
    import fcntl

    work_dir.mkdir(parents=True, exist_ok=True)
    with open(work_dir / ".pipeline_state.lock", "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def record_step(
    work_dir: Path, step: str, key: str, outputs: dict[str, str], digests: dict[str, str]
) -> StepRecord:
    """Add (or replace) ``step``'s record in the state file, atomically; returns the record."""
    from gen3d.atomic import atomic_write_text

    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    rec = StepRecord(key, dict(outputs), dict(digests), now)
    with _locked(work_dir):
        steps = {name: asdict(r) for name, r in read_state(work_dir).items()}
        steps[step] = asdict(rec)
        text = json.dumps({"format": _FORMAT, "steps": steps}, indent=1, sort_keys=True) + "\n"
        atomic_write_text(work_dir / STATE_FILE, text)
    return rec
