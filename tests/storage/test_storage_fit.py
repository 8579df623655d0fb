"""``gen3d fit`` with a bucket: ``--mirror`` uploads each new last.ckpt, and a job that lost its local run
folder (killed and requeued on another machine) resumes from the mirror with ``--resume auto``, or from a
checkpoint URL with ``--resume s3://...``."""

from __future__ import annotations

import pytest

from gen3d.cli import main
from gen3d.models import read_checkpoint
from gen3d.storage.transfer import read_bytes
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
