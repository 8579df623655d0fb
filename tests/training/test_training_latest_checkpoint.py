"""``--resume auto`` picks the readable checkpoint with the highest stored step, whatever its name or time."""

import os

import pytest
import torch

from gen3d.errors import CheckpointError
from gen3d.training.latest_checkpoint import checkpoint_candidates, newest_checkpoint, stored_step


def fake_ckpt(path, step):
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"global_step": step, "state_dict": {"w": torch.full((3,), float(step))}, "gen3d": {}}, path)
    return path


def test_highest_stored_step_wins_over_newer_files(tmp_path):
    ck = tmp_path / "checkpoints"
    best = fake_ckpt(ck / "step0000006.ckpt", 6)
    fake_ckpt(ck / "last.ckpt", 4)
    fake_ckpt(tmp_path / "hpc_ckpt_1.ckpt", 5)
    os.utime(best, (1, 1))  # the oldest file on disk
    truncated = ck / "step0000099.ckpt"  # newest name and time, but cut short by a crash
    truncated.write_bytes((ck / "last.ckpt").read_bytes()[:200])
    (ck / "notes.ckpt").write_bytes(b"not a checkpoint")
    (ck / ".last.ckpt.abc123.ckpt").write_bytes(b"temp file of an interrupted write")
    notes = []
    assert newest_checkpoint(tmp_path, note=notes.append) == best
    assert len(notes) == 2, notes
    assert any(str(truncated) in n and "truncated or corrupt" in n for n in notes)
    assert any("notes.ckpt" in n for n in notes)
    assert all(n.startswith("gen3d fit: --resume auto: skipping ") for n in notes)
    assert ".last.ckpt.abc123.ckpt" not in " ".join(p.name for p in checkpoint_candidates(tmp_path))


def test_tie_prefers_batch_end_checkpoints_over_lightning_hpc(tmp_path):
    fake_ckpt(tmp_path / "hpc_ckpt_3.ckpt", 7)  # written inside a signal handler, maybe mid-step
    fake_ckpt(tmp_path / "checkpoints" / "step0000007.ckpt", 7)
    assert newest_checkpoint(tmp_path).name == "step0000007.ckpt"
    fake_ckpt(tmp_path / "checkpoints" / "last.ckpt", 7)
    assert newest_checkpoint(tmp_path).name == "last.ckpt"


def test_empty_run_and_all_unreadable(tmp_path):
    assert newest_checkpoint(tmp_path / "nothing") is None
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "last.ckpt").write_bytes(b"\0" * 64)
    with pytest.raises(CheckpointError, match="none of the 1 checkpoint file"):
        newest_checkpoint(tmp_path, note=lambda line: None)
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        stored_step(tmp_path / "checkpoints" / "last.ckpt")
