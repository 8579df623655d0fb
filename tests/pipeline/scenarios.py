"""The scenarios of ``test_pipeline_end_to_end.py``, each a function of the session's toy run (see there why
they run inside one test): publish and sample by URL, a second run that skips everything, a changed input, a
failing step and ``--step``, ``--force``, a changed artefact, ``prepare`` from a collection folder."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import numpy as np

from gen3d.pipeline.spec import STEPS, pipeline_path
from tests.pipeline.conftest import copy_work, new_bucket, pipeline, run_cli, s3_env, statuses


def _artefacts(text: str) -> dict[str, str]:
    """label -> location from the summary's artefact lines (indented by six spaces)."""
    lines = [line for line in text.rsplit("summary", 1)[-1].splitlines() if line.startswith(" " * 6)]
    return dict(line.strip().rsplit(None, 1) for line in lines)


def published_model_is_sampled_by_a_second_process(toy_run, s3, tmp_path):
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


def a_second_run_skips_every_step_and_publishes_nothing(toy_run, capsys):
    state = (toy_run.work_dir / "pipeline_state.json").read_bytes()
    args = ["demo", "--work-dir", str(toy_run.work_dir), "--registry", toy_run.registry]
    rc, out, _ = pipeline([*args, "--dry-run"], capsys)
    assert rc == 0 and statuses(out) == dict.fromkeys(STEPS, "skipped")
    rc, out, _ = pipeline(args, capsys)
    assert rc == 0 and statuses(out) == dict.fromkeys(STEPS, "skipped")
    assert "$ gen3d" not in out  # no command ran
    assert f"{toy_run.registry}/demo-edm@v1" in out
    assert (toy_run.work_dir / "pipeline_state.json").read_bytes() == state


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


def a_changed_input_reruns_that_step_and_its_readers_only(toy_run, s3, tmp_path, capsys):
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


def a_failing_step_keeps_earlier_state_and_step_reruns_it_alone(toy_run, s3, tmp_path, capsys):
    from gen3d.storage.filesystem import open_fs

    work = copy_work(toy_run, tmp_path)
    state = (work / "pipeline_state.json").read_bytes()
    missing = f"s3://gen3d-pipeline-missing-{uuid.uuid4().hex[:12]}"
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


def a_changed_artefact_reruns_its_step_and_its_readers(toy_run, s3, tmp_path, capsys):
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


def fit_mirror_uploads_last_ckpt_and_a_lost_fit_folder_resumes_from_it(toy_run, s3, tmp_path, capsys):
    """``fit.mirror``: not part of fit's key (a finished fit stays up to date; ``--step fit --force``
    uploads its checkpoint without training), mirrored under the key, recorded and checked as an artefact;
    a fit folder lost (a fresh node) is restored from the mirror without training."""
    import shutil

    from gen3d.models import read_checkpoint
    from gen3d.storage.transfer import read_bytes

    work = copy_work(toy_run, tmp_path)
    before = _records(work)
    mirror = new_bucket(s3) + "/mirrors"
    args = [str(_variant(tmp_path, fit={"mirror": mirror})), "--work-dir", str(work)]
    args += ["--registry", toy_run.registry]
    rc, out, _ = pipeline([*args, "--dry-run"], capsys)
    assert rc == 0 and statuses(out) == dict.fromkeys(STEPS, "skipped")

    rc, out, _ = pipeline([*args, "--step", "fit", "--force"], capsys)
    assert rc == 0 and statuses(out)["fit"] == "ran", out
    fit = _records(work)["fit"]
    url = f"{mirror}/{fit['key'][:12]}/checkpoints/last.ckpt"
    assert fit["key"] == before["fit"]["key"] and fit["outputs"]["checkpoint (mirror)"] == url
    assert f"mirrored last.ckpt to {url} (1 upload(s))" in out
    local = work / fit["outputs"]["checkpoint"]
    assert read_bytes(url) == local.read_bytes()
    assert fit["digests"]["checkpoint (mirror)"] == fit["digests"]["checkpoint"]
    assert _artefacts(out)["checkpoint (mirror)"] == url

    # the node's disk is gone, the bucket is not: fit resumes from the mirror of its key, at its end
    shutil.rmtree(work / "fit" / fit["key"][:12])
    rc, out, _ = pipeline([*args, "--step", "fit"], capsys)
    assert rc == 0, out
    assert "fit       ran (artefact 'checkpoint' changed or missing" in out
    assert f"resuming from {url} (step 16)" in out and "the run was already at its end; kept" in out
    assert local.read_bytes() == read_bytes(url) and read_checkpoint(str(local))["global_step"] == 16
    restored = _records(work)["fit"]
    assert restored["digests"]["checkpoint"] == fit["digests"]["checkpoint"]
    assert "training log" not in restored["outputs"]  # logs are not mirrored


def prepare_reads_a_collection_folder(toy_run, tmp_path, capsys):
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
