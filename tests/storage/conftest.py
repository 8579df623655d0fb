"""Storage fixtures: a real S3-compatible server (moto's, over HTTP on 127.0.0.1), its environment, fresh
buckets, and a tiny gen3d checkpoint trained on nothing but written by the real components.

The server runs for the session in a thread of the test process (``ThreadedMotoServer``); the tests talk to
it through s3fs exactly as a user's job would (``AWS_ENDPOINT_URL``), and subprocesses get the same
environment (:func:`s3_env`). Every test that uses it is in the xdist group ``storage_s3``, so one worker
starts one server. No request leaves the loopback interface: the endpoint is ``127.0.0.1``, the credentials
are fixed strings, and ``AWS_EC2_METADATA_DISABLED`` stops botocore from looking for instance credentials.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.training.conftest import tiny_cache, tiny_collection  # noqa: F401  (fixtures reused as they are)

#: environment keys a user would set for an S3-compatible store (values filled by the ``s3`` fixture)
S3_ENV_KEYS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL")
_buckets = itertools.count()


@pytest.fixture(scope="session")
def s3_server():
    """``http://127.0.0.1:<port>`` of a moto S3 server running for the session."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def base_env(endpoint: str, cache_dir: Path) -> dict:
    """The environment of a process that uses the store at ``endpoint`` (also for subprocesses)."""
    return {
        "AWS_ACCESS_KEY_ID": "gen3d-test",
        "AWS_SECRET_ACCESS_KEY": "gen3d-test-secret",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "GEN3D_CACHE_DIR": str(cache_dir),
    }


@pytest.fixture(scope="session")
def s3(s3_server, tmp_path_factory):
    """The session's process environment pointed at the moto server; returns that environment."""
    env = base_env(s3_server, tmp_path_factory.mktemp("gen3d-cache"))
    mp = pytest.MonkeyPatch()
    for k, v in env.items():
        mp.setenv(k, v)
    for k in (
        "AWS_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_ENDPOINT_URL_S3",
        "FSSPEC_S3",
        "FSSPEC_S3_ENDPOINT_URL",
    ):
        mp.delenv(k, raising=False)
    yield env
    mp.undo()


@pytest.fixture
def bucket(s3) -> str:
    """A new, empty bucket on the moto server; returns ``s3://<name>``."""
    from gen3d.storage.filesystem import open_fs

    name = f"gen3d-test-{os.getpid()}-{next(_buckets)}"
    fs, _ = open_fs(f"s3://{name}")
    fs.mkdir(name)
    return f"s3://{name}"


def s3_env(s3: dict, **extra: str) -> dict:
    """``os.environ`` for a subprocess that uses the moto server (plus ``extra``)."""
    return {**os.environ, **s3, **extra}


def run_cli(args: list[str], env: dict, timeout: float = 120) -> subprocess.CompletedProcess:
    """``gen3d <args>`` in a second Python process (as a user's next job would run it)."""
    return subprocess.run(
        [sys.executable, "-m", "gen3d", *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def free_port() -> int:
    """A loopback TCP port nothing listens on (bound then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """``(ckpt path, config)``: a tiny unconditional EDM + PVCNN checkpoint for 16-point clouds whose
    ``data.cache_dir`` is a fake prepared cache (``manifest.json`` with 3 chair and 2 table shapes)."""
    import torch

    from gen3d.config import load_config
    from gen3d.training.components import build_module

    root = tmp_path_factory.mktemp("model")
    cache = root / "cache"
    cache.mkdir()
    shapes = [{"category": c, "split": s} for c, s in [("chair", "train")] * 2 + [("chair", "val")]]
    shapes += [{"category": "table", "split": "train"}] * 2
    manifest = {"format": 1, "params": {"n_points": 16}, "normalization": {"kind": "bbox"}, "shapes": shapes}
    (cache / "manifest.json").write_text(json.dumps(manifest))
    torch.manual_seed(0)
    overrides = [
        "experiment.class_cond=false",
        "data.n_points=16",
        "net.size=tiny",
        f"data.cache_dir={cache}",
    ]
    module, config = build_module(load_config("demo_points", overrides))
    for v in module.ema.shadow.values():
        if v.is_floating_point():
            v.add_(0.01)  # EMA and raw weights differ, so a test can tell which ones were loaded
    ckpt = {"state_dict": module.state_dict(), "global_step": 7}
    module.on_save_checkpoint(ckpt)
    path = root / "edm.ckpt"
    torch.save(ckpt, path)
    return path, config


@pytest.fixture(scope="session")
def eval_json(tmp_path_factory) -> Path:
    """A real ``gen3d evaluate`` record (4 vs 4 random 16-point clouds, no bootstrap, no JSD)."""
    import numpy as np

    from gen3d.cli import main
    from gen3d.sample_file import SampleFile, save_samples

    d = tmp_path_factory.mktemp("eval")
    rng = np.random.default_rng(0)
    for name in ("gen", "ref"):
        save_samples(d / f"{name}.npz", SampleFile(points=rng.normal(size=(4, 16, 3)).astype(np.float32)))
    out = d / "eval.json"
    args = ["evaluate", str(d / "gen.npz"), str(d / "ref.npz"), "--bootstrap", "0", "--no-jsd"]
    assert main([*args, "--out", str(out)]) == 0
    return out
