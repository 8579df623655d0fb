"""The model registry against a real S3 server, ``memory://`` and ``file://``: publish -> list -> load ->
sample in a second process, checksums, immutable versions, concurrent publishers, incomplete versions."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import threading
import uuid

import numpy as np
import pytest
import torch

from gen3d.cli import main
from gen3d.storage.transfer import create_exclusive, exists, list_names, read_bytes, upload_file, write_bytes
from tests.storage.conftest import s3_env

pytestmark = pytest.mark.xdist_group("storage_s3")


def _publish(capsys, source, registry, name="tiny-edm", *extra) -> str:
    assert main(["publish", str(source), registry, "--name", name, *extra]) == 0
    return capsys.readouterr().out


def _models_json(capsys, registry) -> dict:
    assert main(["models", registry, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def _sample_args(out, *source) -> list[str]:
    return [
        "sample",
        *source,
        "--n",
        "2",
        "--steps",
        "2",
        "--device",
        "cpu",
        "--no-progress",
        "--out",
        str(out),
    ]


def test_publish_list_and_sample_by_url_in_a_second_process(
    s3, bucket, tiny_model, eval_json, tmp_path, capsys
):
    """The user's path: publish with an evaluation, list, then a new process samples the latest version by URL
    into the bucket; its shapes equal those sampled from the local checkpoint (same EMA weights, seeds)."""
    ckpt, _ = tiny_model
    registry = f"{bucket}/models"
    out = _publish(capsys, ckpt, registry, "tiny-edm", "--eval", str(eval_json))
    assert f"tiny-edm v1 -> {registry}/tiny-edm/v1/" in out and "eval.json" in out
    listing = _models_json(capsys, registry)
    ev = json.loads(eval_json.read_text())["metrics"]
    assert [v["version"] for v in listing["tiny-edm"]] == ["v1"]
    assert listing["tiny-edm"][0]["headline"]["1nna_cd"] == ev["cd"]["1nna"]
    assert listing["tiny-edm"][0]["headline"]["mmd_emd"] == ev["emd"]["mmd"]
    assert main(["models", registry]) == 0
    assert "tiny-edm@v1 (latest)" in capsys.readouterr().out

    # the second process samples through the CLI and loads no Lightning on the way
    args = _sample_args(f"{bucket}/out/s.npz", "--model", f"{registry}/tiny-edm")
    code = (
        f"import sys\nfrom gen3d.cli import main\nassert main({args!r}) == 0\n"
        "bad = [m for m in ('lightning', 'pytorch_lightning') if m in sys.modules]\nassert not bad, bad\n"
    )
    res = subprocess.run(
        [sys.executable, "-c", code], env=s3_env(s3), capture_output=True, text=True, timeout=120
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert f"gen3d sample: model {registry}/tiny-edm@v1 (files checked" in res.stdout
    assert f"wrote 2 shapes to {bucket}/out/s.npz" in res.stdout
    assert main(_sample_args(tmp_path / "local.npz", "--ckpt", str(ckpt))) == 0
    from gen3d.sample_file import load_samples

    remote, local = load_samples(f"{bucket}/out/s.npz"), load_samples(str(tmp_path / "local.npz"))
    np.testing.assert_array_equal(remote.points, local.points)
    assert remote.meta["model"] == f"{registry}/tiny-edm@v1" and remote.meta["checkpoint"] is None


def test_manifest_lists_every_file_with_its_sha256_and_the_weights_are_the_ema_ones(
    bucket, tiny_model, capsys
):
    from safetensors.torch import load_file

    ckpt, config = tiny_model
    registry = f"{bucket}/models"
    _publish(capsys, ckpt, registry)
    version = f"{registry}/tiny-edm/v1"
    manifest = json.loads(read_bytes(f"{version}/manifest.json"))
    names = set(list_names(version)) - {"manifest.json", "claim.json"}
    assert (
        set(manifest["files"])
        == names
        == {"model.safetensors", "config.json", "fingerprint.json", "README.md"}
    )
    for f, entry in manifest["files"].items():
        data = read_bytes(f"{version}/{f}")
        assert entry == {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    saved = torch.load(ckpt, weights_only=True)["gen3d"]["ema"]["shadow"]
    from gen3d.storage.transfer import fetched

    with fetched(f"{version}/model.safetensors") as local:
        weights = load_file(str(local))
    assert weights.keys() == saved.keys()
    assert all(torch.equal(weights[k], saved[k]) for k in saved)
    assert json.loads(read_bytes(f"{version}/config.json")) == config
    fp = json.loads(read_bytes(f"{version}/fingerprint.json"))
    cache_manifest = (config["data"]["cache_dir"] + "/manifest.json").encode()
    assert fp["cache_manifest_sha256"] == hashlib.sha256(open(cache_manifest, "rb").read()).hexdigest()
    assert fp["categories"] == {"chair": 3, "table": 2} and fp["splits"] == {"train": 4, "val": 1}
    assert fp["normalization"] == {"kind": "bbox"}
    card = read_bytes(f"{version}/README.md").decode()
    assert (
        f"gen3d sample --model {registry}/tiny-edm@v1" in card
        and manifest["files"]["config.json"]["sha256"] in card
    )
    assert "No evaluation was published" in card


def test_versions_are_immutable_and_an_incomplete_one_is_no_version(bucket, tiny_model, capsys):
    ckpt, _ = tiny_model
    registry = f"{bucket}/models"
    _publish(capsys, ckpt, registry)
    v1 = read_bytes(f"{registry}/tiny-edm/v1/manifest.json")
    # another publisher claimed v2 and died before its manifest (files half uploaded)
    assert create_exclusive(f"{registry}/tiny-edm/v2/claim.json", b'{"token": "other"}')
    write_bytes(f"{registry}/tiny-edm/v2/model.safetensors", b"partial")
    upload_file(ckpt, f"{bucket}/run/last.ckpt")  # this time from a checkpoint in the bucket
    assert "tiny-edm v3 ->" in _publish(capsys, f"{bucket}/run/last.ckpt", registry)
    assert read_bytes(f"{registry}/tiny-edm/v1/manifest.json") == v1  # untouched
    assert [v["version"] for v in _models_json(capsys, registry)["tiny-edm"]] == ["v1", "v3"]
    index = json.loads(read_bytes(f"{registry}/index.json"))
    assert index["models"]["tiny-edm"]["latest"] == "v3"
    assert [v["version"] for v in index["models"]["tiny-edm"]["versions"]] == ["v1", "v3"]
    assert main(["sample", "--model", f"{registry}/tiny-edm@v2", "--out", "x.npz"]) == 2
    assert "no complete version v2 of 'tiny-edm' (complete versions: v1, v3)" in capsys.readouterr().err
    from gen3d.storage.errors import RegistryConflictError
    from gen3d.storage.publish import _write_manifest

    with pytest.raises(RegistryConflictError, match="immutable"):
        _write_manifest(registry, "tiny-edm", "v1", {"overwritten": True})
    assert read_bytes(f"{registry}/tiny-edm/v1/manifest.json") == v1


def test_concurrent_publishes_claim_different_versions(bucket, tiny_model):
    from gen3d.storage.publish import find_inputs, publish_model

    registry = f"{bucket}/models"
    inputs = find_inputs(str(tiny_model[0]))
    results, errors = [], []

    def publish():
        try:
            results.append(publish_model(inputs, registry, "racer").version)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=publish) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors and sorted(results) == ["v1", "v2", "v3"]


def test_truncated_weights_in_a_version_are_refused_and_not_cached(
    bucket, tiny_model, tmp_path, monkeypatch, capsys
):
    ckpt, _ = tiny_model
    registry = f"{bucket}/models"
    _publish(capsys, ckpt, registry)
    key = f"{registry}/tiny-edm/v1/model.safetensors"
    data = read_bytes(key)
    write_bytes(key, data[:-100])  # the object was replaced by a partial upload
    cache = tmp_path / "cache"
    monkeypatch.setenv(
        "GEN3D_CACHE_DIR", str(cache)
    )  # empty: the verified copy of the good weights is elsewhere
    assert main(_sample_args(tmp_path / "s.npz", "--model", f"{registry}/tiny-edm@v1")) == 2
    err = capsys.readouterr().err
    assert f"{key}: {len(data) - 100} bytes where the manifest says {len(data)}" in err and "refusing" in err
    assert not (tmp_path / "s.npz").exists()
    write_bytes(key, data[:-1] + bytes([data[-1] ^ 1]))  # same size, one bit flipped
    assert main(_sample_args(tmp_path / "s.npz", "--model", f"{registry}/tiny-edm@v1")) == 2
    assert "sha256" in capsys.readouterr().err
    cached = {p.name for p in cache.rglob("*") if p.is_file()}
    manifest = json.loads(read_bytes(f"{registry}/tiny-edm/v1/manifest.json"))
    assert cached == {
        manifest["files"]["config.json"]["sha256"]
    }  # the good config only, never the bad weights
    write_bytes(key, data)  # restored: the same command now samples
    assert main(_sample_args(tmp_path / "s.npz", "--model", f"{registry}/tiny-edm@v1")) == 0
    assert manifest["files"]["model.safetensors"]["sha256"] in {p.name for p in cache.rglob("*")}


@pytest.mark.parametrize("scheme", ["memory", "file", "plain"])
def test_registry_on_memory_file_and_plain_paths(scheme, tiny_model, eval_json, tmp_path, capsys):
    from gen3d.models import load_denoiser
    from gen3d.storage.load import load_model

    registry = {
        "memory": f"memory://gen3d-reg-{uuid.uuid4().hex}",
        "file": f"file://{tmp_path}/reg",
        "plain": str(tmp_path / "reg"),
    }[scheme]
    ckpt, _ = tiny_model
    gallery = tmp_path / "pic.png"
    from PIL import Image

    Image.new("RGB", (4, 4), (255, 0, 0)).save(gallery)
    _publish(capsys, ckpt, registry, "tiny-edm", "--gallery", str(gallery))
    _publish(capsys, ckpt, registry, "tiny-edm", "--eval", str(eval_json))
    listing = _models_json(capsys, registry)
    assert [v["version"] for v in listing["tiny-edm"]] == ["v1", "v2"]
    assert listing["tiny-edm"][0]["headline"] == {} and listing["tiny-edm"][1]["headline"]
    assert read_bytes(f"{registry}/tiny-edm/v1/gallery.png") == gallery.read_bytes()
    assert "![gallery](gallery.png)" in read_bytes(f"{registry}/tiny-edm/v1/README.md").decode()
    assert not exists(f"{registry}/tiny-edm/v2/gallery.png")
    loaded = load_model(f"{registry}/tiny-edm")
    assert loaded.ref == f"{registry}/tiny-edm@v2"
    reference, config, _ = load_denoiser(ckpt)
    x, sigma = torch.randn(2, 16, 3, generator=torch.Generator().manual_seed(0)), torch.tensor([0.5, 2.0])
    with torch.no_grad():
        torch.testing.assert_close(loaded.denoiser(x, sigma), reference(x, sigma), rtol=0, atol=0)
    assert loaded.config == config


def test_publish_from_a_run_folder_takes_last_ckpt_and_the_newest_gallery(tiny_model, tmp_path, capsys):
    import shutil

    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "gallery").mkdir()
    shutil.copy(tiny_model[0], run / "checkpoints" / "last.ckpt")
    from PIL import Image

    for step, colour in ((100, (0, 0, 0)), (200, (0, 255, 0))):
        Image.new("RGB", (2, 2), colour).save(run / "gallery" / f"step_{step:07d}.png")
    registry = str(tmp_path / "reg")
    out = _publish(capsys, run, registry, "from-run")
    assert "gallery.png" in out
    assert (
        read_bytes(f"{registry}/from-run/v1/gallery.png")
        == (run / "gallery" / "step_0000200.png").read_bytes()
    )
    manifest = json.loads(read_bytes(f"{registry}/from-run/v1/manifest.json"))
    assert manifest["source"]["global_step"] == 7 and manifest["source"]["checkpoint"] == "last.ckpt"


def test_bad_publish_and_model_arguments_are_one_line_errors(tiny_model, tmp_path, capsys):
    ckpt, _ = tiny_model
    reg = str(tmp_path / "reg")
    cases = [
        (["publish", str(ckpt), reg, "--name", "Bad Name"], "model name 'Bad Name'"),
        (["publish", str(tmp_path / "none"), reg, "--name", "m"], "no checkpoint or run folder"),
        (["publish", str(tmp_path), reg, "--name", "m"], "without checkpoints/last.ckpt"),
        (["publish", str(ckpt), reg, "--name", "m", "--eval", str(ckpt)], "is not JSON"),
        (["publish", str(ckpt), reg, "--name", "m", "--gallery", str(ckpt)], "is not a PNG"),
        (["sample", "--model", f"{reg}/m@2", "--out", "x.npz"], "version '2' is not v1, v2"),
        (["sample", "--model", f"{reg}/m", "--out", "x.npz"], "model 'm' has no complete version"),
        (["sample", "--model", f"{reg}/m", "--raw-ema", "--out", "x.npz"], "EMA weights only"),
        (["models", "s3:/bucket/reg"], "looks like a URL missing a '/'"),
    ]
    for args, message in cases:
        assert main(args) == 2, args
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, (args, err)
    assert not (tmp_path / "reg").exists()  # nothing was written by a refused publish
    with pytest.raises(SystemExit):
        main(["sample", "--ckpt", str(ckpt), "--model", f"{reg}/m", "--out", "x.npz"])
    assert "not allowed with argument" in capsys.readouterr().err
    assert main(["models", reg]) == 0
    assert "no published model" in capsys.readouterr().out
