"""gen3d's own readers and writers on URLs: sample files, checkpoints (``gen3d sample --ckpt s3://...``),
the evaluation JSON (``gen3d evaluate --out s3://...``), and the import rules (importing gen3d or building its
CLI loads no fsspec / s3fs / botocore; the storage package never imports Lightning; that sampling a published
model loads no Lightning is checked in test_storage_registry.py's second process)."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

import numpy as np
import pytest

from gen3d.cli import main
from gen3d.sample_file import SampleFile, load_samples, save_samples
from gen3d.storage.transfer import read_bytes, upload_file

pytestmark = pytest.mark.xdist_group("storage_s3")


@pytest.fixture(params=["s3", "memory", "file"])
def root(request, tmp_path) -> str:
    if request.param == "s3":
        return request.getfixturevalue("bucket") + "/run"
    if request.param == "memory":
        return f"memory://gen3d-wiring-{uuid.uuid4().hex}"
    return f"file://{tmp_path}/run"


def test_sample_files_round_trip_through_urls(root, tmp_path):
    rng = np.random.default_rng(1)
    sf = SampleFile(points=rng.normal(size=(3, 8, 3)).astype(np.float32), seeds=np.arange(3), meta={"a": 1})
    assert save_samples(f"{root}/s.npz", sf) == f"{root}/s.npz"
    back = load_samples(f"{root}/s.npz")
    np.testing.assert_array_equal(back.points, sf.points)
    np.testing.assert_array_equal(back.seeds, sf.seeds)
    assert back.meta == {"a": 1}
    save_samples(tmp_path / "local.npz", sf)  # the same bytes as a local write
    assert read_bytes(f"{root}/s.npz") == (tmp_path / "local.npz").read_bytes()


def test_a_truncated_sample_object_is_refused_with_its_url(root, tmp_path):
    from gen3d.errors import CheckpointError
    from gen3d.storage.transfer import write_bytes

    save_samples(tmp_path / "ok.npz", SampleFile(points=np.zeros((2, 4, 3), np.float32)))
    write_bytes(f"{root}/cut.npz", (tmp_path / "ok.npz").read_bytes()[:300])
    with pytest.raises(CheckpointError, match=f"cannot read sample file {root}/cut.npz"):
        load_samples(f"{root}/cut.npz")


def test_sample_from_a_checkpoint_url_equals_sampling_the_local_file(bucket, tiny_model, tmp_path):
    ckpt, _ = tiny_model
    upload_file(ckpt, f"{bucket}/run/last.ckpt")
    common = ["--n", "2", "--steps", "2", "--device", "cpu", "--no-progress"]
    assert main(["sample", "--ckpt", f"{bucket}/run/last.ckpt", *common, "--out", f"{bucket}/s.npz"]) == 0
    assert main(["sample", "--ckpt", str(ckpt), *common, "--out", str(tmp_path / "s.npz")]) == 0
    remote, local = load_samples(f"{bucket}/s.npz"), load_samples(str(tmp_path / "s.npz"))
    np.testing.assert_array_equal(remote.points, local.points)
    assert remote.meta["checkpoint"] == f"{bucket}/run/last.ckpt" and local.meta["checkpoint"] == str(ckpt)


def test_evaluate_reads_local_files_and_writes_its_json_to_a_bucket(bucket, eval_json):
    gen, ref = eval_json.parent / "gen.npz", eval_json.parent / "ref.npz"
    args = ["evaluate", str(gen), str(ref), "--bootstrap", "0", "--no-jsd", "--out", f"{bucket}/eval/e.json"]
    assert main(args) == 0
    remote = json.loads(read_bytes(f"{bucket}/eval/e.json"))
    local = json.loads(eval_json.read_text())
    assert remote["metrics"]["cd"]["1nna"] == local["metrics"]["cd"]["1nna"]
    assert remote["metrics"]["emd"]["mmd"] == local["metrics"]["emd"]["mmd"]


def _fresh(code: str) -> None:
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr


def test_importing_gen3d_and_building_the_cli_load_no_object_store_code():
    heavy = ("fsspec", "s3fs", "botocore", "aiobotocore", "boto3", "moto", "torch")
    _fresh(
        "import sys\nimport gen3d, gen3d.storage, gen3d.atomic\nfrom gen3d.cli import build_parser\n"
        "build_parser()\n"
        f"bad = [m for m in {heavy!r} if m in sys.modules]\nassert not bad, bad\n"
    )


def test_storage_package_never_imports_training_code():
    import ast
    from pathlib import Path

    import gen3d.storage

    for f in Path(gen3d.storage.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(f.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            names += [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            for n in names:
                assert not n.startswith(
                    ("lightning", "pytorch_lightning", "gen3d.training", "gen3d.commands")
                ), f
