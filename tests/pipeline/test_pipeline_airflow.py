"""The Airflow DAG (``gen3d/pipeline/airflow_dag.py``): its copy of the steps matches gen3d's, its task
script passes the settings to ``gen3d pipeline --step`` unchanged, and (where Airflow is importable; the
project's environment does not install it) the DAG has one task per step with the dependencies and retries.
``docs/pipeline.md`` shows ``airflow dags test`` of this DAG in its own environment."""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

import pytest

import gen3d.pipeline
from gen3d.pipeline import spec

pytestmark = pytest.mark.xdist_group("pipeline")
DAG_FILE = Path(gen3d.pipeline.__file__).parent / "airflow_dag.py"


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


def test_the_dag_has_one_task_per_step_with_retries(tmp_path):
    pytest.importorskip("airflow", reason="Airflow is not installed in this environment (docs/pipeline.md)")
    import importlib.util

    pipe = tmp_path / "p.yaml"
    pipe.write_text("steps: [prepare, fit, sample, evaluate, publish]\n")
    module_spec = importlib.util.spec_from_file_location("gen3d_pipeline_dag", DAG_FILE)
    mod = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(mod)
    dag = mod.build_dag({"GEN3D_PIPELINE": str(pipe), "GEN3D_RETRIES": "3", "GEN3D_BIN": "/x/gen3d"})
    assert dag.dag_id == "gen3d_pipeline"
    assert sorted(dag.task_dict) == sorted(["prepare", "fit", "sample", "evaluate", "publish"])
    ups = {t: set(task.upstream_task_ids) for t, task in dag.task_dict.items()}
    assert ups == {
        "prepare": set(),
        "fit": {"prepare"},
        "sample": {"prepare", "fit"},
        "evaluate": {"prepare", "sample"},
        "publish": {"fit", "evaluate"},
    }
    assert all(task.retries == 3 for task in dag.task_dict.values())
    assert (
        dag.task_dict["fit"].env["GEN3D_STEP"] == "fit"
        and dag.task_dict["fit"].env["GEN3D_BIN"] == "/x/gen3d"
    )
