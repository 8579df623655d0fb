"""CSV metrics that survive a resume.

Lightning's ``CSVLogger`` deletes an existing ``metrics.csv`` when its writer starts, so a resumed run loses
every row logged before the interruption. :class:`ResumableCSVLogger` keeps them: resuming from step ``N``, it
keeps the rows logged before step ``N`` (the rows at or after ``N`` were logged after the checkpoint and are
logged again), rewrites the file atomically with those rows, and appends from there. A fresh run (no resume
step) behaves as Lightning's.
"""

from __future__ import annotations

import csv
import logging
import os

from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter
from lightning.pytorch.loggers.logger import rank_zero_experiment

from gen3d.atomic import atomic_path

__all__ = ["ResumableCSVLogger"]

log = logging.getLogger(__name__)


class _KeepingWriter(ExperimentWriter):
    def __init__(self, log_dir: str, resume_step: int | None) -> None:
        self._resume_step = resume_step
        super().__init__(log_dir=log_dir)

    def _check_log_dir_exists(self) -> None:
        if self._resume_step is None or not os.path.isfile(self.metrics_file_path):
            super()._check_log_dir_exists()
            return
        try:
            with open(self.metrics_file_path, newline="") as f:
                reader = csv.DictReader(f)
                keys = list(reader.fieldnames or [])
                rows = [
                    r for r in reader if r.get("step", "") != "" and int(float(r["step"])) < self._resume_step
                ]
        except (UnicodeDecodeError, ValueError, csv.Error) as e:
            # a damaged log must not stop the resume, nor be overwritten: set it aside, start a new one
            aside = self.metrics_file_path + ".unreadable"
            os.replace(self.metrics_file_path, aside)
            log.warning("metrics.csv could not be read (%s); kept as %s, logging starts anew", e, aside)
            return
        with atomic_path(self.metrics_file_path, suffix=".csv") as tmp:
            with open(tmp, "w", newline="") as f:
                w = csv.DictWriter(f, fieldnames=keys)
                w.writeheader()
                w.writerows(rows)
        self.metrics_keys = sorted(keys)


class ResumableCSVLogger(CSVLogger):
    """``CSVLogger(save_dir, name="logs", version="")`` that keeps the history of a resumed run.

    ``resume_step``: the global step the run resumes from (None: a fresh run).
    """

    def __init__(self, save_dir: str | os.PathLike, resume_step: int | None = None) -> None:
        super().__init__(os.fspath(save_dir), name="logs", version="")
        self._resume_step = None if resume_step is None else int(resume_step)

    @property
    @rank_zero_experiment
    def experiment(self) -> ExperimentWriter:
        if self._experiment is None:
            self._fs.makedirs(self.root_dir, exist_ok=True)
            self._experiment = _KeepingWriter(self.log_dir, self._resume_step)
        return self._experiment
