"""Interrupt safety: SIGKILL a running ``gen3d fit`` at an arbitrary moment; the last checkpoint is complete
and ``--resume auto`` continues from its step."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gen3d.cli import main
from gen3d.training.checkpoint import read_checkpoint

from .test_training_cli import fit_args


@pytest.mark.slow  # one extra Python process importing torch + lightning
def test_sigkill_then_resume(tiny_cache, tmp_path):
    args = fit_args(
        tiny_cache,
        tmp_path,
        "trainer.max_steps=100000",
        "trainer.checkpoint_every_n_steps=1",
        "trainer.sample_every_n_steps=0",
    )
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    proc = subprocess.Popen(
        [sys.executable, "-m", "gen3d", *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    last = tmp_path / "t" / "checkpoints" / "last.ckpt"
    try:
        deadline = time.monotonic() + 120
        while not last.is_file() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
        assert last.is_file(), "no checkpoint appeared"
        time.sleep(1.0)  # let it run on: the kill lands at some point of later steps / checkpoint writes
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    step = read_checkpoint(last)["global_step"]  # complete, loadable file whatever the kill interrupted
    assert step >= 1
    assert main(fit_args(tiny_cache, tmp_path, f"trainer.max_steps={step + 2}") + ["--resume", "auto"]) == 0
    assert sorted(p.name for p in last.parent.iterdir()) == ["last.ckpt"]  # no last-v1 beside it
    assert read_checkpoint(last)["global_step"] == step + 2
