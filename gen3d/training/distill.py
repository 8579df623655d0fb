"""Trajectory distillation with Lightning: a few-step student regresses the Euler targets of its teacher's
ODE trajectories (:mod:`gen3d.trajectories`).

The student is a copy of the teacher (same process, preconditioning and backbone, initialised from the
teacher's EMA weights), so its checkpoint is an ordinary gen3d checkpoint: ``gen3d sample`` loads it like any
other and samples with the ``sampler`` group stored in it (Euler on the student's grid, ``sampler.sigmas``).
Everything else (EMA, atomic checkpoints, resume, pre-emption, CSV logs) is :class:`Gen3dModule`'s.
"""

from __future__ import annotations

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset

from gen3d.training.module import Gen3dModule, TrainingDivergedError

__all__ = ["TrajectoryDataModule", "DistillModule"]


class _Pairs(Dataset):
    def __init__(self, states: torch.Tensor, targets: torch.Tensor, labels: torch.Tensor | None = None):
        self.states, self.targets = states, targets
        self.labels = torch.full((len(states),), -1, dtype=torch.long) if labels is None else labels.long()

    def __len__(self) -> int:
        return int(self.states.shape[0])

    def __getitem__(self, i: int) -> dict:
        return {"x": self.states[i], "target": self.targets[i], "label": self.labels[i]}


class TrajectoryDataModule(L.LightningDataModule):
    """Batches ``{"x": (B, K, ...) teacher states, "target": (B, K, ...) Euler targets, "label": (B,)}`` from
    the training trajectories (shuffled with ``seed``) and the held-out ones (validation). ``train`` and
    ``val`` are ``(states, targets)`` or ``(states, targets, labels)`` (class labels of a conditional
    teacher; -1 where unconditional)."""

    def __init__(self, train: tuple, val: tuple, batch_size: int, seed: int = 0):
        super().__init__()
        self.train_set, self.val_set = _Pairs(*train), _Pairs(*val)
        self.batch_size, self.seed = int(batch_size), int(seed)

    def train_dataloader(self) -> DataLoader:
        g = torch.Generator()
        g.manual_seed(self.seed)
        return DataLoader(
            self.train_set, batch_size=self.batch_size, shuffle=True, drop_last=True, generator=g
        )

    def val_dataloader(self) -> DataLoader:
        return DataLoader(self.val_set, batch_size=self.batch_size)


class DistillModule(Gen3dModule):
    """Train ``denoiser`` so that one Euler step per level of ``grid`` (K + 1,) follows the teacher.

    Each training sample takes one of its K levels (drawn with the step generator, so a resumed run draws
    the same); the loss is the mean squared error to the Euler target ``D*`` there. ``record`` (the teacher,
    grid, pair counts) is stored in every checkpoint under ``gen3d.distill``.
    """

    def __init__(
        self,
        denoiser,
        process,
        optim: dict,
        config: dict,
        grid,
        record: dict,
        seed: int = 0,
        num_classes: int = 0,
    ):
        super().__init__(denoiser, process, optim, config=config, num_classes=num_classes, seed=seed)
        self.grid = [float(v) for v in grid]
        self.record = dict(record)

    def _levels(self, k: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return torch.as_tensor(self.grid[:-1], dtype=x.dtype, device=x.device)[k]

    def _loss(self, batch: dict, k: torch.Tensor) -> torch.Tensor:
        x, target = batch["x"], batch["target"]
        rows = torch.arange(x.shape[0], device=x.device)
        xs, ts = x[rows, k], target[rows, k]
        # the label the teacher's trajectory was made with (its null label where unconditional): no dropout
        cond = batch["label"].to(x.device).long() if self.num_classes > 0 else None
        pred = self.denoiser(xs, self._levels(k, xs), cond)
        return (pred - ts).flatten(1).pow(2).mean(1)

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        x = batch["x"]
        g = self.step_generator(self._micro_batch(batch_idx))
        k = torch.randint(0, x.shape[1], (x.shape[0],), generator=g, device=self.device)
        per_sample = self._loss(batch, k)
        loss = per_sample.mean()
        if not torch.isfinite(loss):
            raise TrainingDivergedError(
                f"distillation loss is NaN/inf at step {self.global_step}; lower optim.lr (--lr)"
            )
        self.log("train/loss", loss, prog_bar=True, batch_size=x.shape[0])
        return loss

    def validation_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        x = batch["x"]
        losses = []
        for level in range(x.shape[1]):  # every level of every held-out trajectory
            k = torch.full((x.shape[0],), level, dtype=torch.long, device=x.device)
            loss = self._loss(batch, k).mean()
            self.log(f"val/loss_step{level}", loss, batch_size=x.shape[0])
            losses.append(loss)
        total = torch.stack(losses).mean()
        self.log("val/loss", total, batch_size=x.shape[0])
        return total

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        super().on_save_checkpoint(checkpoint)
        from gen3d.models import CHECKPOINT_KEY

        checkpoint[CHECKPOINT_KEY]["distill"] = dict(self.record)
