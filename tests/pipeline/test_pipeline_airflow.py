"""The Airflow DAG (``gen3d/pipeline/airflow_dag.py``): its copy of the steps matches gen3d's, its task
script passes the settings to ``gen3d pipeline --step`` unchanged, the DAG has one task per step with the
dependencies and retries, and ``airflow dags test gen3d_pipeline`` runs the toy pipeline into a bucket of the
loopback S3 server.

Airflow is not installed in the project's environment (its pins clash with the training stack); it lives in
its own venv, named by ``GEN3D_AIRFLOW_VENV`` (``make airflow-test`` creates ``.venv-airflow`` and sets it).
Without that variable the Airflow tests are skipped, unless Airflow is importable here (then the DAG's
structure is checked in-process); with it, a venv without ``bin/airflow`` is an error, not a skip.
``docs/pipeline.md`` section 5 has the commands."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import gen3d.pipeline
from gen3d.pipeline import spec
from tests.pipeline.conftest import new_bucket, pipeline, s3_env, statuses

pytestmark = pytest.mark.xdist_group("pipeline")
DAG_FILE = Path(gen3d.pipeline.__file__).parent / "airflow_dag.py"
#: the Airflow venv (``.venv-airflow`` under ``make airflow-test``); unset: the Airflow tests skip
VENV_VAR = "GEN3D_AIRFLOW_VENV"


def _literals() -> dict:
    """The module-level constants of the DAG file, read without importing it (no Airflow here)."""
    tree = ast.parse(DAG_FILE.read_text())
    out = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                out[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                pass
    return out


def _airflow_venv() -> Path | None:
    """The Airflow venv named by ``GEN3D_AIRFLOW_VENV`` (checked), or None when the variable is unset."""
    value = os.environ.get(VENV_VAR)
    if not value:
        return None
    venv = Path(value).resolve()
    if not (venv / "bin" / "airflow").is_file() or not (venv / "bin" / "python").is_file():
        pytest.fail(f"{VENV_VAR}={value}: no bin/airflow and bin/python there (make airflow-test creates it)")
    return venv


def _clean_env(base: dict) -> dict:
    """``base`` without any Airflow setting of the caller's (a real deployment's home, database, ...)."""
    return {k: v for k, v in base.items() if not k.startswith("AIRFLOW")}


def test_the_dag_knows_the_same_steps_as_gen3d():
    lit = _literals()
    assert (
        lit["STEPS"] == spec.STEPS
        and lit["NEEDS"] == spec.NEEDS
        and lit["OPTIONAL_NEEDS"] == spec.OPTIONAL_NEEDS
    )


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, ["pipeline", "my pipe.yaml", "--step", "fit"]),
        (
            {"GEN3D_WORK_DIR": "/w d", "GEN3D_REGISTRY": "s3://b/r"},
            ["pipeline", "my pipe.yaml", "--step", "fit", "--work-dir", "/w d", "--registry", "s3://b/r"],
        ),
    ],
)
def test_the_task_script_passes_the_settings_as_arguments(tmp_path, env, expected):
    fake = tmp_path / "gen3d"
    fake.write_text('#!/usr/bin/env bash\nprintf "%s\\n" "$@"\n')
    fake.chmod(0o755)
    base = {
        "PATH": "/usr/bin:/bin",
        "GEN3D_BIN": str(fake),
        "GEN3D_PIPELINE": "my pipe.yaml",
        "GEN3D_STEP": "fit",
    }
    got = subprocess.run(
        ["bash", "-c", _literals()["COMMAND"]],
        env={**base, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    assert got.stdout.splitlines() == expected


#: builds the DAG of the file argv[1] with the settings (JSON) argv[2] and prints what the test checks; run
#: by the Python that has Airflow (this one, or the Airflow venv's)
_SUMMARY = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("gen3d_pipeline_dag", sys.argv[1])
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
dag = mod.build_dag(json.loads(sys.argv[2]))
print(json.dumps({
    "dag_id": dag.dag_id,
    "upstream": {t: sorted(task.upstream_task_ids) for t, task in dag.task_dict.items()},
    "retries": {t: task.retries for t, task in dag.task_dict.items()},
    "env": {t: dict(task.env) for t, task in dag.task_dict.items()},
}))
"""


def test_the_dag_has_one_task_per_step_with_retries(tmp_path):
    pipe = tmp_path / "p.yaml"
    pipe.write_text("steps: [prepare, fit, sample, evaluate, publish]\n")
    settings = {"GEN3D_PIPELINE": str(pipe), "GEN3D_RETRIES": "3", "GEN3D_BIN": "/x/gen3d"}
    venv = _airflow_venv()
    if venv is not None:
        python = str(venv / "bin" / "python")
    else:
        pytest.importorskip("airflow", reason=f"no Airflow here and {VENV_VAR} unset (make airflow-test)")
        python = sys.executable
    got = subprocess.run(
        [python, "-c", _SUMMARY, str(DAG_FILE), json.dumps(settings)],
        env={**_clean_env(dict(os.environ)), "AIRFLOW_HOME": str(tmp_path / "home")},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert got.returncode == 0, got.stderr[-3000:]
    dag = json.loads(got.stdout.strip().splitlines()[-1])
    assert dag["dag_id"] == "gen3d_pipeline"
    assert dag["upstream"] == {
        "prepare": [],
        "fit": ["prepare"],
        "sample": ["fit", "prepare"],
        "evaluate": ["prepare", "sample"],
        "publish": ["evaluate", "fit"],
    }
    assert set(dag["retries"].values()) == {3}
    assert dag["env"]["fit"]["GEN3D_STEP"] == "fit" and dag["env"]["fit"]["GEN3D_BIN"] == "/x/gen3d"


@pytest.mark.slow
def test_airflow_dags_test_runs_the_toy_pipeline_into_a_bucket(s3, tmp_path, capsys):
    """``airflow dags test gen3d_pipeline`` (SQLite metadata database in a temporary AIRFLOW_HOME, no
    scheduler) runs the seven steps of the shipped toy pipeline through the project's ``gen3d`` executable,
    publishing into a bucket of the loopback S3 server; then every step's artefact is checked against the
    state file the tasks wrote (a dry run that re-hashes each one, the registry's manifest included)."""
    venv = _airflow_venv()
    if venv is None:
        pytest.skip(f"{VENV_VAR} unset: the Airflow venv is made by make airflow-test (docs/pipeline.md)")
    home, dags, work = tmp_path / "airflow", tmp_path / "dags", tmp_path / "work"
    dags.mkdir()
    (dags / "gen3d_pipeline.py").symlink_to(DAG_FILE)
    registry = new_bucket(s3) + "/registry"
    env = {
        **_clean_env(s3_env(s3)),
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "GEN3D_BIN": str(Path(sys.executable).parent / "gen3d"),
        "GEN3D_PIPELINE": "demo",
        "GEN3D_WORK_DIR": str(work),
        "GEN3D_REGISTRY": registry,
        "GEN3D_RETRIES": "0",  # a failing task fails the run now (a retry would wait GEN3D_RETRY_DELAY_S)
    }
    airflow = str(venv / "bin" / "airflow")
    for args, limit in ((["db", "migrate"], 300), (["dags", "test", "gen3d_pipeline"], 900)):
        run = subprocess.run(
            [airflow, *args], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=limit
        )
        log = run.stdout + run.stderr
        (tmp_path / f"airflow_{'_'.join(args[:2])}.log").write_text(log)
        assert run.returncode == 0, f"airflow {' '.join(args)}: exit {run.returncode}\n{log[-4000:]}"
    finished = re.findall(r"DagRun Finished: dag_id=gen3d_pipeline, .*?state=(\w+)", log)
    assert finished == ["success"], log[-4000:]

    # the state file the tasks wrote: all seven steps, each artefact where it says
    recorded = json.loads((work / "pipeline_state.json").read_text())["steps"]
    assert sorted(recorded) == sorted(spec.STEPS), log[-4000:]
    for step, rec in recorded.items():
        for label, location in rec["outputs"].items():
            if step == "publish":
                assert location == f"{registry}/demo-edm@v1"
            else:
                assert (work / location).exists(), f"{step}: {label} {location} missing"
    # and each artefact still has the digest recorded for it (the registry's manifest read from the bucket)
    rc, out, _ = pipeline(["demo", "--work-dir", str(work), "--registry", registry, "--dry-run"], capsys)
    assert rc == 0 and statuses(out) == dict.fromkeys(spec.STEPS, "skipped"), out
