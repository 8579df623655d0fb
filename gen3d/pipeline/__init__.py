"""``gen3d pipeline``: prepare → fit → sample → evaluate → render → export → publish as one resumable job.

Modules (no torch, no Lightning at import; the steps themselves live with the commands they call, in
``gen3d/commands/_pipeline_steps.py``, since this package may not import :mod:`gen3d.commands`):

* :mod:`~gen3d.pipeline.spec`: the pipeline file (keys, types, defaults, which step reads which);
* :mod:`~gen3d.pipeline.digest`: content digests of inputs and artefacts;
* :mod:`~gen3d.pipeline.state`: the state file, one record per finished step, written atomically;
* :mod:`~gen3d.pipeline.runner`: keys, skipping, selection (one step, from a step), dry runs.

``docs/pipeline.md`` is the user's guide (and the Airflow DAG and CI workflow that run the same steps).
"""

from gen3d.pipeline.runner import Outcome, Step, StepContext, run_pipeline
from gen3d.pipeline.spec import STEPS, PipelineSpec, list_pipelines, load_pipeline

__all__ = [
    "STEPS",
    "Outcome",
    "PipelineSpec",
    "Step",
    "StepContext",
    "list_pipelines",
    "load_pipeline",
    "run_pipeline",
]
