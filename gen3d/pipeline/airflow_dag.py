"""Apache Airflow DAG ``gen3d_pipeline``: the steps of ``gen3d pipeline``: one task per step, with retries.

Each task runs ``gen3d pipeline <file> --step <name>`` through a ``BashOperator``, so Airflow needs no gen3d
(and gen3d no Airflow): Airflow's pins clash with the training stack, so it lives in its own environment and
calls the ``gen3d`` executable of the training environment. A retried or re-triggered task is cheap and safe:
a step whose artefacts exist for the same inputs skips, and a step refuses to run on stale upstream artefacts.
Tasks depend on the steps whose artefacts they read (evaluate, render and export run in parallel after
sample; the state file is updated under a lock).

Settings (environment of the Airflow scheduler / worker, read when the DAG file is parsed):

* ``GEN3D_BIN``: the ``gen3d`` executable (default: ``gen3d`` on ``PATH``), e.g. ``/opt/g3/.venv/bin/gen3d``;
* ``GEN3D_PIPELINE``: the pipeline file or shipped name (default ``demo``);
* ``GEN3D_WORK_DIR``, ``GEN3D_REGISTRY``: ``--work-dir`` / ``--registry`` (default: the file's);
* ``GEN3D_CWD``: the folder the commands run in (relative paths of the pipeline file are relative to it);
* ``GEN3D_PIPELINE_STEPS``: comma-separated steps (default: the file's ``steps`` when it is a readable file,
  else all seven);
* ``GEN3D_RETRIES`` (default 2) and ``GEN3D_RETRY_DELAY_S`` (default 60).

Install: copy or link this file into the Airflow ``dags`` folder (``docs/pipeline.md`` has the commands and
an ``airflow dags test`` run against a local SQLite metadata database).
"""

from __future__ import annotations

import datetime
import os

try:  # Airflow 3
    from airflow.providers.standard.operators.bash import BashOperator
    from airflow.sdk import DAG
except ImportError:  # Airflow 2
    from airflow import DAG  # type: ignore[no-redef,attr-defined,unused-ignore]
    from airflow.operators.bash import BashOperator  # type: ignore[no-redef,unused-ignore]

#: the steps and what each reads: the same as gen3d.pipeline.spec (a test compares them), written out here
#: because this file is parsed where gen3d is not installed
STEPS = ("prepare", "fit", "sample", "evaluate", "render", "export", "publish")
NEEDS = {
    "prepare": (),
    "fit": ("prepare",),
    "sample": ("prepare", "fit"),
    "evaluate": ("prepare", "sample"),
    "render": ("sample",),
    "export": ("sample",),
    "publish": ("fit",),
}
OPTIONAL_NEEDS = {"publish": ("evaluate", "render")}

#: one task's command: the values come in through the environment, never pasted into the script
COMMAND = """set -euo pipefail
args=("$GEN3D_PIPELINE" --step "$GEN3D_STEP")
if [ -n "${GEN3D_WORK_DIR:-}" ]; then args+=(--work-dir "$GEN3D_WORK_DIR"); fi
if [ -n "${GEN3D_REGISTRY:-}" ]; then args+=(--registry "$GEN3D_REGISTRY"); fi
exec "$GEN3D_BIN" pipeline "${args[@]}"
"""


def pipeline_steps(pipeline: str, listed: str | None = None) -> list[str]:
    """The steps to make tasks of: ``listed`` (comma-separated), else the file's ``steps``, else all."""
    if listed:
        steps = [s.strip() for s in listed.split(",") if s.strip()]
    elif os.path.isfile(pipeline):
        import yaml

        with open(pipeline) as f:
            steps = (yaml.safe_load(f) or {}).get("steps") or list(STEPS)
    else:
        steps = list(STEPS)
    unknown = [s for s in steps if s not in STEPS]
    if unknown:
        raise ValueError(f"gen3d_pipeline DAG: unknown steps {unknown} (known: {list(STEPS)})")
    return [s for s in STEPS if s in steps]


def build_dag(env: dict[str, str] | None = None) -> DAG:
    """The DAG for the settings in ``env`` (default ``os.environ``)."""
    env = dict(os.environ if env is None else env)
    pipeline = env.get("GEN3D_PIPELINE", "demo")
    steps = pipeline_steps(pipeline, env.get("GEN3D_PIPELINE_STEPS"))
    task_env = {
        "GEN3D_BIN": env.get("GEN3D_BIN", "gen3d"),
        "GEN3D_PIPELINE": pipeline,
        "GEN3D_WORK_DIR": env.get("GEN3D_WORK_DIR", ""),
        "GEN3D_REGISTRY": env.get("GEN3D_REGISTRY", ""),
    }
    default_args = {
        "retries": int(env.get("GEN3D_RETRIES", "2")),
        "retry_delay": datetime.timedelta(seconds=float(env.get("GEN3D_RETRY_DELAY_S", "60"))),
    }
    with DAG(
        dag_id="gen3d_pipeline",
        description=f"gen3d pipeline {pipeline}: {' -> '.join(steps)}",
        schedule=None,
        start_date=datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc),
        catchup=False,
        default_args=default_args,
        tags=["gen3d"],
    ) as dag:
        tasks = {
            s: BashOperator(
                task_id=s,
                bash_command=COMMAND,
                env={**task_env, "GEN3D_STEP": s},
                append_env=True,
                cwd=env.get("GEN3D_CWD") or None,
            )
            for s in steps
        }
        for s, task in tasks.items():
            for upstream in NEEDS[s] + OPTIONAL_NEEDS.get(s, ()):
                if upstream in tasks:
                    tasks[upstream] >> task
    return dag


dag = build_dag()
