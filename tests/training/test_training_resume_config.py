"""``gen3d fit --resume`` through the CLI: a changed config is refused with the list of differences (unless
named with --allow-config-change), and ``--resume auto`` takes the highest stored step, skipping bad files."""

import shutil

import pytest

from gen3d.cli import main
from gen3d.training.checkpoint import read_checkpoint

from .test_training_cli import fit_args

QUIET = ("trainer.sample_every_n_steps=0",)
SLURM_ENV = {
    "SLURM_NTASKS": "1",
    "SLURM_JOB_NAME": "train",
    "SLURM_JOB_ID": "7",
    "SLURM_NODELIST": "node1",
    "SLURM_PROCID": "0",
    "SLURM_LOCALID": "0",
    "SLURM_NODEID": "0",
}


@pytest.fixture(scope="module")
def run_at_2_and_4(tiny_cache, tmp_path_factory):
    """A run trained to step 4; ``step2.ckpt`` beside it is its checkpoint at step 2."""
    root = tmp_path_factory.mktemp("resume_runs")
    assert main(fit_args(tiny_cache, root, "trainer.max_steps=2", *QUIET)) == 0
    shutil.copy(root / "t" / "checkpoints" / "last.ckpt", root / "step2.ckpt")
    assert main(fit_args(tiny_cache, root, "trainer.max_steps=4", *QUIET) + ["--resume", "auto"]) == 0
    return root


def copy_run(src, dst):
    shutil.copytree(src / "t", dst / "t")
    return dst / "t" / "checkpoints"


def test_changed_network_is_refused_with_the_differences(run_at_2_and_4, tiny_cache, tmp_path, capsys):
    copy_run(run_at_2_and_4, tmp_path)
    args = fit_args(tiny_cache, tmp_path, "trainer.max_steps=6", "net.size=small", *QUIET)
    assert main(args + ["--resume", "auto"]) == 2
    err = capsys.readouterr().err
    assert "net.size: tiny -> small" in err and "--allow-config-change net.size" in err
    assert "max_steps" not in err  # safe to change: not listed
    assert "Traceback" not in err
    # allowing it explicitly reaches the weights, which do not fit: a plain error, not a traceback
    assert main(args + ["--resume", "auto", "--allow-config-change", "net.size"]) == 2
    err = capsys.readouterr().err
    assert "holds another network than the config builds" in err and "in the checkpoint" in err


def test_changed_process_is_refused_unless_allowed(run_at_2_and_4, tiny_cache, tmp_path, capsys):
    ck = copy_run(run_at_2_and_4, tmp_path)
    args = fit_args(tiny_cache, tmp_path, "trainer.max_steps=5", "process.name=ve", *QUIET)
    assert main(args + ["--resume", "auto"]) == 2
    err = capsys.readouterr().err
    assert "process.name: edm -> ve" in err
    assert read_checkpoint(ck / "last.ckpt")["global_step"] == 4  # nothing trained
    allowed = main(args + ["--resume", str(ck / "last.ckpt"), "--allow-config-change", "process"])
    assert allowed == 0
    ckpt = read_checkpoint(ck / "last.ckpt")
    assert ckpt["global_step"] == 5 and ckpt["gen3d"]["config"]["process"]["name"] == "ve"


def test_resume_auto_takes_highest_stored_step_and_skips_corrupt(
    run_at_2_and_4, tiny_cache, tmp_path, capsys
):
    ck = copy_run(run_at_2_and_4, tmp_path)
    (ck / "last.ckpt").rename(ck / "step0000004.ckpt")
    shutil.copy(run_at_2_and_4 / "step2.ckpt", ck / "last.ckpt")  # the usual name, but an older step
    corrupt = ck / "step0000099.ckpt"  # newest name and file time, cut short by a crash
    corrupt.write_bytes((ck / "step0000004.ckpt").read_bytes()[:4096])
    assert main(fit_args(tiny_cache, tmp_path, "trainer.max_steps=5", *QUIET) + ["--resume", "auto"]) == 0
    out = capsys.readouterr().out
    skipped = [line for line in out.splitlines() if "skipping" in line]
    assert len(skipped) == 1 and str(corrupt) in skipped[0], out
    assert f"gen3d fit: resuming from {ck / 'step0000004.ckpt'} (step 4)" in out
    assert read_checkpoint(ck / "last.ckpt")["global_step"] == 5


def test_requeued_slurm_job_resumes_from_the_newest_checkpoint(
    run_at_2_and_4, tiny_cache, tmp_path, monkeypatch, capsys
):
    """Without --resume, a SLURM job with requeue checkpoints resumes (as Lightning would), but from the
    newest checkpoint of any kind, not Lightning's hpc_ckpt (written mid-step, here older)."""
    ck = copy_run(run_at_2_and_4, tmp_path)
    shutil.copy(run_at_2_and_4 / "step2.ckpt", tmp_path / "t" / "hpc_ckpt_1.ckpt")
    for key, value in SLURM_ENV.items():
        monkeypatch.setenv(key, value)
    assert main(fit_args(tiny_cache, tmp_path, "trainer.max_steps=5", *QUIET)) == 0
    out = capsys.readouterr().out
    assert "resuming as with --resume auto" in out
    assert f"gen3d fit: resuming from {ck / 'last.ckpt'} (step 4)" in out
    assert read_checkpoint(ck / "last.ckpt")["global_step"] == 5
