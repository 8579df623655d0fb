"""The shipped toy pipeline end to end into a local S3 server, then resumed in every way a user resumes it.

One test runs every scenario of :mod:`tests.pipeline.scenarios` in order on the session's one toy run: with
pytest 9.2 and pytest-xdist 3.8, ``--dist loadgroup`` ignores ``xdist_group`` marks (xdist sets
``item._nodeid``, which pytest 9.2 no longer reads), so separate tests could land on both workers and train
the toy model twice. Each scenario works on its own copy of the work folder and its own bucket where it
changes them.
"""

from __future__ import annotations

import pytest

from tests.pipeline import scenarios

pytestmark = pytest.mark.xdist_group("pipeline")


def _sub(tmp_path, name: str):
    (tmp_path / name).mkdir()
    return tmp_path / name


def test_toy_pipeline_end_to_end_then_every_kind_of_resume(toy_run, s3, tmp_path, capsys):
    scenarios.published_model_is_sampled_by_a_second_process(toy_run, s3, _sub(tmp_path, "e2e"))
    scenarios.a_second_run_skips_every_step_and_publishes_nothing(toy_run, capsys)
    scenarios.a_changed_input_reruns_that_step_and_its_readers_only(
        toy_run, s3, _sub(tmp_path, "input"), capsys
    )
    scenarios.a_failing_step_keeps_earlier_state_and_step_reruns_it_alone(
        toy_run, s3, _sub(tmp_path, "fail"), capsys
    )
    scenarios.a_changed_artefact_reruns_its_step_and_its_readers(
        toy_run, s3, _sub(tmp_path, "artefact"), capsys
    )
    scenarios.fit_mirror_uploads_last_ckpt_and_a_lost_fit_folder_resumes_from_it(
        toy_run, s3, _sub(tmp_path, "mirror"), capsys
    )
    scenarios.prepare_reads_a_collection_folder(toy_run, _sub(tmp_path, "folder"), capsys)
