"""Complete partial point clouds with any unconditional point model (training-free, by replacement).

:func:`complete_in_frame` runs one sampler over every (input, seed) pair with
:class:`~gen3d.completion.inpaint.InpaintingDenoiser`: each completion has ``n_points`` slots, the first
``m = min(M_i, n_observed)`` hold a random subset of the input's points (drawn from that completion's own
generator, kept in the input's order) and the rest are generated. :func:`complete_raw` adds the frame
(:mod:`gen3d.completion.frame`): partial scans in their own units go into the model's normalised frame and
the completions come back.

Randomness: completion ``(i, k)`` depends on ``seeds[i][k]`` only (and the model, sampler, steps), never on
the batch it shares: its prior draw and sampler noise come from ``torch.Generator().manual_seed(seed)``
(as :func:`gen3d.generate.generate`), its observed subset and replacement noise from a second generator
seeded ``seed + AUX_SEED_OFFSET``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from gen3d.completion.frame import fit_frame
from gen3d.completion.inpaint import InpaintingDenoiser

__all__ = ["AUX_SEED_OFFSET", "CompletionSettings", "Completed", "complete_in_frame", "complete_raw"]

#: offset of the seed of a completion's second generator (observed subset, replacement noise)
AUX_SEED_OFFSET = 2**40


@dataclass(frozen=True)
class CompletionSettings:
    """``n_points`` per completion, at most ``n_observed`` of them observed (default half the slots,
    ``n_points // 2``: every point of a typical partial view is kept, as PVD keeps all 200 points of its
    partial scans among 2048; measured on ModelNet sofa views of about 260 points, keeping them all gave a
    lower CD than PVD's ratio of 200/2048 (docs/completion.md)), the sampler and its grid, the batch size, and
    whether observed slots are fed noised (replacement, any model) or clean (a model fine-tuned for it);
    ``label``: the class of a class-conditional model (None: its null class, i.e. unconditional)."""

    n_points: int
    n_observed: int | None = None
    sampler: str = "heun"
    steps: int = 18
    schedule: str = "karras"
    rho: float = 7.0
    sampler_options: dict = field(default_factory=dict)
    batch_size: int = 16
    observed_noise: bool = True
    label: int | None = None

    def observed_slots(self) -> int:
        n = self.n_observed if self.n_observed is not None else max(1, self.n_points // 2)
        if not 1 <= int(n) <= self.n_points:
            raise ValueError(f"n_observed must be in 1..{self.n_points} (the model's points), got {n}")
        return int(n)


@dataclass
class Completed:
    """``points`` (I, K, N, 3) float32 completions, ``observed`` (I, K) the observed slots used (the first
    ones of each completion), ``nfe`` denoiser calls per completion."""

    points: np.ndarray
    observed: np.ndarray
    nfe: int


def _aux_generator(seed: int, device) -> torch.Generator:
    g = torch.Generator(device=device)
    g.manual_seed(int(seed) + AUX_SEED_OFFSET)
    return g


def _slots(partial: torch.Tensor, n_obs: int, n_points: int, aux: torch.Generator):
    """``(observed (N, 3), mask (N,))`` of one completion: a random subset of ``partial`` (M, 3) of
    ``min(M, n_obs)`` points in the first slots, in the partial's order."""
    m = min(len(partial), n_obs)
    idx = torch.randperm(len(partial), generator=aux, device=aux.device)[:m].sort().values.to(partial.device)
    obs = torch.zeros(n_points, 3, dtype=partial.dtype, device=partial.device)
    obs[:m] = partial[idx]
    mask = torch.zeros(n_points, dtype=torch.bool, device=partial.device)
    mask[:m] = True
    return obs, mask


@torch.no_grad()
def complete_in_frame(
    denoiser,
    process,
    partials: Sequence[np.ndarray],
    seeds: np.ndarray,
    settings: CompletionSettings,
    device: str | torch.device = "cpu",
    labels: Sequence[int] | None = None,
) -> Completed:
    """Complete ``partials`` (I arrays (M_i, 3), already in the model's frame) with seeds (I, K); ``labels``
    (I,) gives each input its own class (a class-conditional model), else ``settings.label`` for all.

    Returns :class:`Completed` with ``points`` (I, K, N, 3) in the same frame; observed slots hold the
    input's points exactly.
    """
    from gen3d.random import generators_for_seeds
    from gen3d.samplers import check_options, get_schedule, sample

    opts = check_options(settings.sampler, dict(settings.sampler_options))
    seeds = np.asarray(seeds, dtype=np.int64)
    if seeds.ndim != 2 or seeds.shape[0] != len(partials) or seeds.shape[1] < 1:
        raise ValueError(f"seeds must have shape ({len(partials)}, K >= 1), got {seeds.shape}")
    if labels is not None and len(labels) != len(partials):
        raise ValueError(f"labels must give one class per input ({len(partials)}), got {len(labels)}")
    device = torch.device(device)
    n, n_obs = int(settings.n_points), settings.observed_slots()
    clouds = [torch.as_tensor(np.asarray(p, dtype=np.float32), device=device) for p in partials]
    sigmas = get_schedule(
        settings.schedule, settings.steps, process.sigma_min, process.sigma_max, rho=settings.rho
    )
    jobs = [(i, k) for i in range(seeds.shape[0]) for k in range(seeds.shape[1])]
    out = np.zeros((*seeds.shape, n, 3), dtype=np.float32)
    used = np.zeros(seeds.shape, dtype=np.int64)
    nfe = 0
    for start in range(0, len(jobs), int(settings.batch_size)):
        batch = jobs[start : start + int(settings.batch_size)]
        gens = generators_for_seeds([int(seeds[i, k]) for i, k in batch], device=device)
        aux = [_aux_generator(int(seeds[i, k]), device) for i, k in batch]
        slots = [_slots(clouds[i], n_obs, n, g) for (i, _), g in zip(batch, aux)]
        obs = torch.stack([s[0] for s in slots])
        mask = torch.stack([s[1] for s in slots])
        x_t = torch.cat([process.prior((1, n, 3), generator=g, device=device) for g in gens])
        model = InpaintingDenoiser(
            denoiser, process, obs, mask, generator=aux, observed_noise=settings.observed_noise
        )
        cond = None
        if labels is not None:
            cond = torch.tensor([int(labels[i]) for i, _ in batch], device=device)
        elif settings.label is not None:
            cond = torch.full((len(batch),), int(settings.label), device=device)
        res = sample(settings.sampler, model, x_t, sigmas.to(device), cond=cond, generator=gens, **opts)
        x = torch.where(mask[..., None], obs, res.x.to(obs.dtype)).float().cpu().numpy()
        for j, (i, k) in enumerate(batch):
            out[i, k] = x[j]
            used[i, k] = int(mask[j].sum())
        nfe = int(res.nfe)
    return Completed(out, used, nfe)


def _frame_from_completions(kind: str, raw: np.ndarray):
    """One frame from K completions (K, N, 3) in raw units: the mean of their shifts, the median of their
    scales (each fitted to one completion)."""
    from gen3d.geometry import NormParams

    fits = [fit_frame(kind, c) for c in raw]
    return NormParams(np.mean([f.shift for f in fits], axis=0), np.median([f.scale for f in fits], axis=0))


def complete_raw(
    denoiser,
    process,
    partials: Sequence[np.ndarray],
    seeds: np.ndarray,
    settings: CompletionSettings,
    kind: str,
    mode: str = "partial",
    iterations: int = 1,
    device: str | torch.device = "cpu",
) -> tuple[Completed, list]:
    """Complete partial scans (I arrays (M_i, 3)) given in their own units: each is mapped into the model's
    ``kind`` frame (``mode`` as in :mod:`gen3d.completion.frame`; ``refine`` re-fits the frame to the
    completions ``iterations`` times), completed, and mapped back. Returns ``(Completed in the partials'
    units, frames)``, ``frames[i]`` the :class:`~gen3d.geometry.NormParams` (raw -> model) used for input i.
    """
    from gen3d.geometry import NormParams

    if mode == "given":
        frames = [NormParams.identity() for _ in partials]
    else:
        frames = [fit_frame(kind, p) for p in partials]
    rounds = 1 + (int(iterations) if mode == "refine" else 0)
    for r in range(rounds):
        inner = [f.apply(np.asarray(p, dtype=np.float64)) for f, p in zip(frames, partials)]
        done = complete_in_frame(denoiser, process, inner, seeds, settings, device)
        raw = np.stack([f.invert(c) for f, c in zip(frames, done.points)]).astype(np.float32)
        if r + 1 < rounds:
            frames = [_frame_from_completions(kind, c) for c in raw]
    return Completed(raw, done.observed, done.nfe), frames
