"""Training metrics survive a resume: metrics.csv keeps the rows before the resume step, once each."""

import csv
import shutil

from gen3d.cli import main

from .test_training_cli import fit_args


def _steps(path):
    with open(path, newline="") as f:
        return [int(float(r["step"])) for r in csv.DictReader(f) if r.get("train/loss")]


def test_resumed_run_keeps_its_earlier_metrics(tiny_cache, tmp_path):
    base = fit_args(tiny_cache, tmp_path, "trainer.sample_every_n_steps=0")
    assert main(base) == 0  # steps 0..3, checkpoint at step 4
    metrics = tmp_path / "t" / "logs" / "metrics.csv"
    assert _steps(metrics) == [0, 1, 2, 3]
    # a run killed after logging a step past its last checkpoint leaves that row behind; the resumed run
    # logs it again, so the stale row must go
    with open(metrics, newline="") as f:
        rows = list(csv.DictReader(f))
    stale = dict(rows[-1], step="4")
    with open(metrics, "a", newline="") as f:
        csv.DictWriter(f, fieldnames=list(rows[0])).writerow(stale)
    assert _steps(metrics) == [0, 1, 2, 3, 4]
    assert (
        main(
            fit_args(tiny_cache, tmp_path, "trainer.sample_every_n_steps=0", "trainer.max_steps=7")
            + ["--resume", "auto"]
        )
        == 0
    )
    assert _steps(metrics) == [0, 1, 2, 3, 4, 5, 6]


def test_fresh_run_in_an_existing_directory_starts_a_new_log(tiny_cache, tmp_path):
    base = fit_args(tiny_cache, tmp_path, "trainer.sample_every_n_steps=0", "trainer.max_steps=2")
    assert main(base) == 0
    shutil.rmtree(tmp_path / "t" / "checkpoints")
    assert main(base) == 0  # no --resume: a new run, as with Lightning's own CSVLogger
    assert _steps(tmp_path / "t" / "logs" / "metrics.csv") == [0, 1]


def test_an_unreadable_log_is_set_aside_not_fatal(tmp_path):
    from gen3d.training.csv_log import ResumableCSVLogger

    logs = tmp_path / "logs"
    logs.mkdir()
    damaged = b"epoch,step,train/loss\n0,abc,1.0\n\x00\xff"
    (logs / "metrics.csv").write_bytes(damaged)
    writer = ResumableCSVLogger(tmp_path, resume_step=3).experiment
    assert (logs / "metrics.csv.unreadable").read_bytes() == damaged  # nothing lost
    writer.log_metrics({"train/loss": 0.5}, step=3)
    writer.save()
    assert _steps(logs / "metrics.csv") == [3]
