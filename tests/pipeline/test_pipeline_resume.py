"""Resuming: a changed input re-runs its step and the steps that read it, nothing else; ``--from`` and
``--step`` refuse to run on stale upstream artefacts; a failing step keeps the earlier artefacts and the
state, and ``--step`` re-runs it alone; ``--force``; a changed artefact re-runs its step and its readers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gen3d.pipeline.spec import pipeline_path
from tests.pipeline.conftest import copy_work, new_bucket, pipeline, statuses

pytestmark = pytest.mark.xdist_group("pipeline")


def _variant(tmp_path: Path, **changes) -> Path:
    """The shipped demo pipeline with top-level sections updated by ``changes`` (section -> keys)."""
    import yaml

    raw = yaml.safe_load(pipeline_path("demo").read_text())
    for section, keys in changes.items():
        raw[section] = {**(raw.get(section) or {}), **keys}
    path = tmp_path / "variant.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def _records(work: Path) -> dict:
    return json.loads((work / "pipeline_state.json").read_text())["steps"]


def test_a_changed_input_reruns_that_step_and_its_readers_only(toy_run, s3, tmp_path, capsys):
    work, registry = copy_work(toy_run, tmp_path), new_bucket(s3) + "/registry"
    before = _records(work)
    changed = str(_variant(tmp_path, evaluate={"bootstrap": 10, "metrics": "cd"}))
    args = [changed, "--work-dir", str(work), "--registry", registry]
    rc, out, _ = pipeline([*args, "--dry-run"], capsys)
    assert rc == 0
    assert statuses(out) == {
        "prepare": "skipped",
        "fit": "skipped",
        "sample": "skipped",
        "evaluate": "would run",
        "render": "skipped",
        "export": "skipped",
        "publish": "would run",
    }
    assert "evaluate  would run (inputs changed)" in out and "publish   would run (after evaluate)" in out

    # --from render: publish reads the stale scores, so nothing runs
    rc, _, err = pipeline([*args, "--from", "render"], capsys)
    assert rc == 2 and "reads the artefacts of 'evaluate', which is not up to date" in err
    assert _records(work) == before

    rc, out, _ = pipeline([*args, "--from", "evaluate"], capsys)
    assert rc == 0
    got = statuses(out)
    assert {s for s, v in got.items() if v == "ran"} == {"evaluate", "publish"}
    assert got["prepare"] == got["fit"] == got["sample"] == "not selected"
    assert got["render"] == got["export"] == "skipped"
    after = _records(work)
    assert {s for s in after if after[s] != before[s]} == {"evaluate", "publish"}
    scores = json.loads((work / after["evaluate"]["outputs"]["scores (JSON)"]).read_text())
    assert scores["options"]["bootstrap"] == 10 and set(scores["metrics"]) == {"cd"}
    assert after["publish"]["outputs"]["model"] == f"{registry}/demo-edm@v1"


def test_a_failing_step_keeps_earlier_state_and_step_reruns_it_alone(toy_run, s3, tmp_path, capsys):
    from gen3d.storage.filesystem import open_fs

    work = copy_work(toy_run, tmp_path)
    state = (work / "pipeline_state.json").read_bytes()
    missing = f"s3://gen3d-pipeline-missing-{tmp_path.name.lower()[-20:].strip('_-')}x"
    args = ["demo", "--work-dir", str(work), "--registry", f"{missing}/registry"]
    rc, out, err = pipeline(args, capsys)
    assert rc == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "step 'publish' failed" in lines[0] and "no such bucket" in lines[0]
    assert "--step publish" in lines[0]
    assert (work / "pipeline_state.json").read_bytes() == state
    recs = _records(work)
    for rec in recs.values():
        assert all((work / loc).exists() for loc in rec["outputs"].values() if "://" not in loc)

    fs, _ = open_fs(missing)
    fs.mkdir(missing.removeprefix("s3://"))
    rc, out, _ = pipeline([*args, "--step", "publish"], capsys)
    assert rc == 0
    got = statuses(out)
    assert got.pop("publish") == "ran" and set(got.values()) == {"not selected"}
    assert _records(work)["publish"]["outputs"]["model"] == f"{missing}/registry/demo-edm@v1"
    assert {s: r for s, r in _records(work).items() if s != "publish"} == {
        s: r for s, r in recs.items() if s != "publish"
    }

    # --force runs an up-to-date step again: a new immutable version
    rc, out, _ = pipeline([*args, "--step", "publish", "--force"], capsys)
    assert rc == 0 and statuses(out)["publish"] == "ran" and "(forced" in out
    assert _records(work)["publish"]["outputs"]["model"] == f"{missing}/registry/demo-edm@v2"


def test_a_changed_artefact_reruns_its_step_and_its_readers(toy_run, s3, tmp_path, capsys):
    work = copy_work(toy_run, tmp_path)
    before = _records(work)
    scores = work / before["evaluate"]["outputs"]["scores (JSON)"]
    scores.write_text(scores.read_text().replace('"metrics"', '"metrics" ', 1))
    args = ["demo", "--work-dir", str(work)]
    rc, out, _ = pipeline([*args, "--registry", toy_run.registry, "--dry-run"], capsys)
    assert rc == 0 and "evaluate  would run (artefact 'scores (JSON)' changed or missing)" in out
    assert statuses(out)["publish"] == "would run"
    rc, out, _ = pipeline([*args, "--registry", new_bucket(s3) + "/registry"], capsys)
    assert rc == 0
    assert {s for s, v in statuses(out).items() if v == "ran"} == {"evaluate", "publish"}
    headline = [("cd", "mmd"), ("cd", "cov"), ("cd", "1nna"), ("emd", "mmd")]
    got = json.loads(scores.read_text())["metrics"]
    ref = json.loads((toy_run.work_dir / before["evaluate"]["outputs"]["scores (JSON)"]).read_text())[
        "metrics"
    ]
    assert [got[m][k] for m, k in headline] == [ref[m][k] for m, k in headline]  # the same scores, recomputed


def test_step_refuses_when_upstream_never_ran(tmp_path, capsys):
    rc, _, err = pipeline(["demo", "--work-dir", str(tmp_path / "w"), "--step", "sample"], capsys)
    assert rc == 2 and "step 'sample' reads the artefacts of 'prepare', which is not up to date" in err
    assert not (tmp_path / "w" / "pipeline_state.json").exists()


def test_prepare_reads_a_collection_folder(toy_run, tmp_path, capsys):
    """layout + root instead of synth; voxels; the worker count is not part of the key, points are."""
    import yaml

    toy = json.loads((toy_run.work_dir / "pipeline_state.json").read_text())["steps"]["prepare"]
    root = toy_run.work_dir / toy["outputs"]["synthetic collection"]
    prepare = {"layout": "shapenet", "root": str(root), "points": 64, "voxels": 8, "workers": 1}
    raw = {"work_dir": str(tmp_path / "w"), "steps": ["prepare"], "prepare": prepare}
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(raw))
    rc, out, _ = pipeline([str(path)], capsys)
    assert rc == 0 and statuses(out) == {"prepare": "ran"}
    cache = tmp_path / "w" / _records(tmp_path / "w")["prepare"]["outputs"]["prepared cache"]
    params = json.loads((cache / "manifest.json").read_text())["params"]
    assert (params["root"], params["n_points"], params["voxels"]) == (str(root), 64, [8])
    prepare["workers"] = 2
    path.write_text(yaml.safe_dump(raw))
    rc, out, _ = pipeline([str(path)], capsys)
    assert rc == 0 and statuses(out) == {"prepare": "skipped"}
    prepare["points"] = 32
    path.write_text(yaml.safe_dump(raw))
    rc, out, _ = pipeline([str(path), "--dry-run"], capsys)
    assert rc == 0 and "prepare   would run (inputs changed)" in out
