"""A conditional completion model: an unconditional one fine-tuned on (partial, complete) pairs, PVD-style.

PVD (Zhou, Du & Wu 2021, Sec. 4.2) completes shapes with a network that sees the observed points clean and
is trained to denoise only the missing ones. Here the existing denoiser and backbone are kept as they are
(any process, any point backbone) and fine-tuned from a trained unconditional checkpoint: a training sample
is ``x0 = [m observed points of a partial view; N - m points of the complete shape]`` (random subsets), the
process perturbs it (:meth:`Process.perturb_with_target`), the observed slots are put back clean, and the
loss is the process's weighted squared error ``lambda(sigma) * mean (D(x) - target)^2`` over the free slots
only. Sampling then feeds the observed slots clean (``InpaintingDenoiser(observed_noise=False)``;
``gen3d complete`` reads that from the checkpoint). Plain torch (no Lightning): Adam, gradient clipping, no
EMA; the written checkpoint holds the fine-tuned weights (as its EMA and raw weights) and loads with
:func:`gen3d.models.load_denoiser`; it is not a Lightning checkpoint to resume training from.

The other conditioning of the issue, an encoder of the partial cloud as the condition, needs a backbone with a
second input and is not implemented; this scheme needs no architecture change.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import torch

__all__ = ["FinetuneSettings", "conditional_loss", "finetune", "pair_batch", "save_conditional_checkpoint"]

#: key of the completion record in a checkpoint's gen3d payload
COMPLETION_KEY = "completion"


@dataclass(frozen=True)
class FinetuneSettings:
    """``steps`` Adam steps of ``batch_size`` pairs at learning rate ``lr`` (gradient norm clipped to
    ``grad_clip``), ``n_observed`` observed slots at most (default half the points), seeded by ``seed``."""

    steps: int = 300
    batch_size: int = 16
    lr: float = 1e-4
    grad_clip: float = 1.0
    n_observed: int | None = None
    seed: int = 0

    def __post_init__(self):
        if self.steps < 1 or self.batch_size < 1 or not self.lr > 0 or not self.grad_clip > 0:
            raise ValueError("fine-tuning needs steps >= 1, batch_size >= 1, lr > 0 and grad_clip > 0")


def pair_batch(
    partials: Sequence[np.ndarray],
    completes: Sequence[np.ndarray],
    index: np.ndarray,
    n_points: int,
    n_observed: int,
    rng: np.random.Generator,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(x0 (B, N, 3) float32, mask (B, N) bool)`` for the pairs ``(partials[j], completes[j])``, j in
    ``index``: the first ``m = min(M_j, n_observed)`` slots hold a random subset of the partial (M_j, 3),
    the others a random subset (without replacement) of the complete shape (T, 3), T >= N - m."""
    x0 = np.zeros((len(index), n_points, 3), dtype=np.float32)
    mask = np.zeros((len(index), n_points), dtype=bool)
    for b, j in enumerate(index):
        p, c = partials[j], completes[j]
        m = min(len(p), n_observed)
        x0[b, :m] = p[np.sort(rng.choice(len(p), m, replace=False))]
        x0[b, m:] = c[rng.choice(len(c), n_points - m, replace=False)]
        mask[b, :m] = True
    return torch.from_numpy(x0), torch.from_numpy(mask)


def conditional_loss(denoiser, process, x0: torch.Tensor, mask: torch.Tensor, generator=None) -> torch.Tensor:
    """Mean over the batch of ``lambda(sigma) * mean over free coordinates (D(x) - target)^2``, where ``x`` is
    ``x0`` (B, N, 3) perturbed at ``sigma ~ process.sample_sigma`` with the observed slots ``mask`` (B, N)
    put back clean."""
    b = x0.shape[0]
    sigma = process.sample_sigma(b, generator, device=x0.device).to(x0.dtype)
    x, target = process.perturb_with_target(x0, sigma, generator)
    m = mask[..., None]
    d = denoiser(torch.where(m, x0, x), sigma, None)
    free = (~m).to(x0.dtype).expand_as(x0)
    err = ((d - target).square() * free).reshape(b, -1).sum(1) / free.reshape(b, -1).sum(1).clamp_min(1.0)
    return (process.loss_weight(sigma) * err).mean()


def finetune(
    denoiser,
    process,
    partials: Sequence[np.ndarray],
    completes: Sequence[np.ndarray],
    n_points: int,
    settings: FinetuneSettings,
    device: str | torch.device = "cpu",
    on_step: Callable[[int, float], None] | None = None,
) -> list[float]:
    """Fine-tune ``denoiser`` in place on the pairs ``(partials[j], completes[j])`` (normalised frame);
    returns the loss of every step. Deterministic given ``settings.seed`` (on one device)."""
    if len(partials) != len(completes) or not len(partials):
        raise ValueError(
            f"need as many partials as complete shapes (> 0), got {len(partials)}, {len(completes)}"
        )
    n_obs = settings.n_observed if settings.n_observed is not None else max(1, n_points // 2)
    if not 1 <= n_obs < n_points:
        raise ValueError(f"n_observed must be in 1..{n_points - 1}, got {n_obs}")
    rng = np.random.default_rng(settings.seed)
    gen = torch.Generator(device=device)
    gen.manual_seed(settings.seed)
    opt = torch.optim.Adam(denoiser.parameters(), lr=settings.lr)
    denoiser.train()
    losses = []
    for step in range(settings.steps):
        idx = rng.integers(0, len(partials), size=settings.batch_size)
        x0, mask = pair_batch(partials, completes, idx, n_points, n_obs, rng)
        loss = conditional_loss(denoiser, process, x0.to(device), mask.to(device), gen)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(denoiser.parameters(), settings.grad_clip)
        opt.step()
        losses.append(float(loss.detach()))
        if on_step is not None:
            on_step(step, losses[-1])
    denoiser.eval()
    return losses


def save_conditional_checkpoint(
    source: str | os.PathLike, denoiser, out: str | os.PathLike, settings: FinetuneSettings, record: dict
) -> None:
    """Write ``out``: the gen3d payload of checkpoint ``source`` with ``denoiser``'s weights as both its raw
    and EMA weights and a ``completion`` record (``conditioning: "clean"``, the settings, ``record``),
    atomically."""
    from gen3d.atomic import atomic_path
    from gen3d.models import CHECKPOINT_KEY, read_checkpoint

    ckpt = read_checkpoint(source)
    state = {k: v.detach().cpu().clone() for k, v in denoiser.state_dict().items()}
    payload = dict(ckpt[CHECKPOINT_KEY])
    payload["ema"] = {**payload["ema"], "shadow": state}
    payload[COMPLETION_KEY] = {"conditioning": "clean", "source": str(source), **asdict(settings), **record}
    new = {
        "state_dict": {f"denoiser.{k}": v for k, v in state.items()},
        "global_step": int(ckpt.get("global_step", 0)) + settings.steps,
        CHECKPOINT_KEY: payload,
    }
    with atomic_path(out, suffix=".ckpt") as tmp:
        torch.save(new, tmp)
