"""Prepared caches on object stores, through the CLI against the moto S3 server: ``gen3d prepare --out
s3://...`` (prepared locally, uploaded, manifest last), then ``gen3d fit`` with ``data.cache_dir=s3://...``
and ``gen3d evaluate`` with a cache URL as reference, both reading one verified local copy per remote
manifest (content-addressed: not downloaded again while the remote cache is unchanged, downloaded anew when it
changed); a missing bucket, a prefix without a manifest (an upload that did not finish), a truncated and a
replaced object are refused in one line."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from gen3d.cli import main
from gen3d.errors import UserInputError
from gen3d.sample_file import SampleFile, save_samples
from gen3d.storage.errors import IntegrityError
from gen3d.storage.transfer import list_names, read_bytes
from tests.training.test_training_cli import fit_args

pytestmark = pytest.mark.xdist_group("storage_s3")

_PREPARE = ["--points", "128", "--voxels", "8", "--workers", "1", "--no-progress"]


def _fs():
    from gen3d.storage.filesystem import open_fs

    return open_fs("s3://x")[0]


@dataclass(frozen=True)
class Remote:
    url: str  # where gen3d prepare uploaded the cache
    stdout: str  # what it printed
    staging: Path  # its local working folder


@pytest.fixture(scope="module")
def remote_cache(s3, tiny_collection) -> Remote:
    """The tiny collection prepared with ``gen3d prepare --out s3://...`` into a bucket of this module
    (tests that change or damage a cache copy it to their own prefix first)."""
    import contextlib
    import io
    import uuid

    from gen3d.storage.prepared import staging_dir

    name = f"gen3d-caches-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    _fs().mkdir(name)
    url = f"s3://{name}/caches/tiny"
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(["prepare", "folder", str(tiny_collection), "--out", url, *_PREPARE]) == 0
    return Remote(url, buf.getvalue(), staging_dir(url))


@pytest.fixture
def local_root(tmp_path, monkeypatch) -> Path:
    """A fresh local cache root (``GEN3D_CACHE_DIR``) for this test: every remote cache is downloaded anew."""
    root = tmp_path / "gen3d-cache"
    monkeypatch.setenv("GEN3D_CACHE_DIR", str(root))
    return root


@pytest.fixture
def downloads(monkeypatch) -> list:
    """The URLs of every download of a remote cache in this test (spied on the one download function)."""
    import gen3d.storage.prepared as prepared

    seen: list = []
    real = prepared._download

    def spy(url, *args, **kwargs):
        seen.append(url)
        return real(url, *args, **kwargs)

    monkeypatch.setattr(prepared, "_download", spy)
    return seen


def _copy_prefix(src: str, dst: str) -> None:
    fs = _fs()
    s, d = src.removeprefix("s3://"), dst.removeprefix("s3://")
    for path in fs.find(s):
        fs.pipe_file(d + path[len(s) :], fs.cat_file(path))


def _digest(url: str) -> str:
    return hashlib.sha256(read_bytes(f"{url}/manifest.json")).hexdigest()


def test_prepare_uploads_every_file_with_checksums_and_the_manifest(remote_cache):
    url = remote_cache.url
    assert f"cache {url}: 12 shapes, 12 processed now" in remote_cache.stdout
    assert f"cache {url}: uploaded 15 files, manifest last" in remote_cache.stdout  # + params, report
    manifest = json.loads(read_bytes(f"{url}/manifest.json"))
    assert manifest["up_axis"] == "y" and len(manifest["shapes"]) == 12
    assert read_bytes(f"{url}/manifest.json") == (remote_cache.staging / "manifest.json").read_bytes()
    for s in manifest["shapes"]:
        data = read_bytes(f"{url}/{s['file']}")
        assert (len(data), hashlib.sha256(data).hexdigest()) == (s["bytes"], s["sha256"])
        assert data == (remote_cache.staging / s["file"]).read_bytes()
    assert list_names(url) == ["manifest.json", "params.json", "report.json", "shapes"]


def test_a_second_prepare_into_the_url_does_nothing(remote_cache, tiny_collection, capsys):
    url = remote_cache.url
    before = read_bytes(f"{url}/manifest.json")
    assert main(["prepare", "folder", str(tiny_collection), "--out", url, *_PREPARE]) == 0
    out = capsys.readouterr().out
    assert f"cache {url} is up to date (12 shapes" in out and f"cache {url}: already uploaded" in out
    assert read_bytes(f"{url}/manifest.json") == before


def test_fit_and_evaluate_read_the_cache_url_through_one_local_copy(
    remote_cache, local_root, downloads, tmp_path, capsys
):
    from gen3d.datasets.cache import ShapeCache, cache_up_axis

    url = remote_cache.url
    copy = local_root / "caches" / "sha256" / _digest(url)
    assert cache_up_axis(url) == "y" and not copy.exists()  # the up axis comes from the manifest alone

    assert main(fit_args(url, tmp_path / "runs", "trainer.max_steps=2")) == 0
    assert "done at step 2" in capsys.readouterr().out
    assert downloads == [url] and (copy / "manifest.json").is_file()
    record = json.loads((copy / "download.json").read_text())
    assert record["verified"] == "sha256" and len(record["files"]) == 14
    stamp = {p: p.stat().st_mtime_ns for p in copy.rglob("*")}

    rng = np.random.default_rng(0)
    save_samples(tmp_path / "gen.npz", SampleFile(points=rng.normal(size=(6, 32, 3)).astype(np.float32)))
    common = ["--split", "train", "--metrics", "cd", "--bootstrap", "0", "--no-jsd"]
    gen = str(tmp_path / "gen.npz")
    assert main(["evaluate", gen, url, *common, "--out", str(tmp_path / "remote.json")]) == 0
    err = capsys.readouterr().err
    assert "downloading prepared cache" not in err
    assert downloads == [url]  # the second reader used the local copy: nothing downloaded again
    assert {p: p.stat().st_mtime_ns for p in copy.rglob("*")} == stamp
    local = str(remote_cache.staging)
    assert main(["evaluate", gen, local, *common, "--out", str(tmp_path / "local.json")]) == 0
    got = json.loads((tmp_path / "remote.json").read_text())
    want = json.loads((tmp_path / "local.json").read_text())
    assert got["inputs"]["reference"] == url and got["inputs"]["reference_cache"]["path"] == url
    for key in ("mmd", "cov", "1nna"):
        assert got["metrics"]["cd"][key] == want["metrics"]["cd"][key]
    assert ShapeCache(url).source == url and ShapeCache(url).path == copy and downloads == [url]


def test_a_changed_remote_cache_is_downloaded_anew(
    remote_cache, tiny_collection, bucket, local_root, downloads, monkeypatch, capsys
):
    from gen3d.datasets.cache import ShapeCache

    url = f"{bucket}/caches/moving"
    _copy_prefix(remote_cache.url, url)
    first = ShapeCache(url)
    assert first.up_axis == "y" and downloads == [url]
    assert "downloading prepared cache" in capsys.readouterr().err
    assert ShapeCache(url).path == first.path and downloads == [url]

    # the same shapes with another up axis: a new manifest, uploaded last, so a new local copy
    assert main(["prepare", "folder", str(tiny_collection), "--out", url, "--up", "z", *_PREPARE]) == 0
    second = ShapeCache(url)
    assert second.up_axis == "z" and second.path != first.path and downloads == [url, url]
    assert first.path.is_dir()  # the old copy is another content address; left in place
    assert not list((local_root / "caches").glob(".partial-*"))

    # another machine (no local working folder) prepares the same cache without --up: the axis the
    # uploaded manifest records is kept, as a local re-run keeps its folder's
    monkeypatch.setenv("GEN3D_CACHE_DIR", str(local_root.parent / "node2"))
    assert main(["prepare", "folder", str(tiny_collection), "--out", url, *_PREPARE]) == 0
    assert "up axis z" in capsys.readouterr().out
    assert json.loads(read_bytes(f"{url}/manifest.json"))["up_axis"] == "z"


def test_an_upload_that_did_not_finish_is_not_a_cache(
    tiny_collection, bucket, local_root, monkeypatch, capsys
):
    import gen3d.storage.transfer as transfer
    from gen3d.datasets.cache import ShapeCache

    url = f"{bucket}/caches/cut"

    def killed(local, dest, storage_options=None):
        raise KeyboardInterrupt  # the job dies between the last shape file and the manifest

    with monkeypatch.context() as m:
        m.setattr(transfer, "upload_file", killed)
        assert main(["prepare", "folder", str(tiny_collection), "--out", url, *_PREPARE]) == 130
    names = list_names(url)
    assert "shapes" in names and "params.json" in names and "manifest.json" not in names
    with pytest.raises(UserInputError, match="no manifest.json: an upload that did not finish"):
        ShapeCache(url)
    capsys.readouterr()
    args = ["evaluate", str(_samples(local_root)), url, "--bootstrap", "0", "--no-jsd"]
    assert main(args) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and f"{url} is not a prepared cache (the prefix holds" in lines[0], lines
    assert not (local_root / "caches").exists()

    # an empty prefix, as reference and as --train
    empty, gen = f"{bucket}/caches/none", str(_samples(local_root))
    for args in ([gen, empty], [gen, gen, "--train", empty]):
        assert main(["evaluate", *args, "--bootstrap", "0", "--no-jsd"]) == 2
        lines = capsys.readouterr().err.strip().splitlines()
        assert len(lines) == 1 and f"{empty} is not a prepared cache (nothing is there)" in lines[0], lines


def _samples(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder.parent / "gen.npz"
    save_samples(path, SampleFile(points=np.random.default_rng(1).normal(size=(4, 32, 3)).astype(np.float32)))
    return path


@pytest.mark.parametrize("damage", ["truncated", "replaced"])
def test_a_damaged_object_is_refused_and_leaves_no_copy(remote_cache, bucket, local_root, damage, capsys):
    from gen3d.datasets.cache import ShapeCache

    url = f"{bucket}/caches/{damage}"
    _copy_prefix(remote_cache.url, url)
    shape = json.loads(read_bytes(f"{url}/manifest.json"))["shapes"][3]["file"]
    data = read_bytes(f"{url}/{shape}")
    bad = data[: len(data) // 2] if damage == "truncated" else data[:-1] + bytes([data[-1] ^ 1])
    _fs().pipe_file(f"{url}/{shape}".removeprefix("s3://"), bad)
    want = "bytes where the manifest says" if damage == "truncated" else "differs from the manifest's"
    with pytest.raises(IntegrityError, match=want):
        ShapeCache(url)
    assert main(["evaluate", str(_samples(local_root)), url, "--bootstrap", "0", "--no-jsd"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[-1].startswith("gen3d evaluate: error: ") and f"{url}/{shape}" in lines[-1]
    assert not (local_root / "caches" / "sha256").exists()  # nothing taken for a cache
    assert not list((local_root / "caches").glob(".partial-*"))  # and no temporary folder left


def test_a_missing_bucket_is_one_line_for_readers_and_writers(s3, tiny_collection, local_root, capsys):
    url = "s3://gen3d-no-such-bucket/caches/c"
    assert main(["evaluate", str(_samples(local_root)), url, "--bootstrap", "0", "--no-jsd"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no such bucket 'gen3d-no-such-bucket'" in err
    assert main(["prepare", "folder", str(tiny_collection), "--out", url, *_PREPARE]) == 2
    out = capsys.readouterr()
    assert len(out.err.strip().splitlines()) == 1 and "no such bucket 'gen3d-no-such-bucket'" in out.err
    assert "processed" not in out.out  # refused before any shape was prepared


def test_other_parameters_into_a_cache_url_are_refused(remote_cache, tiny_collection, capsys):
    url = remote_cache.url
    args = ["prepare", "folder", str(tiny_collection), "--out", url, "--points", "64", "--no-progress"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert f"{url} holds a cache prepared with different parameters (n_points: 128 -> 64" in err


def test_a_manifest_without_checksums_is_checked_by_sizes(remote_cache, local_root):
    """Caches prepared before the manifest recorded checksums: sizes from the listing; the record says so."""
    import uuid

    from gen3d.datasets.cache import ShapeCache
    from gen3d.storage.filesystem import open_fs

    staging = remote_cache.staging
    url = f"memory://gen3d-old-cache-{uuid.uuid4().hex}"
    fs, root = open_fs(url)
    manifest = json.loads((staging / "manifest.json").read_text())
    for s in manifest["shapes"]:
        s.pop("bytes"), s.pop("sha256")
        fs.pipe_file(f"{root}/{s['file']}", (staging / s["file"]).read_bytes())
    fs.pipe_file(f"{root}/manifest.json", json.dumps(manifest).encode())
    cache = ShapeCache(url)
    assert json.loads((cache.path / "download.json").read_text())["verified"] == "size"
    pts, _, _ = cache.load_points("train")
    assert pts.shape[1:] == (128, 3)
