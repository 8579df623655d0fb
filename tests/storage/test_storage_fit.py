"""``gen3d fit`` with a bucket: ``--mirror`` uploads each new last.ckpt, and a job that lost its local run
folder (killed and requeued on another machine) resumes from the mirror with ``--resume auto``, or from a
checkpoint URL with ``--resume s3://...``."""

from __future__ import annotations

import csv
import io
import shutil
import signal
import subprocess
import sys
import time

import pytest

from gen3d.cli import main
from gen3d.models import read_checkpoint
from gen3d.storage.transfer import read_bytes
from tests.storage.conftest import s3_env
from tests.training.test_training_cli import fit_args

pytestmark = pytest.mark.xdist_group("storage_s3")


def test_fit_mirrors_to_a_bucket_and_resumes_from_it_on_another_machine(bucket, tiny_cache, tmp_path, capsys):
    mirror = f"{bucket}/runs/t"
    first = fit_args(tiny_cache, tmp_path / "node1", "trainer.max_steps=4")
    assert main([*first, "--mirror", mirror]) == 0
    out = capsys.readouterr().out
    assert f"mirrored last.ckpt to {mirror}/checkpoints/last.ckpt (2 upload(s))" in out  # steps 2 and 4
    assert read_checkpoint(f"{mirror}/checkpoints/last.ckpt")["global_step"] == 4

    # node 2 has an empty disk: --resume auto finds no local checkpoint and continues from the mirror
    second = fit_args(tiny_cache, tmp_path / "node2", "trainer.max_steps=6")
    assert main([*second, "--mirror", mirror, "--resume", "auto"]) == 0
    out = capsys.readouterr().out
    assert (
        "resuming from the mirror" in out and f"resuming from {mirror}/checkpoints/last.ckpt (step 4)" in out
    )
    local = read_checkpoint(tmp_path / "node2" / "t" / "checkpoints" / "last.ckpt")
    assert local["global_step"] == 6 and local["gen3d"]["ema"]["num_updates"] == 6
    assert read_checkpoint(f"{mirror}/checkpoints/last.ckpt")["global_step"] == 6

    # a third empty node, the mirrored run already at its end: nothing to train, the mirror's checkpoint kept
    done = fit_args(tiny_cache, tmp_path / "node4", "trainer.max_steps=6")
    assert main([*done, "--mirror", mirror, "--resume", "auto"]) == 0
    assert "the run was already at its end; kept" in capsys.readouterr().out
    kept = tmp_path / "node4" / "t" / "checkpoints" / "last.ckpt"
    assert kept.read_bytes() == read_bytes(f"{mirror}/checkpoints/last.ckpt")

    # an explicit checkpoint URL, and one that is not there
    third = fit_args(tiny_cache, tmp_path / "node3", "trainer.max_steps=7")
    assert main([*third, "--resume", f"{mirror}/checkpoints/last.ckpt"]) == 0
    assert read_checkpoint(tmp_path / "node3" / "t" / "checkpoints" / "last.ckpt")["global_step"] == 7
    capsys.readouterr()
    assert main([*third, "--resume", f"{mirror}/checkpoints/none.ckpt"]) == 2
    assert f"--resume: no checkpoint at {mirror}/checkpoints/none.ckpt" in capsys.readouterr().err


def test_fit_refuses_a_mirror_in_a_missing_bucket_before_training(s3, tiny_cache, tmp_path, capsys):
    args = fit_args(tiny_cache, tmp_path, "trainer.max_steps=2")
    assert main([*args, "--mirror", "s3://gen3d-no-such-bucket/runs/t"]) == 2
    assert "no such bucket 'gen3d-no-such-bucket'" in capsys.readouterr().err
    assert not (tmp_path / "t" / "checkpoints" / "last.ckpt").exists()


def _poll_versions(proc, url: str, want: int, log, timeout: float = 180) -> dict:
    """Poll the object at ``url`` while ``proc`` runs until ``want`` distinct versions were seen; each one is
    read whole and must load as a checkpoint (a partial object would not). Returns ETag -> global_step."""
    import torch

    from gen3d.storage.filesystem import open_fs

    fs, path = open_fs(url)
    seen: dict = {}
    deadline = time.monotonic() + timeout
    while len(seen) < want:
        assert proc.poll() is None, f"fit ended before it was killed:\n{log.read_text()[-3000:]}"
        assert time.monotonic() < deadline, f"no {want} mirrored versions in {timeout} s"
        fs.invalidate_cache()
        try:
            etag = fs.info(path)["ETag"]
        except FileNotFoundError:
            etag = None
        if etag is not None and etag not in seen:
            data = fs.cat_file(path)  # this version or a later one: complete either way
            seen[etag] = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)["global_step"]
        time.sleep(0.05)
    return seen


def test_a_killed_fit_resumes_from_the_mirror_after_its_run_folder_is_lost(
    bucket, s3, tiny_cache, tmp_path, capsys
):
    """``gen3d fit --mirror s3://...`` in its own process, SIGKILLed mid-training once the bucket holds a
    checkpoint (no handler runs: no pre-emption checkpoint, no last upload), its run folder deleted; the same
    command with ``--resume auto`` continues from the mirrored step, not from 0, to the requested step."""
    mirror = f"{bucket}/runs/t"
    url = f"{mirror}/checkpoints/last.ckpt"
    node = tmp_path / "node"
    quiet = ("trainer.sample_every_n_steps=0",)  # no gallery: checkpoints every 2 steps only
    first = fit_args(tiny_cache, node, "trainer.max_steps=100000", *quiet)  # would run for many minutes
    log = tmp_path / "fit.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gen3d", *first, "--mirror", mirror],
            env=s3_env(s3),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        seen = _poll_versions(proc, url, want=2, log=log)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert all(step > 0 and step % 2 == 0 for step in seen.values()), seen

    # what the killed job left in the bucket: one complete checkpoint under the final key, nothing else
    from gen3d.storage.filesystem import open_fs

    fs, prefix = open_fs(mirror)
    fs.invalidate_cache()
    assert fs.find(prefix) == [f"{prefix}/checkpoints/last.ckpt"]
    mirrored = read_checkpoint(url)["global_step"]  # size-checked download, torch.load(weights_only=True)
    assert mirrored >= max(seen.values()) > 0

    shutil.rmtree(node)  # the node is gone with its disk; the job is requeued with the same command
    target = mirrored + 4
    again = fit_args(tiny_cache, node, f"trainer.max_steps={target}", *quiet)
    assert main([*again, "--mirror", mirror, "--resume", "auto"]) == 0
    out = capsys.readouterr().out
    assert "no checkpoint in" in out and "resuming from the mirror" in out
    assert f"resuming from {url} (step {mirrored})" in out
    assert f"done at step {target}" in out
    local = read_checkpoint(node / "t" / "checkpoints" / "last.ckpt")
    assert local["global_step"] == target and local["gen3d"]["ema"]["num_updates"] == target
    assert read_checkpoint(url)["global_step"] == target
    # the resumed run trained steps mirrored..target-1 only (the log is new: the old one went with the disk)
    with open(node / "t" / "logs" / "metrics.csv") as f:
        steps = sorted({int(row["step"]) for row in csv.DictReader(f)})
    assert steps == list(range(mirrored, target)), steps
