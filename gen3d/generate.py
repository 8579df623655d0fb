"""Batched sampling from a trained denoiser with per-sample seeds.

Shape ``i`` depends only on ``seeds[i]`` (and the model, sampler and steps), never on the batch size or its
position in the batch: every sample gets its own ``torch.Generator`` (``gen3d.random.generators_for_seeds``)
that draws its prior sample and any sampler noise.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn

__all__ = ["Generated", "TrajectoryRecorder", "generate", "sampling_process", "check_grid_start"]


class Generated(tuple):
    """What :func:`generate` returns: unpacks as ``x, nfe = generate(...)``, with per-batch details.

    * ``x``: ``(S, *shape_per_sample)`` float32 on CPU;
    * ``nfe``: denoiser calls per sample: an int when every batch took the same number, else the mean over
      samples (a float; the adaptive solver's step counts differ between batches);
    * ``nfe_per_batch``: calls of each batch (the sampler's ``SampleResult.nfe``), ``batch_sizes`` the
      batches' sizes;
    * ``nfe_total``: calls in all (sum over batches).
    """

    def __new__(cls, x: torch.Tensor, nfe_per_batch: Sequence[int], batch_sizes: Sequence[int]):
        per_batch = [int(n) for n in nfe_per_batch]
        sizes = [int(b) for b in batch_sizes]
        if len(set(per_batch)) == 1:
            nfe: int | float = per_batch[0]
        else:
            nfe = sum(n * b for n, b in zip(per_batch, sizes)) / sum(sizes)
        self = super().__new__(cls, (x, nfe))
        self.nfe_per_batch, self.batch_sizes = per_batch, sizes
        return self

    @property
    def x(self) -> torch.Tensor:
        return self[0]

    @property
    def nfe(self) -> int | float:
        return self[1]

    @property
    def nfe_total(self) -> int:
        return sum(self.nfe_per_batch)

    def nfe_meta(self) -> dict:
        """The NFE record for a sample file's meta: ``nfe`` (per sample), ``nfe_total``, and
        ``nfe_per_batch``/``batch_sizes`` when batches differ."""
        out = {"nfe": self.nfe, "nfe_total": self.nfe_total}
        if len(set(self.nfe_per_batch)) > 1:
            out.update(nfe_per_batch=self.nfe_per_batch, batch_sizes=self.batch_sizes)
        return out


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
    sigmas: Sequence[float] | None = None,
    sigma_max: float | None = None,
    sigma_min: float | None = None,
    **sampler_opts,
) -> Generated:
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
        schedule, rho: the sigma grid (``gen3d.samplers.get_schedule``).
        sigmas: an explicit grid of ``steps + 1`` levels instead (a tuned schedule or a distilled student's
            steps, ``sampler.sigmas`` of the config); ``schedule`` and ``rho`` are then unused. It must
            start at the process's ``sigma_max``.
        sigma_max: start the ``schedule`` grid at this level instead of the process's ``sigma_max`` and draw
            the prior there (``sampler.sigma_max``: a late start). The prior is the process's own at that
            level (EDM: ``N(0, sigma_max^2 I)``), which ignores the data's spread, so a start far below
            ``sigma_max`` trades a prior mismatch for steps spent where shapes form; measure it.
        sigma_min: end the ``schedule`` grid at this level instead of the process's ``sigma_min``; the last
            step then denoises from it to 0 (``sampler.sigma_min``: an early stop).
        **sampler_opts: options of ``sampler`` (``S_churn``, ``rtol``, ...), checked against its signature
            before the first batch (ValueError naming the sampler's options).

    Returns:
        :class:`Generated`: unpacks as ``(x (S, *shape_per_sample) float32 on CPU, nfe)`` where ``nfe`` is the
        number of denoiser calls per sample (the mean over samples when batches differ; with guidance each
        call is one batched forward of the doubled batch); per-batch counts in ``.nfe_per_batch``.
    """
    from gen3d.random import generators_for_seeds
    from gen3d.samplers import check_options, get_schedule, sample

    sampler_opts = check_options(sampler, sampler_opts)
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
    process = sampling_process(process, sigma_max, sigma_min, sigmas)
    if sigmas is None:
        grid = get_schedule(schedule, steps, process.sigma_min, process.sigma_max, rho=rho)
    else:
        grid = torch.as_tensor([float(v) for v in sigmas], dtype=torch.float64)
        if grid.numel() != steps + 1:
            raise ValueError(f"sigmas holds {grid.numel() - 1} steps, but steps is {steps}")
        check_grid_start(grid, process)
    grid = grid.to(device)
    out, nfes, sizes = [], [], []
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
            sampler, model, x_T.to(device), grid, cond=c, generator=gens, callback=cb, **sampler_opts
        )
        out.append(res.x.float().cpu())
        nfes.append(int(res.nfe))
        sizes.append(len(batch_seeds))
        if bar is not None:
            bar.update(len(batch_seeds))
    if bar is not None:
        bar.close()
    return Generated(torch.cat(out), nfes, sizes)


def check_grid_start(grid, process) -> None:
    """ValueError unless the explicit grid ``grid`` (decreasing levels) starts at ``process.sigma_max``: the
    prior is the process's kernel there, so a grid starting elsewhere would integrate the ODE from a state at
    the wrong noise level (a silently wrong sample)."""
    first = float(grid[0])
    if not math.isclose(first, float(process.sigma_max), rel_tol=1e-6):
        raise ValueError(
            f"sigmas must start at the process's sigma_max {float(process.sigma_max):g} (the prior is drawn "
            f"there), got {first:g}; start the grid there, or give sigma_max (sampler.sigma_max) and a "
            "schedule instead of an explicit grid"
        )


def sampling_process(process, sigma_max: float | None = None, sigma_min: float | None = None, sigmas=None):
    """``process`` itself, or a copy whose ``sigma_max`` (the grid's start and the prior's level) and/or
    ``sigma_min`` (the last level before the final denoise to 0) are the given ones (``sampler.sigma_max``,
    ``sampler.sigma_min``). Refused together with an explicit ``sigmas`` grid, or unless
    ``0 < sigma_min < sigma_max`` (both finite)."""
    if sigma_max is None and sigma_min is None:
        return process
    if sigmas is not None:
        raise ValueError("give sigma_max / sigma_min or an explicit sigmas grid, not both")
    top = float(process.sigma_max if sigma_max is None else sigma_max)
    low = float(process.sigma_min if sigma_min is None else sigma_min)
    if not (math.isfinite(top) and 0 < low < top):
        raise ValueError(f"sampling levels need 0 < sigma_min < sigma_max (finite), got {low:g} and {top:g}")
    from gen3d.processes import get_process

    return get_process(**{**process.config(), "sigma_max": top, "sigma_min": low})


_ONE_BATCH = "record a trajectory with all shapes in one batch"


class TrajectoryRecorder:
    """Sampler callback for :func:`generate` that keeps every ``every``-th state and the last one.

    After sampling, :meth:`arrays` returns ``(trajectory (T, S, ...) float32, sigmas (T,) float32)``. Frames
    are aligned by step index across batches, so every batch must take the same steps at the same noise
    levels: true for the fixed-grid samplers, not for the ``adaptive`` solver over several batches (each batch
    picks its own steps), for which :meth:`arrays` raises ValueError; record such trajectories in one batch.
    """

    def __init__(self, n_samples: int, every: int = 1):
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"trajectory stride must be an integer >= 1, got {every!r}")
        self.n = int(n_samples)
        self.every = int(every)
        self._frames: dict[int, dict[int, tuple[float, torch.Tensor]]] = {}  # step -> start -> (sigma, x)
        self._last: dict[int, tuple[int, float, torch.Tensor]] = {}  # start -> (step, sigma, x)

    def __call__(self, start: int, i: int, sigma, x: torch.Tensor, x0_hat: torch.Tensor) -> None:
        s = float(torch.as_tensor(sigma).reshape(-1)[0])
        x = x.detach().clone()
        if i % self.every == 0:
            self._frames.setdefault(i, {})[start] = (s, x)
        self._last[start] = (i, s, x)

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """``(trajectory (T, S, ...) float32, sigmas (T,) float32)``; ValueError when the batches' steps
        differ (the adaptive solver over several batches) or states of some samples are missing."""
        if not self._last:
            raise ValueError("no sampler state was recorded")
        starts = sorted(self._last)
        last_steps = sorted({step for step, _, _ in self._last.values()})
        if len(last_steps) > 1:
            raise ValueError(
                f"the batches took different numbers of sampler steps ({last_steps[0]}..{last_steps[-1]}), "
                f"so their trajectories cannot be aligned: {_ONE_BATCH}"
            )
        frames = dict(self._frames)
        frames.setdefault(last_steps[0], {s: self._last[s][1:] for s in starts})
        traj, sigmas = [], []
        for i in sorted(frames):
            if sorted(frames[i]) != starts:
                raise ValueError(f"sampler step {i} was not recorded for every batch")
            levels = [frames[i][s][0] for s in starts]
            if not np.allclose(levels, levels[0], rtol=1e-6, atol=0.0):
                raise ValueError(
                    f"the batches were at different noise levels at step {i} ({min(levels):g}.."
                    f"{max(levels):g}), so their trajectories cannot be aligned: {_ONE_BATCH}"
                )
            traj.append(torch.cat([frames[i][s][1].float().cpu() for s in starts]).numpy())
            sigmas.append(levels[0])
        out = np.stack(traj).astype(np.float32)
        if out.shape[1] != self.n:
            raise ValueError(f"recorded {out.shape[1]} samples, expected {self.n}")
        return out, np.asarray(sigmas, dtype=np.float32)
