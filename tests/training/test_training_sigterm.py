"""Pre-emption through the CLI: SIGTERM a running ``gen3d fit``; it saves a checkpoint, says where and exits
with 143; ``--resume auto`` then ends with exactly the weights, EMA and optimiser of an uninterrupted run."""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from gen3d.cli import main
from gen3d.training.checkpoint import read_checkpoint

from .test_training_cli import fit_args

COMMON = ("trainer.checkpoint_every_n_steps=2", "trainer.sample_every_n_steps=0")


def assert_same_checkpoint(a: dict, b: dict) -> None:
    assert a["global_step"] == b["global_step"]
    for k, v in a["state_dict"].items():
        assert torch.equal(v, b["state_dict"][k]), k
    for k, v in a["gen3d"]["ema"]["shadow"].items():
        assert torch.equal(v, b["gen3d"]["ema"]["shadow"][k]), k
    (oa,), (ob,) = a["optimizer_states"], b["optimizer_states"]
    for i, state in oa["state"].items():
        for key in ("exp_avg", "exp_avg_sq", "step"):
            assert torch.equal(state[key], ob["state"][i][key]), (i, key)


@pytest.mark.slow  # one extra Python process importing torch + lightning
def test_sigterm_saves_checkpoint_and_resume_is_exact(tiny_cache, tmp_path):
    args = fit_args(tiny_cache, tmp_path / "b", "trainer.max_steps=100000", *COMMON)
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    last = tmp_path / "b" / "t" / "checkpoints" / "last.ckpt"
    with open(tmp_path / "out.txt", "w") as out, open(tmp_path / "err.txt", "w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "gen3d", *args], env=env, stdout=out, stderr=err)
        try:
            deadline = time.monotonic() + 120
            while not last.is_file() and time.monotonic() < deadline and proc.poll() is None:
                time.sleep(0.05)  # the first periodic checkpoint (step 2) says training is under way
            assert last.is_file(), (tmp_path / "err.txt").read_text()[-2000:]
            proc.send_signal(signal.SIGTERM)
            rc = proc.wait(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    stdout = (tmp_path / "out.txt").read_text()
    assert rc == 128 + signal.SIGTERM, (stdout, (tmp_path / "err.txt").read_text()[-2000:])
    lines = [line for line in stdout.splitlines() if line.startswith("gen3d fit:")]
    assert len(lines) == 1, lines
    m = re.fullmatch(
        r"gen3d fit: stopped by SIGTERM at step (\d+); checkpoint (.+); continue with the same command and "
        r"--resume auto",
        lines[0],
    )
    assert m and Path(m[2]) == last, lines[0]
    step = int(m[1])
    assert step >= 3  # the signal came after step 2's checkpoint: saved at the end of a later step
    assert read_checkpoint(last)["global_step"] == step
    assert not list(last.parent.glob(".*"))  # no partial files

    total = f"trainer.max_steps={step + 3}"  # max_steps may change on resume
    assert main(fit_args(tiny_cache, tmp_path / "b", total, *COMMON) + ["--resume", "auto"]) == 0
    assert main(fit_args(tiny_cache, tmp_path / "a", total, *COMMON)) == 0
    straight = read_checkpoint(tmp_path / "a" / "t" / "checkpoints" / "last.ckpt")
    resumed = read_checkpoint(last)
    assert resumed["global_step"] == step + 3
    assert_same_checkpoint(straight, resumed)
