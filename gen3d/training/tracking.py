"""Experiment trackers beside ``metrics.csv``: TensorBoard, MLflow and Weights & Biases (offline).

``trainer.logger`` picks one (``csv``, the default, adds none). The tracker is a second Lightning logger next
to :class:`~gen3d.training.csv_log.ResumableCSVLogger`, so it receives exactly what ``metrics.csv`` gets
(``train/loss``, the per-ln(sigma) losses ``train/loss_lnsigma_*``, ``train/lr``, ``val/loss``, ``epoch``)
at the same steps, plus the gallery pictures (:meth:`log_picture`) and, on a fresh run, the resolved config.
It is built on global rank 0 only (the other ranks log nothing anyway; an MLflow SQLite store is then
created by one process).

Where a run is tracked is written to ``<run folder>/tracking.json``
(:data:`gen3d.storage.model_card.TRACKING_RECORD`) when training starts; ``gen3d fit --resume`` reads it to
continue the same tracked run, and ``gen3d publish`` copies it into the model card. It never holds
credentials: URLs are redacted (:func:`gen3d.storage.urls.redact`) and the config refuses URLs that carry
them. On resume from step ``N``:

* TensorBoard: the same log folder ``<run>/tensorboard``; a new event file whose ``purge_step`` makes
  readers drop what an interrupted session logged at steps >= ``N`` (as ``metrics.csv`` drops those rows).
* MLflow: the same run (its id from ``tracking.json``, when the tracking URI is the same); MLflow cannot
  delete values, so steps logged after the last checkpoint of an interrupted session appear twice in a
  metric's history (the later value is the resumed run's).
* W&B offline: the same run id with ``resume="allow"``; each session writes its own
  ``<run>/wandb/offline-run-*-<id>`` folder, all listed in ``tracking.json``; ``wandb sync --id <id>``
  uploads them into one run in start-time order.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
from lightning.pytorch.loggers import MLFlowLogger, TensorBoardLogger, WandbLogger

from gen3d.atomic import atomic_write_text
from gen3d.errors import UserInputError
from gen3d.storage.model_card import TRACKING_RECORD
from gen3d.storage.urls import redact

__all__ = [
    "TrackingRecord",
    "build_loggers",
    "default_mlflow_uri",
    "log_picture",
    "mlflow_tracking_uri",
    "read_tracking",
]

log = logging.getLogger(__name__)

#: format of tracking.json
RECORD_FORMAT = 1


def read_tracking(run_dir: str | os.PathLike) -> dict | None:
    """The run folder's ``tracking.json`` (a dict), or None when it is missing or unreadable."""
    path = Path(run_dir) / TRACKING_RECORD
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def _write_record(run_dir: Path, record: dict) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(run_dir / TRACKING_RECORD, json.dumps(record, indent=1) + "\n")


@contextlib.contextmanager
def _environment_kept(*names: str) -> Iterator[None]:
    """Restore the environment variables ``names`` (set or unset) as they were on entry."""
    before = {n: os.environ.get(n) for n in names}
    try:
        yield
    finally:
        for n, v in before.items():
            if v is None:
                os.environ.pop(n, None)
            else:
                os.environ[n] = v


def _picture(path: str | os.PathLike) -> np.ndarray:
    """The PNG at ``path`` as an (H, W, 3) uint8 array."""
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


# -- TensorBoard -----------------------------------------------------------------------------------------


class GalleryTensorBoardLogger(TensorBoardLogger):
    """TensorBoard in ``<run>/tensorboard`` (one folder across resumes)."""

    tracker = "tensorboard"

    def log_picture(self, path: str | os.PathLike, step: int, key: str = "gallery") -> None:
        self.experiment.add_image(key, _picture(path), step, dataformats="HWC")

    def tracking_record(self) -> dict:
        log_dir = str(Path(self.log_dir).resolve())
        return {"logger": self.tracker, "log_dir": log_dir, "view": f"tensorboard --logdir {log_dir}"}


def _tensorboard(config: dict, run_dir: Path, resume_step: int | None, previous: dict | None):
    # purge_step: a SessionLog.START at the resume step, so readers drop what an interrupted session logged
    # at or after it (its events file stays on disk)
    kwargs: dict[str, Any] = {} if resume_step is None else {"purge_step": int(resume_step)}
    return GalleryTensorBoardLogger(
        os.fspath(run_dir), name="tensorboard", version="", default_hp_metric=False, **kwargs
    )


# -- MLflow ----------------------------------------------------------------------------------------------


def default_mlflow_uri(run_dir: str | os.PathLike) -> str:
    """The local store of a run: ``sqlite:///<run folder>/mlruns/mlflow.db`` (absolute)."""
    return f"sqlite:///{(Path(run_dir) / 'mlruns' / 'mlflow.db').resolve()}"


def mlflow_tracking_uri(config: dict, run_dir: str | os.PathLike) -> tuple[str, bool]:
    """``(tracking URI, is the run folder's own store)``: ``trainer.mlflow_tracking_uri``, else
    ``$MLFLOW_TRACKING_URI``, else :func:`default_mlflow_uri`."""
    uri = config["trainer"].get("mlflow_tracking_uri") or os.environ.get("MLFLOW_TRACKING_URI")
    if uri:
        return str(uri), False
    return default_mlflow_uri(run_dir), True


def _sqlite_artifacts(uri: str) -> str | None:
    """Artifacts of a new experiment in a SQLite store: ``artifacts/`` beside the database file (MLflow's
    own default is a folder in the current directory); None for other stores (the store decides)."""
    prefix = "sqlite:///"
    if not uri.startswith(prefix) or len(uri) == len(prefix):
        return None
    return (Path(uri[len(prefix) :]).parent / "artifacts").resolve().as_uri()


def _mlflow_run_url(uri: str, experiment_id: str | None, run_id: str | None) -> str | None:
    """The web page of a run on a tracking server (http/https URIs only)."""
    shown = redact(uri).rstrip("/")
    if not shown.lower().startswith(("http://", "https://")) or not run_id:
        return None
    return f"{shown}/#/experiments/{experiment_id}/runs/{run_id}"


class GalleryMLFlowLogger(MLFlowLogger):
    """Lightning's MLflow logger that reopens a resumed run (status RUNNING) and logs gallery pictures."""

    tracker = "mlflow"

    def __init__(self, *args, resumed: bool = False, local_store: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._resumed = resumed
        self._local_store = local_store

    @property
    def experiment(self):
        first = not self._initialized
        # Lightning calls mlflow.set_tracking_uri, which also exports MLFLOW_TRACKING_URI: a later run in this
        # process (or a child) would then log into this run's store
        with _environment_kept("MLFLOW_TRACKING_URI"):
            client = super().experiment
        if first and self._resumed and self._run_id is not None:
            client.update_run(self._run_id, status="RUNNING")  # finalize() marks it FINISHED again
        return client

    def finalize(self, status: str = "success") -> None:
        # MLflow prints the run's URL as given (with any user info in it) when the run ends: gen3d fit prints
        # its own line, redacted
        with _environment_kept("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT"):
            os.environ["MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT"] = "true"
            super().finalize(status)

    def log_picture(self, path: str | os.PathLike, step: int, key: str = "gallery") -> None:
        from PIL import Image

        with Image.open(path) as im:
            self.experiment.log_image(self.run_id, im.convert("RGB"), key=key, step=int(step))

    def tracking_record(self) -> dict:
        run_id, experiment_id = self.run_id, self.experiment_id
        uri = redact(self._tracking_uri)
        record = {
            "logger": self.tracker,
            "tracking_uri": uri,
            "local_store": self._local_store,
            "experiment": self._experiment_name,
            "experiment_id": experiment_id,
            "run_id": run_id,
            "run_url": _mlflow_run_url(self._tracking_uri, experiment_id, run_id),
        }
        if not record["run_url"]:
            record["view"] = f"mlflow ui --backend-store-uri {uri}"
        return record


def _mlflow(config: dict, run_dir: Path, resume_step: int | None, previous: dict | None):
    uri, local = mlflow_tracking_uri(config, run_dir)
    if local:
        (run_dir / "mlruns").mkdir(parents=True, exist_ok=True)
    artifacts = _sqlite_artifacts(uri)
    run_id = None
    if resume_step is not None and previous and previous.get("logger") == "mlflow":
        same_store = previous.get("local_store") if local else previous.get("tracking_uri") == redact(uri)
        run_id = previous.get("run_id") if same_store else None
    if run_id is not None and not _mlflow_run_exists(uri, run_id):
        log.warning("MLflow run %s is not in %s any more: starting a new run", run_id, redact(uri))
        run_id = None
    name = str(config["experiment"]["name"])
    try:
        return GalleryMLFlowLogger(
            experiment_name=str(config["trainer"].get("mlflow_experiment") or name),
            run_name=name,
            tracking_uri=uri,
            artifact_location=artifacts,
            run_id=run_id,
            resumed=run_id is not None,
            local_store=local,
        )
    except Exception as e:  # noqa: BLE001 - MLflow's own errors (MlflowException) carry the reason
        raise UserInputError(
            f"trainer.logger=mlflow: cannot open the tracking store {redact(uri)}: {_first_line(e)}"
        ) from e


def _mlflow_run_exists(uri: str, run_id: str) -> bool:
    from mlflow.tracking import MlflowClient

    try:
        MlflowClient(uri).get_run(run_id)
    except Exception:  # noqa: BLE001 - MlflowException (no such run), a store that no longer opens
        return False
    return True


def _first_line(e: BaseException) -> str:
    """``Type: first line of the message``, user info of any URL in it removed."""
    import re

    text = str(e).strip().splitlines()
    line = re.sub(r"([A-Za-z][A-Za-z0-9+.\-]*://)[^/@\s]*@", r"\1", text[0] if text else "")
    return f"{type(e).__name__}: {line}"


# -- Weights & Biases (offline) --------------------------------------------------------------------------


class OfflineWandbLogger(WandbLogger):
    """Lightning's W&B logger in offline mode that finishes its run when training ends (the next run in the
    same process starts its own), and lists each session's offline folder."""

    tracker = "wandb"

    def __init__(self, *args, earlier_runs: list[str] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._wandb_init.pop("anonymous", None)  # Lightning always passes it; wandb 0.31 warns about it
        self._earlier_runs = list(earlier_runs or [])

    def finalize(self, status: str) -> None:
        import wandb

        super().finalize(status)
        if self._experiment is not None:
            code = 0 if status == "success" else 1
            self._experiment.finish(exit_code=code)
            self._experiment = None
            # finish() can return before wandb-core has written the session's records to its .wandb file;
            # teardown waits for the service to stop (the next run in this process starts a new one)
            wandb.teardown(exit_code=code)

    def log_picture(self, path: str | os.PathLike, step: int, key: str = "gallery") -> None:
        self.log_image(key=key, images=[os.fspath(path)], step=int(step))

    def tracking_record(self) -> dict:
        run = self.experiment
        sync_dir = str(Path(run.settings.sync_dir).resolve())
        runs = [*(r for r in self._earlier_runs if r != sync_dir), sync_dir]
        project = self._project
        return {
            "logger": self.tracker,
            "mode": "offline",
            "project": project,
            "run_id": run.id,
            "dir": str(Path(sync_dir).parent),
            "offline_runs": runs,
            "sync": f"wandb sync --id {run.id} -p {project} {' '.join(runs)}",
        }


def _wandb(config: dict, run_dir: Path, resume_step: int | None, previous: dict | None):
    import wandb

    project = str(config["trainer"].get("wandb_project") or "gen3d")
    run_id, earlier = None, []
    if resume_step is not None and previous and previous.get("logger") == "wandb":
        if previous.get("project") == project:
            run_id, earlier = previous.get("run_id"), list(previous.get("offline_runs") or [])
    # no console capture (gen3d's own lines stay as they are), no code copy, and no system-metrics sampler or
    # machine probe (they look for cloud metadata services; an offline run should not touch the network)
    settings = wandb.Settings(
        silent=True,
        console="off",
        save_code=False,
        x_disable_stats=True,
        x_disable_machine_info=True,
    )
    run_dir.mkdir(parents=True, exist_ok=True)  # wandb looks for a git repository from here
    if run_id:
        _after_last_session(run_dir / "wandb", run_id)
    return OfflineWandbLogger(
        name=str(config["experiment"]["name"]),
        save_dir=os.fspath(run_dir),
        id=run_id or secrets.token_hex(4),  # W&B-style: 8 lower-case hex characters
        project=project,
        mode="offline",  # never the network; not `offline=True`, which sets WANDB_MODE for the process
        settings=settings,
        earlier_runs=earlier,
    )


def _after_last_session(wandb_dir: Path, run_id: str) -> None:
    """Wait (at most a second) until the clock is past the second of the run's newest offline folder
    (``offline-run-<YYYYmmdd_HHMMSS>-<id>``): a session that starts in the same second would get the same
    folder name and overwrite the earlier session's run file."""
    import time

    stamps = [p.name.split("-")[2] for p in wandb_dir.glob(f"offline-run-*-{run_id}")]
    deadline = time.monotonic() + 1.5  # a folder from the future (a clock set back) is not waited for
    while stamps and time.strftime("%Y%m%d_%H%M%S") <= max(stamps) and time.monotonic() < deadline:
        time.sleep(0.05)


_BUILDERS = {"tensorboard": _tensorboard, "mlflow": _mlflow, "wandb": _wandb}


def _global_rank() -> int:
    from lightning.pytorch.utilities import rank_zero_only

    return int(getattr(rank_zero_only, "rank", 0) or 0)


def build_loggers(config: dict, run_dir: str | os.PathLike, resume_step: int | None = None) -> list:
    """``[ResumableCSVLogger, tracker]`` for ``trainer.logger`` (CSV first: ``trainer.log_dir`` stays
    ``<run>/logs``); ``[ResumableCSVLogger]`` for ``csv`` and on ranks other than 0."""
    from gen3d.training.csv_log import ResumableCSVLogger

    run_dir = Path(run_dir)
    loggers: list = [ResumableCSVLogger(run_dir, resume_step=resume_step)]
    name = config["trainer"].get("logger") or "csv"
    if name == "csv" or _global_rank() != 0:
        return loggers
    from gen3d.config import check_tracking

    check_tracking(config["trainer"])  # a config not loaded here (gen3d distill's, from its teacher)
    previous = read_tracking(run_dir) if resume_step is not None else None
    return [*loggers, _BUILDERS[name](config, run_dir, resume_step, previous)]


def log_picture(logger, path: str | os.PathLike, step: int, key: str = "gallery") -> bool:
    """Log the PNG at ``path`` as an image at ``step`` to ``logger`` when it takes images; True if it did."""
    own = getattr(logger, "log_picture", None)
    if callable(own):
        own(path, step, key=key)
        return True
    if hasattr(logger, "log_image"):  # another Lightning logger that takes images (e.g. WandbLogger)
        logger.log_image(key=key, images=[os.fspath(path)], step=step)
        return True
    if hasattr(getattr(logger, "experiment", None), "add_image"):  # a TensorBoard SummaryWriter
        logger.experiment.add_image(key, _picture(path), step, dataformats="HWC")
        return True
    return False


class TrackingRecord(L.Callback):
    """When training starts (rank 0): write ``<run>/tracking.json`` for the tracker among the trainer's
    loggers, and on a fresh run log the resolved config as its hyperparameters. A fresh run without a
    tracker removes a record left by an earlier run in the same folder."""

    def __init__(self, run_dir: str | os.PathLike, config: dict, resume_step: int | None = None) -> None:
        self.run_dir = Path(run_dir)
        self.config = config
        self.resume_step = resume_step
        self.resumed = resume_step is not None
        self.record: dict | None = None

    def on_fit_start(self, trainer, pl_module) -> None:
        if not trainer.is_global_zero:
            return
        # looked up on the class: fast_dev_run's DummyLogger answers every attribute with a no-op method
        trackers = [lg for lg in trainer.loggers if callable(getattr(type(lg), "tracking_record", None))]
        if not trackers:
            if not self.resumed:
                (self.run_dir / TRACKING_RECORD).unlink(missing_ok=True)
            return
        tracker = trackers[0]
        try:  # the first call to the tracker: a store or server that cannot be reached fails here
            self.record = {"format": RECORD_FORMAT, **tracker.tracking_record()}
            if not self.resumed:
                tracker.log_hyperparams(self.config)
        except Exception as e:  # noqa: BLE001 - the tracker's own errors carry the reason
            raise UserInputError(f"trainer.logger={tracker.tracker}: {_first_line(e)}") from e
        step = self.resume_step
        if step is not None and tracker.tracker == "tensorboard":
            # the purge at the resume step N also drops the gallery picture drawn at step N (after the N-th
            # optimiser step, so before the checkpoint): log it again from the gallery folder
            picture = self.run_dir / "gallery" / f"step_{int(step):07d}.png"
            if picture.is_file():
                tracker.log_picture(picture, int(step))
        _write_record(self.run_dir, self.record)
