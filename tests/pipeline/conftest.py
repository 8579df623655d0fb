"""Pipeline fixtures: the shipped toy pipeline (``gen3d pipeline demo``) run once, in-process, into a bucket
of the moto S3 server that ``tests/storage`` starts (its fixtures are imported, not copied).

Every test of this folder is in the xdist group ``pipeline`` (one worker runs the toy pipeline once per
session); tests that change a work folder work on a copy of the session's (:func:`copy_work`): the state
file keeps local artefacts relative to the work folder, so a copy is a complete pipeline of its own.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.storage.conftest import run_cli, s3, s3_env, s3_server  # noqa: F401  (fixtures reused as they are)

_ROW = re.compile(
    r"^  (prepare|fit|sample|evaluate|render|export|publish)\s+(ran|skipped|would run|not selected) "
)


@dataclass(frozen=True)
class ToyRun:
    """The session's pipeline run: its ``work_dir``, ``registry`` URL and the printed ``text``."""

    work_dir: Path
    registry: str
    text: str


def new_bucket(s3: dict) -> str:  # noqa: F811  (the s3 environment fixture's value)
    """A new, empty bucket on the moto server; returns ``s3://<name>``."""
    from gen3d.storage.filesystem import open_fs

    name = f"gen3d-pipeline-{os.getpid()}-{uuid.uuid4().hex[:12]}"
    fs, _ = open_fs(f"s3://{name}")
    fs.mkdir(name)
    return f"s3://{name}"


def statuses(text: str) -> dict[str, str]:
    """Step -> status from the summary (or plan) that ``gen3d pipeline`` printed last in ``text``."""
    last = text.rsplit("=== gen3d pipeline: ", 1)[-1]
    return {m.group(1): m.group(2) for m in map(_ROW.match, last.splitlines()) if m}


@contextlib.contextmanager
def torch_threads_kept():
    """Restore torch's CPU thread count afterwards: an in-process ``gen3d fit`` sets it to every core, and
    later tests of this worker compare in-process results with subprocesses that run on one thread."""
    import torch

    n = torch.get_num_threads()
    try:
        yield
    finally:
        torch.set_num_threads(n)


def pipeline(args: list[str], capsys) -> tuple[int, str, str]:
    """``gen3d pipeline <args>`` in-process: (exit status, stdout, stderr)."""
    from gen3d.cli import main

    capsys.readouterr()
    with torch_threads_kept():
        rc = main(["pipeline", *args])
    out = capsys.readouterr()
    return rc, out.out, out.err


def copy_work(run: ToyRun, tmp_path: Path) -> Path:
    """A copy of the session's work folder (artefacts and state)."""
    dst = tmp_path / "work"
    shutil.copytree(run.work_dir, dst)
    return dst


@pytest.fixture(scope="session")
def toy_run(s3, tmp_path_factory) -> ToyRun:  # noqa: F811
    """``gen3d pipeline demo`` into ``s3://<new bucket>/registry`` (the shipped toy pipeline, ~25 s CPU)."""
    from gen3d.cli import main

    work = tmp_path_factory.mktemp("pipeline") / "work"
    registry = new_bucket(s3) + "/registry"
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), torch_threads_kept():
        rc = main(["pipeline", "demo", "--work-dir", str(work), "--registry", registry])
    assert rc == 0, buf.getvalue()[-3000:]
    return ToyRun(work, registry, buf.getvalue())


__all__ = ["ToyRun", "copy_work", "new_bucket", "pipeline", "run_cli", "s3_env", "statuses"]
