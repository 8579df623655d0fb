"""Pre-emption-safe training: SIGTERM / SIGUSR1 (and Ctrl-C, SIGINT) end a run with an exact checkpoint
instead of losing the steps since the last periodic one. A second Ctrl-C while the first is pending stops at
once, without a checkpoint.

:class:`PreemptionCheckpoint` only sets a flag in the signal handler. At the end of the current training
batch (where the periodic checkpoints are written too, so step, optimiser, EMA, scheduler and data position
are consistent) it saves ``last.ckpt`` through the trainer (atomically, see
:class:`~gen3d.training.checkpoint.AtomicCheckpointIO`) and raises :class:`Preempted`; ``gen3d fit`` turns
that into one line naming the checkpoint and exit status ``128 + signal``.

Under SLURM, :func:`cluster_plugins` gives Lightning's ``SLURMEnvironment(auto_requeue=True,
requeue_signal=SIGUSR1)``: on SIGUSR1 (``sbatch --signal=USR1@90``) Lightning saves its
``hpc_ckpt_<n>.ckpt`` and requeues the job with ``scontrol requeue``; the callback chains to that handler
and still stops at the batch end with its exact ``last.ckpt``, which ``--resume auto`` prefers (same or
later step). SIGTERM is not passed on to Lightning's handler while training runs: that handler makes
Lightning raise at the next batch end whether or not a checkpoint was written, and on the signalled rank
only; here all ranks take the decision together.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import lightning as L
from lightning.pytorch.utilities.exceptions import SIGTERMException

__all__ = ["PREEMPTION_SIGNALS", "Preempted", "PreemptionCheckpoint", "cluster_plugins"]

#: Signals that stop training with a checkpoint (SLURM sends SIGUSR1 ahead of a time limit, then SIGTERM;
#: SIGINT is Ctrl-C).
PREEMPTION_SIGNALS = tuple(getattr(signal, n) for n in ("SIGTERM", "SIGUSR1", "SIGINT") if hasattr(signal, n))


class Preempted(SIGTERMException):
    """Training stopped on a signal after saving ``path`` at optimiser step ``step``.

    A ``SystemExit`` (as Lightning's own ``SIGTERMException``) whose code is ``128 + signum``."""

    def __init__(self, signum: int, step: int, path: Path):
        super().__init__(128 + int(signum))
        self.signum, self.step, self.path = int(signum), int(step), Path(path)

    @property
    def signal_name(self) -> str:
        return signal.Signals(self.signum).name


class PreemptionCheckpoint(L.Callback):
    """On one of ``signals``: save ``path`` at the end of the current optimiser step and stop the run.

    Handlers are installed when training starts (after Lightning installed its own) and removed when it
    ends. With gradient accumulation the save waits for the batch that completes the optimiser step.
    """

    def __init__(self, path: str | Path, signals: tuple[int, ...] = PREEMPTION_SIGNALS):
        self.path = Path(path)
        self.signals = tuple(signals)
        self.signum: int | None = None
        self._previous: dict[int, object] = {}
        self._step_at_batch_start = -1

    # ---- signal handling -----------------------------------------------------------------------------------
    def _handle(self, signum, frame) -> None:
        if signum == signal.SIGINT and self.signum is not None:
            raise KeyboardInterrupt  # a second Ctrl-C: the user does not want to wait for the step to end
        if self.signum is None:
            self.signum = int(signum)
        previous = self._previous.get(signum)
        if signum == signal.SIGUSR1 and callable(previous):  # Lightning's SLURM requeue handler
            previous(signum, frame)

    def _install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # Python only lets the main thread set handlers; Lightning's own ones stay in place
        for s in self.signals:
            self._previous[s] = signal.getsignal(s)
            signal.signal(s, self._handle)

    def _restore(self) -> None:
        for s, previous in self._previous.items():
            if signal.getsignal(s) == self._handle and previous is not None:
                signal.signal(s, previous)
        self._previous = {}

    # ---- hooks ---------------------------------------------------------------------------------------------
    def on_train_start(self, trainer, pl_module) -> None:
        self.signum = None
        self._install()

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self._step_at_batch_start = trainer.global_step

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        stop = self.signum is not None
        if trainer.world_size > 1:  # every rank must take the same decision (the save has a barrier)
            stop = trainer.strategy.reduce_boolean_decision(stop, all=False)
        if not stop or trainer.global_step == self._step_at_batch_start:
            return  # no signal, or in the middle of a gradient-accumulation window
        if 0 < trainer.max_steps <= trainer.global_step:
            return  # the run's last step: it ends normally and writes its final checkpoint
        signum = self.signum if self.signum is not None else signal.SIGTERM
        trainer.save_checkpoint(self.path)
        raise Preempted(signum, trainer.global_step, self.path)

    def on_train_end(self, trainer, pl_module) -> None:
        self._restore()

    def on_exception(self, trainer, pl_module, exception) -> None:
        self._restore()


def cluster_plugins() -> list:
    """``[SLURMEnvironment(auto_requeue=True, requeue_signal=SIGUSR1)]`` inside a SLURM job (as Lightning
    detects it: ``SLURM_NTASKS`` set, job name not ``bash`` / ``interactive``), else ``[]``."""
    from lightning.pytorch.plugins.environments import SLURMEnvironment

    if SLURMEnvironment.detect():
        return [SLURMEnvironment(auto_requeue=True, requeue_signal=signal.SIGUSR1)]
    return []
