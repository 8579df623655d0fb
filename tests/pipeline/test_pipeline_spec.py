"""The pipeline file is checked when it loads: every mistake is one ``UserInputError`` line through the CLI
(exit status 2) and nothing is written; the digests the keys are made of."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import uuid
from pathlib import Path

import pytest

from gen3d.pipeline.digest import json_digest, location_digest, path_digest
from gen3d.pipeline.spec import load_pipeline
from gen3d.storage.transfer import write_bytes
from tests.pipeline.conftest import pipeline

pytestmark = pytest.mark.xdist_group("pipeline")

_GOOD = """
work_dir: {work}
steps: [prepare, fit, publish]
prepare: {{synth: {{per_category: 2}}, points: 64}}
fit: {{config: demo_points, max_steps: 2}}
publish: {{registry: {work}/registry, name: toy}}
"""

BAD = [
    ("fitt: {config: demo_points}\n", "unknown step 'fitt' in the pipeline"),
    ("fit: {config: demo_points, max_step: 3}\n", "unknown key 'max_step' in fit"),
    ("steps: [prepare, train]\n", "unknown step 'train' in steps"),
    ("steps: [fit, prepare]\n", "steps must name each step once, in the order"),
    ("steps: [prepare, sample]\n", "step 'sample' reads the artefacts of ['fit']: add them to steps"),
    ("publish: {registry: r}\n", "publish needs 'name'"),
    ("publish: {registry: r, name: Bad Name}\n", "model name 'Bad Name'"),
    ("fit: {config: no_such_config}\n", "no config file 'no_such_config'"),
    ("fit: {config: demo_points, max_steps: ten}\n", "fit.max_steps must be an integer, got 'ten'"),
    ("fit: {config: demo_points, set: [optim.no_such_key=1]}\n", "no_such_key"),
    ("prepare: {root: /no/such/folder, layout: shapenet}\n", "prepare.root: no folder /no/such/folder"),
    ("prepare: {synth: {per_category: 2}, root: /tmp, layout: shapenet}\n", "either synth"),
    ("{steps: [prepare, fit, sample, publish], sample: {per_class: 0}}", "sample.per_class must be >= 1"),
    (
        "prepare: {synth: {categories: [chair, sofa]}}\n",
        "['sofa'] are not synthetic categories (airplane, car",
    ),
    ("prepare: {synth: {per_category: 0}}\n", "prepare.synth.per_category must be >= 1"),
    ("sample: {per_class: 2}\n", "section 'sample' given but 'sample' is not in steps"),
    ("work_dir: s3://bucket/work\n", "work_dir must be a local folder"),
    ("fit: {config: demo_points, mirror: 7}\n", "fit.mirror must be a string, got 7"),
    (
        "fit: {config: demo_points, mirror: 's3://AKIA:s3cret@bucket/m'}\n",
        "fit.mirror s3://bucket/m: user info or a query string in the URL; credentials come from the env",
    ),
    ("fit: {config: demo_points, mirror: 'nosuch://b/m'}\n", "fit.mirror: cannot open nosuch://b/m"),
    ("fit: [\n", "not valid YAML"),
]


def _write(tmp_path, patch: str):
    """The good pipeline with the top-level keys of ``patch`` replacing its own."""
    import yaml

    raw = yaml.safe_load(_GOOD.format(work=tmp_path / "w"))
    try:
        raw.update(yaml.safe_load(patch))
        text = yaml.safe_dump(raw)
    except yaml.YAMLError:
        text = patch
    path = tmp_path / "p.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(("patch", "message"), BAD, ids=[m[:30] for _, m in BAD])
def test_a_bad_pipeline_file_is_one_line_and_writes_nothing(tmp_path, capsys, patch, message):
    rc, out, err = pipeline([str(_write(tmp_path, patch))], capsys)
    assert rc == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gen3d pipeline: error: ") and message in lines[0], err
    assert "s3cret" not in err
    assert not (tmp_path / "w").exists()


def test_bad_options_and_files(tmp_path, capsys):
    good = str(_write(tmp_path, "{}"))
    for args, message in [
        ([good, "--step", "train"], "--step train: not a step of"),
        ([good, "--from", "evaluate"], "--from evaluate: not a step of"),  # evaluate is not in this pipeline
        ([good, "--step", "fit", "--from", "prepare"], "give --step or --from, not both"),
        ([str(tmp_path / "missing.yaml")], "no pipeline file"),
    ]:
        rc, _, err = pipeline(args, capsys)
        assert rc == 2 and message in err, (args, err)
    assert not (tmp_path / "w").exists()


def test_defaults_overrides_and_the_dry_run_of_a_fresh_folder(tmp_path, capsys):
    spec = load_pipeline(_write(tmp_path, "{}"), work_dir=str(tmp_path / "other"), registry="s3://b/reg")
    assert spec.steps == ("prepare", "fit", "publish") and spec.work_dir == tmp_path / "other"
    assert spec.sections["prepare"]["points"] == 64 and spec.sections["prepare"]["normalize"] == "bbox"
    assert spec.sections["publish"] == {"registry": "s3://b/reg", "name": "toy"}
    assert spec.needs("publish") == ("fit",)  # evaluate and render are not in this pipeline
    assert spec.sections["fit"]["mirror"] is None
    for given, kept in [("s3://b/runs/", "s3://b/runs"), ("mirrors", str(tmp_path.resolve() / "mirrors"))]:
        with pytest.MonkeyPatch.context() as mp:
            mp.chdir(tmp_path)
            spec = load_pipeline(_write(tmp_path, f"fit: {{config: demo_points, mirror: '{given}'}}"))
        assert spec.sections["fit"]["mirror"] == kept

    rc, out, _ = pipeline([str(_write(tmp_path, "{}")), "--dry-run"], capsys)
    assert rc == 0
    assert "prepare   would run (never ran here)" in out and "fit       would run (after prepare)" in out
    assert not (tmp_path / "w").exists()


def test_digests_are_the_sha256_of_the_content(tmp_path):
    (tmp_path / "d" / "sub").mkdir(parents=True)
    (tmp_path / "d" / "a.txt").write_bytes(b"alpha")
    (tmp_path / "d" / "sub" / "b.txt").write_bytes(b"beta")
    (tmp_path / "d" / ".a.txt.tmp").write_bytes(b"an interrupted write")
    sha = {n: hashlib.sha256(v).hexdigest() for n, v in [("a", b"alpha"), ("b", b"beta")]}
    assert path_digest(tmp_path / "d" / "a.txt") == sha["a"]
    entries = json.dumps([["a.txt", sha["a"]], ["sub/b.txt", sha["b"]]], separators=(",", ":"))
    assert path_digest(tmp_path / "d") == hashlib.sha256(entries.encode()).hexdigest()
    assert path_digest(tmp_path / "nothing") is None
    assert json_digest({"b": 1, "a": [1, 2]}) == hashlib.sha256(b'{"a":[1,2],"b":1}').hexdigest()
    root = f"memory://gen3d-digest-{uuid.uuid4().hex}"
    write_bytes(f"{root}/a.txt", b"alpha")
    assert location_digest(f"{root}/a.txt") == sha["a"] and location_digest(f"{root}/none") is None
    assert location_digest(str(tmp_path / "d")) == path_digest(tmp_path / "d")


def test_the_local_s3_script_names_the_shipped_pipelines_model():
    """``scripts/pipeline_local_s3.sh`` samples ``NAME`` (default: the demo pipeline's publish.name)."""
    script = Path(__file__).parents[2] / "scripts" / "pipeline_local_s3.sh"
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    name = re.search(r"^NAME=\$\{NAME:-([^}]+)\}$", script.read_text(), re.M)
    assert name is not None and name.group(1) == load_pipeline("demo").sections["publish"]["name"]


def test_step_refuses_when_upstream_never_ran(tmp_path, capsys):
    rc, _, err = pipeline(["demo", "--work-dir", str(tmp_path / "w"), "--step", "sample"], capsys)
    assert rc == 2 and "step 'sample' reads the artefacts of 'prepare', which is not up to date" in err
    assert not (tmp_path / "w" / "pipeline_state.json").exists()
