"""URL or plain path, joining and redaction (no store involved)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gen3d.storage.urls import is_url, join_url, local_path, protocol_of, redact


def test_urls_and_plain_paths_are_told_apart():
    assert is_url("s3://bucket/key") and is_url("memory://x") and is_url("file:///tmp/a")
    assert not is_url("runs/demo/last.ckpt") and not is_url("/abs/path") and not is_url("C:\\x")
    assert not is_url(Path("s3://bucket/key"))  # a Path has lost the '//' already
    assert protocol_of("gs://b/k") == "gs" and protocol_of("runs/x") == "file"


def test_local_path_of_file_urls_and_plain_paths():
    assert local_path("file:///tmp/a%20b/c.ckpt") == Path("/tmp/a b/c.ckpt")
    assert local_path("file://localhost/tmp/c") == Path("/tmp/c")
    assert local_path("runs/x.ckpt") == Path("runs/x.ckpt")
    assert local_path("s3://b/k") is None


def test_join_url_and_refused_parts():
    assert join_url("s3://b/reg/", "m", "v1") == "s3://b/reg/m/v1"
    assert join_url("/tmp/reg", "m") == str(Path("/tmp/reg/m"))
    for bad in ("", "/abs", "a/../b"):
        with pytest.raises(ValueError):
            join_url("s3://b", bad)


def test_redact_removes_credentials_from_urls():
    assert redact("s3://AKIA:s3cr3t@bucket/k") == "s3://bucket/k"
    assert redact("https://host/x?X-Amz-Signature=abc") == "https://host/x"
    assert redact("/plain/path") == "/plain/path"
