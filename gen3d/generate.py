"""Batched sampling from a trained denoiser with per-sample seeds.

Shape ``i`` depends only on ``seeds[i]`` (and the model, sampler and steps), never on the batch size or its
position in the batch: every sample gets its own ``torch.Generator``
(``gen3d.random.generators_for_seeds``) that
draws its prior sample and any sampler noise.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn

__all__ = ["TrajectoryRecorder", "generate"]


def _progress(total: int, enabled: bool):
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="shape", desc="sampling")


@torch.no_grad()
def generate(
    denoiser: nn.Module,
    process,
    shape_per_sample: Sequence[int],
    seeds: Sequence[int],
    sampler: str = "heun",
    steps: int = 18,
    cond: torch.Tensor | Sequence[int] | None = None,
    guidance: float | None = None,
    batch_size: int = 16,
    callback: Callable | None = None,
    device: str | torch.device = "cpu",
    schedule: str = "karras",
    rho: float = 7.0,
    null_label: int | None = None,
    progress: bool = False,
    **sampler_opts,
) -> tuple[torch.Tensor, int]:
    """Sample one shape per seed.

    Args:
        denoiser: ``denoiser(x, sigma, cond) -> x0_hat`` (eval mode), on ``device``.
        process: gives ``prior(shape, generator)``, ``sigma_min`` and ``sigma_max``.
        shape_per_sample: e.g. ``(2048, 3)`` or ``(1, 32, 32, 32)``.
        seeds: ``S`` integer seeds.
        cond: ``(S,)`` class labels or None.
        guidance: classifier-free guidance weight ``w`` (needs ``cond`` and ``null_label``); None: no
        guidance.
        callback: ``callback(start, i, sigma, x, x0_hat)`` for every sampler step of the batch starting at
            sample ``start`` (``x`` is ``(b, ...)``).

    Returns:
        ``(x (S, *shape_per_sample) float32 on CPU, nfe)`` where ``nfe`` is the number of denoiser calls per
        sample (with guidance each call is one batched forward of the doubled batch).
    """
    from gen3d.random import generators_for_seeds
    from gen3d.samplers import get_schedule, sample

    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("generate needs at least one seed")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    device = torch.device(device)
    if cond is not None:
        cond = torch.as_tensor(cond, dtype=torch.long).reshape(-1)
        if len(cond) != len(seeds):
            raise ValueError(f"cond has {len(cond)} labels for {len(seeds)} seeds")
    model = denoiser
    if guidance is not None:
        if cond is None or null_label is None:
            raise ValueError("guidance needs class labels (cond) and the null label of the net")
        from gen3d.guidance import ClassifierFreeGuidance

        model = ClassifierFreeGuidance(denoiser, guidance, null_label)
    sigmas = get_schedule(schedule, steps, process.sigma_min, process.sigma_max, rho=rho).to(device)
    out, nfe = [], 0
    bar = _progress(len(seeds), progress)
    for start in range(0, len(seeds), batch_size):
        batch_seeds = seeds[start : start + batch_size]
        gens = generators_for_seeds(batch_seeds, device=device)
        # prior per sample with its own generator: independent of batch composition
        x_T = torch.cat([process.prior((1, *shape_per_sample), generator=g, device=device) for g in gens])
        c = cond[start : start + batch_size].to(device) if cond is not None else None
        cb = None
        if callback is not None:

            def cb(i, sigma, x, x0_hat, _start=start):
                callback(_start, i, sigma, x, x0_hat)

        res = sample(
            sampler, model, x_T.to(device), sigmas, cond=c, generator=gens, callback=cb, **sampler_opts
        )
        out.append(res.x.float().cpu())
        nfe = int(res.nfe)
        if bar is not None:
            bar.update(len(batch_seeds))
    if bar is not None:
        bar.close()
    return torch.cat(out), nfe


class TrajectoryRecorder:
    """Sampler callback for :func:`generate` that keeps every ``every``-th state (and the last one).

    After sampling, :meth:`arrays` returns ``(trajectory (T, S, ...) float32, sigmas (T,) float32)``.
    """

    def __init__(self, n_samples: int, every: int = 1):
        if every < 1:
            raise ValueError(f"trajectory stride must be >= 1, got {every}")
        self.n = int(n_samples)
        self.every = int(every)
        self._frames: dict[int, dict[int, np.ndarray]] = {}
        self._sigmas: dict[int, float] = {}

    def __call__(self, start: int, i: int, sigma, x: torch.Tensor, x0_hat: torch.Tensor) -> None:
        if i % self.every:
            return
        self._frames.setdefault(i, {})[start] = x.detach().float().cpu().numpy()
        self._sigmas[i] = float(torch.as_tensor(sigma).reshape(-1)[0])

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        steps = sorted(self._frames)
        frames = [np.concatenate([self._frames[i][s] for s in sorted(self._frames[i])]) for i in steps]
        return np.stack(frames).astype(np.float32), np.array(
            [self._sigmas[i] for i in steps], dtype=np.float32
        )
