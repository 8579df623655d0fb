"""Atomic writes and verified reads on a real S3 server (moto over HTTP), ``memory://`` and ``file://``.

The contract under test (gen3d/storage/transfer.py): while a writer runs nothing is under the final key; a
writer that fails leaves nothing there (and no temporary file); a writer that succeeds leaves exactly its
bytes; an exclusive create succeeds once.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from gen3d.atomic import atomic_path, atomic_write_text
from gen3d.storage.errors import IntegrityError
from gen3d.storage.transfer import create_exclusive, download, exists, list_names, read_bytes, write_bytes

pytestmark = pytest.mark.xdist_group("storage_s3")


@pytest.fixture(params=["s3", "memory", "file"])
def root(request, tmp_path) -> str:
    """A fresh folder URL on each backend."""
    if request.param == "s3":
        return request.getfixturevalue("bucket") + "/dir"
    if request.param == "memory":
        return f"memory://gen3d-test-{uuid.uuid4().hex}"
    return f"file://{tmp_path}/dir"


def test_interrupted_write_leaves_nothing_under_the_final_key(root):
    url = f"{root}/obj.bin"
    used = []
    with pytest.raises(KeyboardInterrupt), atomic_path(url) as tmp:
        used.append(Path(tmp))
        tmp.write_bytes(b"x" * 100_000)  # half of what the writer meant to write
        assert not exists(url)  # nothing visible while the writer runs
        raise KeyboardInterrupt
    assert not exists(url)
    assert list_names(root) == []
    # the local temporary file is gone too (checked by name: other workers' uploads share the temp folder)
    assert not used[0].exists()


def test_completed_write_leaves_exactly_its_bytes_and_replaces_old_ones(root):
    url = f"{root}/obj.json"
    atomic_write_text(url, "old")
    with atomic_path(url) as tmp:
        tmp.write_text('{"a": 1}')
        assert read_bytes(url) == b"old"  # readers see the old object until the upload
    assert read_bytes(url) == b'{"a": 1}'
    write_bytes(f"{root}/b", b"\x00\x01")
    assert read_bytes(f"{root}/b") == b"\x00\x01"
    assert list_names(root) == ["b", "obj.json"]


def test_exclusive_create_succeeds_once(root):
    url = f"{root}/claim"
    assert create_exclusive(url, b"first")
    assert not create_exclusive(url, b"second")
    assert read_bytes(url) == b"first"


def test_download_checks_size_and_sha256(root, tmp_path):
    import hashlib

    data = os.urandom(3000)
    write_bytes(f"{root}/w", data)
    good = hashlib.sha256(data).hexdigest()
    assert download(f"{root}/w", tmp_path / "ok", size=3000, sha256=good) == (3000, good)
    assert (tmp_path / "ok").read_bytes() == data
    with pytest.raises(IntegrityError, match="truncated or partial"):
        download(f"{root}/w", tmp_path / "short", size=4000)
    with pytest.raises(IntegrityError, match="sha256"):
        download(f"{root}/w", tmp_path / "bad", sha256="0" * 64)
    assert not (tmp_path / "short").exists() and not (tmp_path / "bad").exists()


def test_a_writer_killed_mid_write_leaves_nothing_under_the_key(s3, bucket):
    """SIGKILL (no cleanup code runs) while the writer of an S3 object is half-way: no object appears."""
    import signal
    import subprocess
    import sys

    from tests.storage.conftest import s3_env

    url = f"{bucket}/killed.npz"
    code = (
        "import sys, time\nfrom gen3d.atomic import atomic_path\n"
        f"with atomic_path({url!r}) as tmp:\n"
        "    tmp.write_bytes(b'half of the data')\n    print(tmp, flush=True)\n    time.sleep(60)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], env=s3_env(s3), stdout=subprocess.PIPE, text=True)
    try:
        tmp = proc.stdout.readline().strip()  # the writer is inside the block
        assert tmp.endswith(".npz") and os.path.getsize(tmp) == 16
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        proc.kill()
        proc.stdout.close()
    assert not exists(url) and list_names(bucket) == []
    os.unlink(tmp)  # a killed process cannot remove its local temporary file; the bucket never saw it
