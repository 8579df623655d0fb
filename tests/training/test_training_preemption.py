"""Pre-emption: SIGTERM / SIGUSR1 during training save an exact checkpoint at the end of the optimiser step
and stop; under SLURM Lightning's auto-requeue still runs. The test sends signals to itself at a set step."""

import os
import signal

import lightning as L
import pytest
import torch

from gen3d.training.checkpoint import AtomicCheckpointIO, read_checkpoint
from gen3d.training.latest_checkpoint import newest_checkpoint
from gen3d.training.preemption import Preempted, PreemptionCheckpoint, cluster_plugins

from .standins import InMemoryDataModule
from .test_training_module import make_module, trainer


class SignalAt(L.Callback):
    """Send ``signum`` to this process when the batch after ``step`` optimiser steps starts (micro-batch
    ``micro`` of that step)."""

    def __init__(self, step, signum, micro=0):
        self.step, self.signum, self.micro, self.sent = step, signum, micro, False

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if (
            not self.sent
            and trainer.global_step == self.step
            and batch_idx % trainer.accumulate_grad_batches == self.micro
        ):
            self.sent = True
            os.kill(os.getpid(), self.signum)


def assert_same_training_state(a, b, ta, tb):
    assert ta.global_step == tb.global_step
    for (k, x), y in zip(a.denoiser.state_dict().items(), b.denoiser.state_dict().values()):
        assert torch.equal(x, y), k
    for k, x in a.ema.shadow.items():
        assert torch.equal(x, b.ema.shadow[k]), k
    sa, sb = ta.optimizers[0].state_dict(), tb.optimizers[0].state_dict()
    for i in sa["state"]:
        for key in ("exp_avg", "exp_avg_sq", "step"):
            assert torch.equal(sa["state"][i][key], sb["state"][i][key]), (i, key)


@pytest.mark.parametrize(
    "signum", [signal.SIGTERM, signal.SIGUSR1, signal.SIGINT], ids=["SIGTERM", "SIGUSR1", "SIGINT"]
)
def test_signal_saves_exact_checkpoint_and_stops(tmp_path, signum):
    n = 12  # 4 batches per epoch: the signal lands mid-epoch
    straight = make_module()
    t1 = trainer(tmp_path / "a", n)
    t1.fit(straight, datamodule=InMemoryDataModule(batch_size=8))

    handlers_before = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGUSR1, signal.SIGINT)}
    path = tmp_path / "b" / "checkpoints" / "last.ckpt"
    interrupted = make_module()
    t2 = trainer(tmp_path / "b", n, callbacks=[PreemptionCheckpoint(path), SignalAt(5, signum)])
    with pytest.raises(Preempted) as e:
        t2.fit(interrupted, datamodule=InMemoryDataModule(batch_size=8))
    assert (e.value.signum, e.value.step, e.value.path, e.value.code) == (signum, 6, path, 128 + signum)
    assert t2.global_step == 6  # stopped at the end of the step the signal arrived in
    assert read_checkpoint(path)["global_step"] == 6
    assert {s: signal.getsignal(s) for s in handlers_before} == handlers_before  # handlers given back

    resumed = make_module()
    t3 = trainer(tmp_path / "c", n)
    t3.fit(resumed, datamodule=InMemoryDataModule(batch_size=8), ckpt_path=path)
    assert_same_training_state(straight, resumed, t1, t3)


def test_gradient_accumulation_saves_only_after_the_optimiser_step(tmp_path):
    path = tmp_path / "last.ckpt"
    seen = []

    class Batches(L.Callback):
        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
            seen.append(batch_idx)

    t = trainer(
        tmp_path,
        10,
        callbacks=[PreemptionCheckpoint(path), Batches(), SignalAt(1, signal.SIGTERM, micro=0)],
        accumulate_grad_batches=2,
    )
    with pytest.raises(Preempted) as e:
        t.fit(make_module(), datamodule=InMemoryDataModule(batch_size=8))
    # signal in the first micro-batch of step 2: the save waits for the second, which steps the optimiser
    assert e.value.step == 2 and read_checkpoint(path)["global_step"] == 2
    assert seen == [0, 1, 2]  # Batches runs after the pre-emption callback: the batch that saved is not seen


def test_slurm_sigusr1_lets_lightning_requeue_and_still_saves_exactly(tmp_path, monkeypatch):
    from lightning.pytorch.plugins.environments import SLURMEnvironment
    from lightning.pytorch.trainer.connectors import signal_connector

    for key, value in {
        "SLURM_NTASKS": "1",
        "SLURM_JOB_NAME": "train",
        "SLURM_JOB_ID": "4242",
        "SLURM_NODELIST": "node1",
        "SLURM_PROCID": "0",
        "SLURM_LOCALID": "0",
        "SLURM_NODEID": "0",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("SLURM_ARRAY_JOB_ID", raising=False)
    requeues = []
    monkeypatch.setattr(signal_connector, "call", lambda cmd, **kw: requeues.append(cmd) or 0)
    (env,) = cluster_plugins()
    assert isinstance(env, SLURMEnvironment) and env.auto_requeue and env.requeue_signal == signal.SIGUSR1

    path = tmp_path / "checkpoints" / "last.ckpt"
    t = L.Trainer(
        max_steps=12,
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=tmp_path,
        plugins=[AtomicCheckpointIO(), env],
        callbacks=[PreemptionCheckpoint(path), SignalAt(2, signal.SIGUSR1)],
    )
    with pytest.raises(Preempted) as e:
        t.fit(make_module(), datamodule=InMemoryDataModule(batch_size=8))
    assert requeues == [["scontrol", "requeue", "4242"]]  # Lightning's own requeue ran
    assert (tmp_path / "hpc_ckpt_1.ckpt").is_file()  # and its checkpoint, written inside the handler
    assert e.value.step == 3 and read_checkpoint(path)["global_step"] == 3
    assert newest_checkpoint(tmp_path) == path  # the exact batch-end checkpoint wins on resume


def test_no_slurm_no_cluster_plugin(monkeypatch):
    for key in [k for k in os.environ if k.startswith("SLURM_")]:
        monkeypatch.delenv(key)
    assert cluster_plugins() == []


def test_signal_in_the_last_step_lets_the_run_finish(tmp_path):
    path = tmp_path / "last.ckpt"
    t = trainer(tmp_path, 4, callbacks=[PreemptionCheckpoint(path), SignalAt(3, signal.SIGTERM)])
    t.fit(make_module(), datamodule=InMemoryDataModule(batch_size=8))  # no Preempted: training is complete
    assert t.global_step == 4 and not path.exists()


def test_a_second_ctrl_c_stops_at_once(tmp_path):
    cb = PreemptionCheckpoint(tmp_path / "last.ckpt")
    cb._handle(signal.SIGINT, None)  # first Ctrl-C: save at the end of the step
    assert cb.signum == signal.SIGINT
    with pytest.raises(KeyboardInterrupt):
        cb._handle(signal.SIGINT, None)
    cb._handle(signal.SIGTERM, None)  # other signals never escalate
    assert cb.signum == signal.SIGINT
