"""The LightningModule: one denoiser trained with one physical process, with EMA weights.

The module is thin on purpose. The process (``gen3d.processes``) owns the noise-level density, the
perturbation kernel and the loss weight; the denoiser (``gen3d.precond`` around a ``gen3d.nets`` backbone)
owns the network. The module adds what training needs around them: label dropout for classifier-free guidance,
per-step random generators (so a resumed run draws exactly the noise the uninterrupted run would have), the
EMA copy, loss per ln(sigma) bucket, a NaN/inf guard, and the checkpoint payload (EMA + resolved config).
"""

from __future__ import annotations

import copy
import math

import lightning as L
import torch
from torch import nn

from gen3d.errors import Gen3dError
from gen3d.models import CHECKPOINT_KEY  # the payload schema lives in the Lightning-free gen3d.models
from gen3d.training.ema import EMA

__all__ = ["CHECKPOINT_KEY", "Gen3dModule", "TrainingDivergedError"]

CHECKPOINT_FORMAT = 1


class TrainingDivergedError(Gen3dError):
    """The training loss became NaN or infinite."""


class Gen3dModule(L.LightningModule):
    """Train ``denoiser(x, sigma, cond) -> x0_hat`` with ``process.loss``.

    Args:
        denoiser: nn.Module, ``(B, ...)`` states -> ``(B, ...)`` denoised estimates.
        process: a gen3d process (``sample_sigma(B, generator, device)``,
            ``loss(denoiser, x0, cond, generator, sigma) -> (B,)``).
        optim: the ``optim`` config group (lr, betas, weight_decay, warmup_steps, ema_decay, ema_warmup,
            p_uncond, sigma_buckets).
        config: the resolved config, stored in every checkpoint.
        num_classes: 0 for unconditional training; else labels in [0, num_classes) and ``num_classes`` is the
            null label used for classifier-free-guidance dropout.
        seed: base seed of the per-step generators.

    Batches are dicts ``{"x": (B, N, 3) or (B, 1, R, R, R), "label": (B,) int64}``.
    """

    def __init__(
        self,
        denoiser: nn.Module,
        process,
        optim: dict,
        config: dict | None = None,
        num_classes: int = 0,
        seed: int = 0,
    ):
        super().__init__()
        self.denoiser = denoiser
        self.process = process
        self.optim_cfg = dict(optim)
        self.config = copy.deepcopy(config) if config is not None else {}
        self.num_classes = int(num_classes)
        self.seed = int(seed)
        self.ema = EMA(
            denoiser,
            decay=self.optim_cfg.get("ema_decay", 0.999),
            warmup=self.optim_cfg.get("ema_warmup", True),
        )
        self.bucket_edges = [float(e) for e in self.optim_cfg.get("sigma_buckets", [-2.0, -1.0, 0.0, 1.0])]
        self._time_progress = 0.0  # rank 0's share of trainer.max_time spent, set at every step's start
        self._bucket_sum = torch.zeros(len(self.bucket_edges) + 1, dtype=torch.float64)
        self._bucket_count = torch.zeros(len(self.bucket_edges) + 1, dtype=torch.float64)

    # ---- randomness ----------------------------------------------------------------------------------------
    @staticmethod
    def step_key(seed: int, step: int, rank: int, micro_batch: int = 0) -> int:
        """Seed of the generator of optimiser step ``step`` on ``rank`` for the step's ``micro_batch``-th
        micro-batch (always ``0`` without gradient accumulation, and then the key gen3d always used)."""
        key = ((seed * 1_000_003 + step) * 4099 + rank * 7) % (2**63 - 1)
        if micro_batch:  # SplitMix64 of (key, micro-batch): distinct seeds for the micro-batches of a step
            z = (key + 0x9E3779B97F4A7C15 * (micro_batch + 1)) % 2**64
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) % 2**64
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) % 2**64
            key = (z ^ (z >> 31)) % (2**63 - 1)
        return key

    def step_generator(self, micro_batch: int = 0) -> torch.Generator:
        """Generator for the current optimiser step, micro-batch and rank: resume-exact without storing RNG
        state."""
        g = torch.Generator(device=self.device)
        g.manual_seed(self.step_key(self.seed, self.global_step, self.global_rank, micro_batch))
        return g

    def _micro_batch(self, batch_idx: int) -> int:
        """Position of ``batch_idx`` in its gradient-accumulation window (Lightning steps the optimiser after
        every ``accumulate_grad_batches`` batches of an epoch and on its last batch)."""
        every = int(getattr(self._trainer, "accumulate_grad_batches", 1) or 1) if self._trainer else 1
        return int(batch_idx) % every

    # ---- training ------------------------------------------------------------------------------------------
    def _cond(self, batch: dict, generator: torch.Generator) -> torch.Tensor | None:
        if self.num_classes <= 0:
            return None
        label = batch["label"].to(self.device).long()
        p = float(self.optim_cfg.get("p_uncond", 0.0))
        if p > 0:  # label dropout: train the unconditional model on the null class (classifier-free guidance)
            drop = torch.rand(label.shape, generator=generator, device=self.device) < p
            label = torch.where(drop, torch.full_like(label, self.num_classes), label)
        return label

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        x0 = batch["x"]
        B = x0.shape[0]
        g = self.step_generator(self._micro_batch(batch_idx))
        cond = self._cond(batch, g)
        sigma = self.process.sample_sigma(B, g, self.device).to(x0.dtype)
        per_sample = self.process.loss(self.denoiser, x0, cond=cond, generator=g, sigma=sigma)
        loss = per_sample.mean()
        if not torch.isfinite(loss):
            bad = int((~torch.isfinite(per_sample)).sum())
            raise TrainingDivergedError(
                f"loss is NaN/inf at step {self.global_step} ({bad} of {B} samples non-finite, sigma range "
                f"[{sigma.min().item():.3g}, {sigma.max().item():.3g}]); lower optim.lr, "
                f"keep optim.grad_clip, "
                f"or check the data for NaN"
            )
        self.log("train/loss", loss, prog_bar=True, batch_size=B)
        optimizers = self.trainer.optimizers if self._trainer is not None else []
        if optimizers:  # the learning rate this step uses (after warm-up and decay)
            self.log("train/lr", float(optimizers[0].param_groups[0]["lr"]), batch_size=B)
        self._accumulate_buckets(sigma, per_sample.detach())
        return loss

    def _accumulate_buckets(self, sigma: torch.Tensor, per_sample: torch.Tensor) -> None:
        """Mean loss per ln(sigma) bucket, logged every ``log_every_n_steps`` (one device sync per
        interval)."""
        edges = torch.tensor(self.bucket_edges, device=sigma.device, dtype=torch.float32)
        idx = torch.bucketize(sigma.float().log(), edges)
        nb = len(self.bucket_edges) + 1
        sums = torch.zeros(nb, device=sigma.device, dtype=torch.float64).scatter_add_(
            0, idx, per_sample.double()
        )
        counts = torch.bincount(idx, minlength=nb).double()
        if self._bucket_sum.device != sigma.device:
            self._bucket_sum = self._bucket_sum.to(sigma.device)
            self._bucket_count = self._bucket_count.to(sigma.device)
        self._bucket_sum += sums
        self._bucket_count += counts
        every = max(1, int(getattr(self.trainer, "log_every_n_steps", 1) or 1)) if self._trainer else 1
        if (self.global_step + 1) % every == 0:
            s, c = self._bucket_sum.cpu(), self._bucket_count.cpu()
            for i, name in enumerate(self.bucket_names()):
                if c[i] > 0:
                    self.log(f"train/loss_lnsigma_{name}", float(s[i] / c[i]), on_step=True, on_epoch=False)
            self._bucket_sum.zero_()
            self._bucket_count.zero_()

    def bucket_names(self) -> list[str]:
        """Names of the ln(sigma) buckets: ``lt-2``, ``-2_-1``, ..., ``ge1``."""
        e = [f"{v:g}" for v in self.bucket_edges]
        return [f"lt{e[0]}"] + [f"{a}_{b}" for a, b in zip(e[:-1], e[1:])] + [f"ge{e[-1]}"]

    def validation_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        x0 = batch["x"]
        g = torch.Generator(device=self.device)
        g.manual_seed(self.seed * 7919 + batch_idx)  # same noise at every validation: comparable curves
        cond = None
        if self.num_classes > 0:
            cond = batch["label"].to(self.device).long()
        sigma = self.process.sample_sigma(x0.shape[0], g, self.device).to(x0.dtype)
        loss = self.process.loss(self.denoiser, x0, cond=cond, generator=g, sigma=sigma).mean()
        self.log("val/loss", loss, batch_size=x0.shape[0], sync_dist=True)
        return loss

    def on_fit_start(self) -> None:
        # under DDP the weights were just broadcast from rank 0: start the EMA from them (a restored EMA, with
        # updates already counted, is kept)
        if self.ema.num_updates == 0:
            self.ema = EMA(self.denoiser, decay=self.ema.decay, warmup=self.ema.warmup)

    def optimizer_step(self, *args, **kwargs) -> None:
        # EMA right after the parameter update, so a checkpoint written in any on_train_batch_end hook
        # (callbacks
        # run before the module's hooks) already holds this step's EMA
        super().optimizer_step(*args, **kwargs)
        self.ema.update(self.denoiser)

    def configure_optimizers(self):
        o = self.optim_cfg
        opt = torch.optim.Adam(
            self.denoiser.parameters(),
            lr=float(o["lr"]),
            betas=tuple(o.get("betas", (0.9, 0.999))),
            weight_decay=float(o.get("weight_decay", 0.0)),
        )
        sched = torch.optim.lr_scheduler.LambdaLR(opt, self.lr_factor)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}

    def training_progress(self, step: int | None = None) -> float:
        """Fraction of the run done at optimiser step ``step`` (default: the current one), in [0, 1].

        The larger of ``step / max_steps`` and, with ``trainer.max_time``, the training time spent over that
        budget (Lightning's Timer, which a resumed run restores). Under DDP the time fraction is rank 0's,
        broadcast at the start of every step (:meth:`on_train_batch_start`), so every rank uses the same
        learning rate. With a time budget the learning rate follows the wall clock, which a bit-exact resume
        cannot reproduce: the weights after a resume are close to, not equal to, an uninterrupted run's.
        """
        trainer = self._trainer
        if trainer is None:
            return 0.0
        step = self.global_step if step is None else int(step)
        done = 0.0
        if trainer.max_steps and trainer.max_steps > 0:
            done = step / trainer.max_steps
        return min(1.0, max(done, self._time_progress))

    def _clock_progress(self) -> float:
        """Training time spent over ``trainer.max_time`` (0 without a time budget)."""
        from lightning.pytorch.callbacks import Timer

        if self._trainer is None:
            return 0.0
        done = 0.0
        for timer in (c for c in self.trainer.callbacks if isinstance(c, Timer)):
            left = timer.time_remaining("train")
            if left is not None:
                spent = timer.time_elapsed("train")
                done = max(done, spent / max(spent + left, 1e-9))
        return min(1.0, done)

    def on_train_batch_start(self, batch, batch_idx: int) -> None:
        if self.optim_cfg.get("lr_decay", "none") != "none":
            clock = self._clock_progress()
            if self._trainer is not None and self.trainer.world_size > 1:
                clock = float(self.trainer.strategy.broadcast(clock, src=0))
            self._time_progress = clock

    def lr_factor(self, step: int) -> float:
        """Multiplier of ``optim.lr`` at optimiser step ``step``: linear warm-up over ``warmup_steps`` (EDM
        ramps up over its first 10M images; here counted in optimiser steps), then ``optim.lr_decay``
        (cosine: SGDR's half cosine; linear) from 1 at progress 0 to ``lr_final`` at progress 1, the progress
        :meth:`training_progress` of the whole run, warm-up included (so right after the warm-up the factor is
        already a little below 1). ``lr_final`` has no effect with ``lr_decay: none``."""
        o = self.optim_cfg
        warmup = int(o.get("warmup_steps", 0) or 0)
        ramp = min(1.0, (step + 1) / warmup) if warmup else 1.0
        kind = o.get("lr_decay", "none")
        if kind == "none" or step < warmup:
            return ramp
        final = float(o.get("lr_final", 0.0))
        p = self.training_progress(step)
        shape = 0.5 * (1.0 + math.cos(math.pi * p)) if kind == "cosine" else 1.0 - p
        return ramp * (final + (1.0 - final) * shape)

    # ---- EMA and checkpoints -------------------------------------------------------------------------------
    def ema_denoiser(self) -> nn.Module:
        """A copy of the denoiser holding the EMA weights, in eval mode."""
        d = copy.deepcopy(self.denoiser)
        self.ema.copy_to(d)
        return d.eval()

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint[CHECKPOINT_KEY] = {
            "format": CHECKPOINT_FORMAT,
            "config": copy.deepcopy(self.config),
            "ema": self.ema.state_dict(),
            "num_classes": self.num_classes,
        }

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        payload = checkpoint.get(CHECKPOINT_KEY)
        if payload is None:
            raise Gen3dError("checkpoint has no gen3d payload (EMA/config); it was not written by gen3d fit")
        self.ema.load_state_dict(payload["ema"])
