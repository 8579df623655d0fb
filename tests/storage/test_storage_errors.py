"""What a user sees when the store is not what they think: one line, quickly, through the CLI.

Missing bucket, unreachable endpoint (a closed port, and a port that accepts but never answers), refused
credentials (a second moto server with authentication on), a truncated checkpoint object, and a store whose
fsspec implementation is not installed.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import pytest

from gen3d.cli import main
from tests.storage.conftest import free_port, run_cli, s3_env

pytestmark = pytest.mark.xdist_group("storage_s3")


def _one_line_error(res: subprocess.CompletedProcess, command: str) -> str:
    assert res.returncode == 2, res.stdout + res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"gen3d {command}: error: "), res.stderr
    return lines[0]


def test_missing_bucket_is_named(s3, capsys):
    assert main(["models", "s3://gen3d-no-such-bucket/registry"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("gen3d models: error: ") and len(err.splitlines()) == 1
    assert "no such bucket 'gen3d-no-such-bucket'" in err and s3["AWS_ENDPOINT_URL"] in err


def test_closed_endpoint_fails_fast_with_one_line(s3):
    env = s3_env(s3, AWS_ENDPOINT_URL=f"http://127.0.0.1:{free_port()}")
    t0 = time.monotonic()
    line = _one_line_error(run_cli(["models", "s3://any-bucket/registry"], env, timeout=60), "models")
    assert time.monotonic() - t0 < 20
    assert "endpoint unreachable" in line and "AWS_ENDPOINT_URL" in line


def test_silent_endpoint_times_out_instead_of_hanging(s3):
    """A server that accepts the connection and never answers: the read timeout (set the fsspec way,
    FSSPEC_S3 JSON, over gen3d's defaults) ends it: 2 x 2 attempts of 0.5 s plus a short backoff."""
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen(16)
        env = s3_env(s3, AWS_ENDPOINT_URL=f"http://127.0.0.1:{srv.getsockname()[1]}")
        env["FSSPEC_S3"] = '{"config_kwargs": {"read_timeout": 0.5}}'
        t0 = time.monotonic()
        line = _one_line_error(run_cli(["models", "s3://any-bucket/registry"], env, timeout=60), "models")
        elapsed = time.monotonic() - t0
    assert "endpoint unreachable" in line, line
    assert elapsed < 20, elapsed  # botocore's default read timeout alone is 60 s per attempt


@pytest.fixture
def auth_server(s3):
    """A second moto server that checks credentials (``INITIAL_NO_AUTH_ACTION_COUNT=0``)."""
    import urllib.request

    port = free_port()
    env = s3_env(s3, INITIAL_NO_AUTH_ACTION_COUNT="0")
    cmd = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(f"{url}/moto-api/", timeout=1)
                break
            except OSError:
                time.sleep(0.05)
        else:
            raise RuntimeError("moto server with authentication did not start")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_refused_credentials_are_access_denied(s3, auth_server, tiny_model):
    env = s3_env(s3, AWS_ENDPOINT_URL=auth_server)
    line = _one_line_error(run_cli(["models", "s3://some-bucket/registry"], env), "models")
    assert "access denied" in line and "AWS_ACCESS_KEY_ID" in line
    assert s3["AWS_SECRET_ACCESS_KEY"] not in line


def test_truncated_checkpoint_object_is_refused(bucket, tiny_model, tmp_path, capsys):
    from gen3d.storage.transfer import write_bytes

    data = tiny_model[0].read_bytes()
    write_bytes(f"{bucket}/run/last.ckpt", data[: len(data) // 2])  # what an interrupted copy would leave
    out = tmp_path / "s.npz"
    args = ["sample", "--ckpt", f"{bucket}/run/last.ckpt", "--n", "1", "--steps", "1", "--out", str(out)]
    assert main([*args, "--device", "cpu", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert f"cannot read checkpoint {bucket}/run/last.ckpt" in err and "truncated" in err
    assert not out.exists()
    assert main(["sample", "--ckpt", f"{bucket}/run/none.ckpt", "--out", str(out)]) == 2
    assert f"no checkpoint object at {bucket}/run/none.ckpt" in capsys.readouterr().err


def test_missing_fsspec_implementation_is_one_line(capsys):
    assert main(["models", "nosuchproto://bucket/registry"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gen3d models: error: ") and "nosuchproto" in err and "install" in err
