"""Experiment trackers (trainer.logger) through the CLI: each tracker's own reader gets back what metrics.csv
holds (losses, per-ln(sigma) losses, lr, epoch) and every gallery picture as an image; resume continues the
same tracked run; the run folder's tracking.json reaches the model card; bad settings are refused at load.

Readers: TensorBoard's EventAccumulator, MLflow's client on the run's local store, and the W&B offline run's
``.wandb`` file (a record log of wandb's protobuf records, read with wandb's own ``wandb_internal_pb2``).
"""

from __future__ import annotations

import csv
import json
import struct
from pathlib import Path

import pytest

from gen3d.cli import main

from .test_training_cli import fit_args

TRACKERS = ("tensorboard", "mlflow", "wandb")
#: the module each tracker's test needs (the dev extra installs them all)
NEEDS = {"tensorboard": "tensorboard", "mlflow": "sqlalchemy", "wandb": "wandb"}


@pytest.fixture(autouse=True)
def _tracker_env(tmp_path, monkeypatch):
    """No tracker settings from the machine; wandb's config, cache and crash reports kept off this machine's
    home and the network."""
    for var in ("MLFLOW_TRACKING_URI", "WANDB_MODE", "WANDB_PROJECT", "WANDB_DIR", "WANDB_RUN_ID"):
        monkeypatch.delenv(var, raising=False)
    for var in ("WANDB_CONFIG_DIR", "WANDB_CACHE_DIR", "WANDB_DATA_DIR"):
        monkeypatch.setenv(var, str(tmp_path / "wandb-home" / var.lower()))
    monkeypatch.setenv("WANDB_ERROR_REPORTING", "false")


# -- what metrics.csv holds ------------------------------------------------------------------------------


def csv_metrics(run: Path) -> dict[tuple[str, int], float]:
    """``{(metric, step): value}`` of every filled cell of ``logs/metrics.csv``."""
    out = {}
    with open(run / "logs" / "metrics.csv", newline="") as f:
        for row in csv.DictReader(f):
            step = int(float(row.pop("step")))
            out.update({(k, step): float(v) for k, v in row.items() if v != ""})
    return out


def gallery_steps(run: Path) -> list[int]:
    return sorted(int(p.stem.split("_")[1]) for p in (run / "gallery").glob("step_*.png"))


# -- each tracker's reader: ({(metric, step): value}, [steps of gallery images]) --------------------------


def read_tensorboard(run: Path, record: dict):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    assert record["log_dir"] == str(run / "tensorboard")
    acc = EventAccumulator(record["log_dir"], size_guidance={"scalars": 0, "images": 0})
    acc.Reload()  # applies the purge at a resume step, as TensorBoard itself does
    metrics = {}
    for tag in acc.Tags()["scalars"]:
        for e in acc.Scalars(tag):
            assert (tag, e.step) not in metrics, f"{tag} logged twice at step {e.step}"
            metrics[(tag, e.step)] = e.value
    images = acc.Images("gallery")
    assert all(i.encoded_image_string[:8] == b"\x89PNG\r\n\x1a\n" and i.width > 50 for i in images)
    return metrics, [i.step for i in images]


def read_mlflow(run: Path, record: dict):
    from mlflow.tracking import MlflowClient

    assert record["tracking_uri"] == f"sqlite:///{run / 'mlruns' / 'mlflow.db'}" and record["local_store"]
    client = MlflowClient(record["tracking_uri"])
    info = client.get_run(record["run_id"])
    assert info.info.status == "FINISHED" and info.info.experiment_id == record["experiment_id"]
    assert len(client.search_runs([record["experiment_id"]])) == 1  # resumed into the same run
    assert info.data.params["trainer/logger"] == "mlflow"  # the resolved config, flattened
    metrics = {}
    for key in info.data.metrics:
        for m in client.get_metric_history(record["run_id"], key):
            assert (key, m.step) not in metrics, f"{key} logged twice at step {m.step}"
            metrics[(key, m.step)] = m.value
    pictures = [a.path for a in client.list_artifacts(record["run_id"], "images") if a.path.endswith(".png")]
    root = Path(info.info.artifact_uri.removeprefix("file://"))
    assert root.is_relative_to(run / "mlruns" / "artifacts")
    for p in pictures:  # images/gallery+step+<step>+timestamp+...png
        assert (root / p).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return metrics, sorted(int(Path(p).name.split("+")[2]) for p in pictures)


def _wandb_records(path: Path):
    """The records of a ``.wandb`` file: a 7-byte header (``:W&B``, magic, version), then 32 KiB blocks of
    chunks, each ``crc32 (4) | length (2) | type (1: full, 2: first, 3: middle, 4: last)`` + data."""
    from wandb.proto import wandb_internal_pb2 as pb

    data, block, head = path.read_bytes(), 32768, 7
    assert data[:4] == b":W&B", f"{path} is not a W&B run file"
    pos, pending = head, b""
    while pos + head <= len(data):
        if block - pos % block < head:  # the rest of a block too short for a header is padding
            pos += block - pos % block
            continue
        _, length, kind = struct.unpack("<IHB", data[pos : pos + head])
        chunk, pos = data[pos + head : pos + head + length], pos + head + length
        pending = chunk if kind in (1, 2) else pending + chunk
        if kind in (1, 4):
            rec = pb.Record()
            rec.ParseFromString(pending)
            yield rec


def read_wandb(run: Path, record: dict):
    assert record["mode"] == "offline" and record["dir"] == str(run / "wandb")
    metrics, pictures = {}, []
    folders = [Path(p) for p in record["offline_runs"]]
    assert sorted(folders) == sorted((run / "wandb").glob(f"offline-run-*-{record['run_id']}"))
    for folder in folders:  # in start order: a later session's value for a step wins, as at `wandb sync`
        for rec in _wandb_records(folder / f"run-{record['run_id']}.wandb"):
            kind = rec.WhichOneof("record_type")
            if kind == "run":
                assert rec.run.run_id == record["run_id"] and rec.run.project == record["project"]
            if kind != "history":
                continue
            row = {i.key or "/".join(i.nested_key): json.loads(i.value_json) for i in rec.history.item}
            step = int(row.pop("trainer/global_step"))
            if row.get("gallery/_type") is not None:
                (name,) = row["gallery/filenames"]
                assert (folder / "files" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
                pictures.append(step)
                continue
            metrics.update({(k, step): float(v) for k, v in row.items() if not k.startswith("_")})
    return metrics, sorted(pictures)


READERS = {"tensorboard": read_tensorboard, "mlflow": read_mlflow, "wandb": read_wandb}


def _add_stale_step(run: Path, step: int) -> None:
    """What a run killed after logging ``step`` past its last checkpoint leaves behind: a CSV row and a
    TensorBoard event at ``step`` (both must be gone once the resumed run logs that step again)."""
    from torch.utils.tensorboard import SummaryWriter

    metrics = run / "logs" / "metrics.csv"
    with open(metrics, newline="") as f:
        rows = list(csv.DictReader(f))
    with open(metrics, "a", newline="") as f:
        csv.DictWriter(f, fieldnames=list(rows[0])).writerow(dict(rows[-1], step=str(step)))
    (first,) = (run / "tensorboard").glob("events.out.tfevents.*")
    writer = SummaryWriter(str(run / "tensorboard"))
    writer.add_scalar("train/loss", 99.0, step)
    writer.close()
    # named to sort after the first session's file and before the resumed one's (TensorBoard reads a folder's
    # files in name order: events.out.tfevents.<seconds>.<host>...)
    (stale,) = set((run / "tensorboard").glob("events.out.tfevents.*")) - {first}
    stale.rename(first.with_name(f"{first.name}.zz-stale"))


@pytest.mark.parametrize("tracker", TRACKERS)
def test_tracker_gets_what_metrics_csv_gets_resumes_and_reaches_the_model_card(
    tracker, tiny_cache, tmp_path, capsys
):
    pytest.importorskip(NEEDS[tracker])
    run = tmp_path / "t"
    # 4 steps, a gallery picture at steps 2 and 4
    assert main(fit_args(tiny_cache, tmp_path, f"trainer.logger={tracker}")) == 0
    first = json.loads((run / "tracking.json").read_text())
    assert first["logger"] == tracker and "gen3d fit: tracked in " in capsys.readouterr().out
    if tracker == "tensorboard":
        _add_stale_step(run, 4)
    # resumed to step 6 (a picture at step 6): the same tracked run continues
    more = fit_args(tiny_cache, tmp_path, f"trainer.logger={tracker}", "trainer.max_steps=6")
    assert main([*more, "--resume", "auto"]) == 0
    record = json.loads((run / "tracking.json").read_text())
    assert record.get("run_id") == first.get("run_id")

    expected = csv_metrics(run)
    assert {s for _, s in expected} == set(range(6)) and ("train/loss_lnsigma_lt-2", 0) in expected
    assert {k for k, _ in expected} >= {"train/loss", "train/lr", "epoch"}
    metrics, pictures = READERS[tracker](run, record)
    assert set(metrics) == set(expected)
    for key, value in expected.items():
        assert metrics[key] == pytest.approx(value, rel=1e-6, abs=1e-12), key
    assert pictures == gallery_steps(run) == [2, 4, 6]
    if tracker == "tensorboard":
        assert len(list((run / "tensorboard").glob("events.out.tfevents.*"))) == 3  # 2 sessions + stale
    if tracker == "wandb":
        assert len(record["offline_runs"]) == 2 and record["sync"].startswith(
            f"wandb sync --id {first['run_id']}"
        )

    # the tracking location reaches the model card, from the run folder (gen3d publish) and from its
    # checkpoint (the pipeline's publish step)
    registry = tmp_path / "registry"
    assert main(["publish", str(run), str(registry), "--name", "tracked"]) == 0
    version = registry / "tracked" / "v1"
    card = (version / "README.md").read_text()
    assert "## Training run" in card
    where = {"tensorboard": record.get("log_dir"), "mlflow": record.get("run_id")}.get(tracker)
    assert (where or record["run_id"]) in card and (tracker != "mlflow" or record["tracking_uri"] in card)
    manifest = json.loads((version / "manifest.json").read_text())
    assert manifest["tracking"]["logger"] == tracker
    from gen3d.storage.publish import find_inputs

    assert find_inputs(str(run / "checkpoints" / "last.ckpt")).tracking == manifest["tracking"]


def test_a_fresh_csv_run_drops_an_old_tracking_record(tiny_cache, tmp_path):
    run = tmp_path / "t"
    run.mkdir()
    (run / "tracking.json").write_text(json.dumps({"logger": "tensorboard", "log_dir": "/old"}))
    assert main(fit_args(tiny_cache, tmp_path, "trainer.max_steps=1", "trainer.sample_every_n_steps=0")) == 0
    assert not (run / "tracking.json").exists()


@pytest.mark.parametrize(
    "setting, message",
    [
        (
            "trainer.logger=comet",
            "trainer.logger 'comet' is unknown; allowed: csv, tensorboard, mlflow, wandb",
        ),
        ("trainer.logger=[mlflow]", "trainer.logger ['mlflow'] is unknown"),
        ("trainer.wandb_project=p", "trainer.wandb_project is set but trainer.logger is 'csv'"),
        ("trainer.mlflow_experiment=''", "trainer.mlflow_experiment is set but trainer.logger is 'csv'"),
    ],
)
def test_bad_tracker_settings_are_refused_at_load(setting, message, capsys):
    assert main(["fit", "--config", "demo_points", "--set", setting, "--print-config"]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_tracker_settings_are_checked_for_the_chosen_tracker(capsys):
    def refused(*sets):
        args = ["fit", "--config", "demo_points", "--print-config"]
        assert main([*args, *(a for s in sets for a in ("--set", s))]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1
        return err

    err = refused(
        "trainer.logger=mlflow", "trainer.mlflow_tracking_uri=https://me:s3cret@mlflow.example/x?t=1"
    )
    assert "s3cret" not in err and "https://mlflow.example/x" in err and "MLFLOW_TRACKING_PASSWORD" in err
    assert "no / \\ # ? % :" in refused("trainer.logger=wandb", "trainer.wandb_project=team/p")
    assert "non-empty string" in refused("trainer.logger=mlflow", "trainer.mlflow_experiment=''")
    assert main(["fit", "--config", "demo_points", "--set", "trainer.logger=csv", "--print-config"]) == 0


@pytest.mark.parametrize("tracker", TRACKERS)
def test_a_tracker_not_installed_is_refused_with_the_install_line(tracker, monkeypatch, capsys):
    import gen3d.config

    monkeypatch.setattr(gen3d.config, "_installed", lambda module: False)
    assert (
        main(["fit", "--config", "demo_points", "--set", f"trainer.logger={tracker}", "--print-config"]) == 2
    )
    err = capsys.readouterr().err.strip()
    assert f"trainer.logger={tracker} needs " in err and "pip install 'gen3d[tracking]'" in err
    assert len(err.splitlines()) == 1


def test_the_card_never_shows_credentials():
    from gen3d.storage.model_card import tracking_entry, tracking_summary

    record = {
        "logger": "mlflow",
        "tracking_uri": "https://me:s3cret@mlflow.example?token=abc",
        "run_url": "https://me:s3cret@mlflow.example/#/experiments/1/runs/r1",
        "view": "mlflow ui --backend-store-uri https://me:s3cret@mlflow.example",
        "run_id": "r1",
        "experiment": "e",
        "experiment_id": "1",
        "password": "s3cret",  # not a key of a record: never published
    }
    entry = tracking_entry(record)
    assert "s3cret" not in json.dumps(entry) and "abc" not in json.dumps(entry) and "password" not in entry
    line = tracking_summary(record)
    assert "s3cret" not in line and "https://mlflow.example/#/experiments/1/runs/r1" in line
    assert tracking_entry({"no": "logger"}) is None and tracking_summary(None) is None


@pytest.fixture
def mlflow_server(tmp_path):
    """mlflow-skinny's tracking server (REST API, SQLite store) on 127.0.0.1, stopped after the test."""
    import os
    import signal
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    pytest.importorskip("sqlalchemy")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    store = tmp_path / "server"
    store.mkdir()
    cmd = [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--workers", "1", "--backend-store-uri", f"sqlite:///{store / 'mlflow.db'}"]
    cmd += ["--artifacts-destination", str(store / "artifacts")]
    log = open(store / "server.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, (store / "server.log").read_text()
            time.sleep(0.5)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the server and the workers it started
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


@pytest.mark.slow
def test_mlflow_tracking_server_url_from_the_environment(
    mlflow_server, tiny_cache, tmp_path, monkeypatch, capsys
):
    """A tracking server given by $MLFLOW_TRACKING_URI with credentials in it: the run is logged there, its
    page URL is recorded and published, and the credentials are written nowhere."""
    from mlflow.tracking import MlflowClient

    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server.replace("http://", "http://me:s3cret@"))
    sets = ("trainer.logger=mlflow", "trainer.max_steps=2", "trainer.sample_every_n_steps=1")
    assert main(fit_args(tiny_cache, tmp_path, *sets)) == 0
    run = tmp_path / "t"
    record = json.loads((run / "tracking.json").read_text())
    assert record["tracking_uri"] == mlflow_server and not record["local_store"]
    assert (
        record["run_url"]
        == f"{mlflow_server}/#/experiments/{record['experiment_id']}/runs/{record['run_id']}"
    )
    client = MlflowClient(mlflow_server)
    expected = csv_metrics(run)
    got = {
        (k, m.step): m.value
        for k in client.get_run(record["run_id"]).data.metrics
        for m in client.get_metric_history(record["run_id"], k)
    }
    assert set(got) == set(expected) and all(
        got[k] == pytest.approx(v, rel=1e-6) for k, v in expected.items()
    )
    pictures = [a.path for a in client.list_artifacts(record["run_id"], "images") if a.path.endswith(".png")]
    assert len(pictures) == 2
    registry = tmp_path / "registry"
    assert main(["publish", str(run), str(registry), "--name", "served"]) == 0
    card = (registry / "served" / "v1" / "README.md").read_text()
    assert record["run_url"] in card
    out = capsys.readouterr()
    assert f"gen3d fit: tracked in MLflow run {record['run_id']}" in out.out
    seen = [out.out, out.err, card, *(p.read_text(errors="replace") for p in run.rglob("*.json"))]
    assert not any("s3cret" in text for text in seen)
