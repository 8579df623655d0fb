"""The shipped toy pipeline end to end into a local S3 server: every artefact named, the model sampled by
URL from a second process, and a second run that skips every step."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from gen3d.pipeline.spec import STEPS
from tests.pipeline.conftest import pipeline, run_cli, s3_env, statuses

pytestmark = pytest.mark.xdist_group("pipeline")


def _artefacts(text: str) -> dict[str, str]:
    """label -> location from the summary's artefact lines (indented by six spaces)."""
    lines = [line for line in text.rsplit("summary", 1)[-1].splitlines() if line.startswith(" " * 6)]
    return dict(line.strip().rsplit(None, 1) for line in lines)


def test_toy_pipeline_publishes_a_model_a_second_process_samples(toy_run, s3, tmp_path):
    assert statuses(toy_run.text) == dict.fromkeys(STEPS, "ran")
    found = _artefacts(toy_run.text)
    local = {k: v for k, v in found.items() if "://" not in v}
    assert len(local) == 10 and all(Path(v).exists() for v in local.values()), found
    assert all(Path(v).is_relative_to(toy_run.work_dir) for v in local.values())
    assert found["model"] == f"{toy_run.registry}/demo-edm@v1"
    scores = json.loads(Path(found["scores (JSON)"]).read_text())
    assert {"cd", "emd"} <= set(scores["metrics"]) and scores["options"]["bootstrap"] == 0
    with np.load(found["samples (all)"]) as f:
        meta = json.loads(str(f["meta"]))
        assert meta["sampler"] == "dpmpp_2m" and meta["steps"] == 4 and f["points"].shape == (4, 256, 3)

    out = tmp_path / "chairs.npz"
    env = s3_env(s3)
    got = run_cli(
        ["sample", "--model", f"{toy_run.registry}/demo-edm", "--n", "2", "--steps", "2", "--out", str(out)],
        env,
    )
    assert got.returncode == 0, got.stderr
    assert "demo-edm@v1" in got.stdout
    with np.load(out) as f:
        assert f["points"].shape == (2, 256, 3) and np.isfinite(f["points"]).all()
    listed = run_cli(["models", toy_run.registry, "--json"], env)
    assert listed.returncode == 0, listed.stderr
    assert "demo-edm" in listed.stdout and '"v1"' in listed.stdout and '"v2"' not in listed.stdout


def test_a_second_run_skips_every_step_and_publishes_nothing(toy_run, capsys):
    state = (toy_run.work_dir / "pipeline_state.json").read_bytes()
    args = ["demo", "--work-dir", str(toy_run.work_dir), "--registry", toy_run.registry]
    rc, out, _ = pipeline([*args, "--dry-run"], capsys)
    assert rc == 0 and statuses(out) == dict.fromkeys(STEPS, "skipped")
    rc, out, _ = pipeline(args, capsys)
    assert rc == 0 and statuses(out) == dict.fromkeys(STEPS, "skipped")
    assert "$ gen3d" not in out  # no command ran
    assert f"{toy_run.registry}/demo-edm@v1" in out
    assert (toy_run.work_dir / "pipeline_state.json").read_bytes() == state
