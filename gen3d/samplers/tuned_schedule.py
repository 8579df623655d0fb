"""A few-step sigma grid fitted to a model's own ODE trajectories by dynamic programming.

The idea of GITS (Chen et al. 2024, "On the trajectory regularity of ODE-based diffusion sampling"): the
probability-flow trajectories of one model are similar to each other, so a grid that is good for a handful of
them is good for all. Steps:

1. *Teacher path.* From a few prior draws ``x_T`` integrate the ODE finely through ``M + 1`` candidate levels
   (a Karras grid of ``M`` steps, last level 0), keeping the state at every candidate: ``X_0 .. X_M``.
2. *Step costs.* ``C[i, j]`` = RMS distance (per sample, then the mean) between one ``solver`` step from
   ``X_i`` (level ``s_i``) to level ``s_j`` and the teacher's ``X_j``: the local error of that coarse step.
3. *Best path.* The ``K``-step path ``0 = i_0 < i_1 < ... < i_K = M`` that minimises ``sum_k C[i_{k-1}, i_k]``
   (dynamic programming, ``O(K M^2)``); its levels are the grid.

The grid depends on the model and the solver, never on the seeds it is used with later
(``gen3d distill --method schedule`` writes it into the checkpoint's ``sampler.sigmas``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from gen3d.samplers.schedules import get_schedule

__all__ = ["TunedSchedule", "teacher_states", "step_costs", "best_path", "tune_schedule"]


@dataclass
class TunedSchedule:
    """``sigmas`` (K + 1,) the fitted grid, last 0; ``cost`` its summed local error; ``karras_cost`` the same
    sum for the Karras grid of K steps on the same teacher paths (the baseline), ``candidates`` (M + 1,) the
    levels searched, ``teacher_nfe`` and ``search_nfe`` what the fit cost in network evaluations (batched
    calls)."""

    sigmas: list[float]
    cost: float
    karras_cost: float
    candidates: list[float]
    teacher_nfe: int
    search_nfe: int


def _sample(name: str, denoiser, x: torch.Tensor, grid, cond) -> tuple[torch.Tensor, int]:
    from gen3d.samplers import sample

    res = sample(name, denoiser, x, torch.as_tensor(grid, dtype=torch.float64), cond=cond)
    return res.x, res.nfe


def _rms(a: torch.Tensor, b: torch.Tensor) -> float:
    """Mean over samples of the RMS difference of two (B, ...) states."""
    return float((a - b).flatten(1).double().pow(2).mean(1).sqrt().mean())


@torch.no_grad()
def teacher_states(
    denoiser, x_T: torch.Tensor, candidates: list[float], *, substeps: int = 4, cond=None
) -> tuple[list[torch.Tensor], int]:
    """Step 1: Heun with ``substeps`` geometric sub-steps between consecutive candidate levels (one Euler step
    into the final level 0). Returns the states ``[X_0 = x_T, ..., X_M]`` (each (B, ...)) and the NFE."""
    states, nfe, x = [x_T], 0, x_T
    for a, b in zip(candidates[:-1], candidates[1:]):
        seg = get_schedule("loguniform", substeps, b, a)[:-1] if b > 0 else [a, 0.0]
        x, n = _sample("heun", denoiser, x, seg, cond)
        states.append(x)
        nfe += n
    return states, nfe


@torch.no_grad()
def step_costs(
    denoiser,
    states: list[torch.Tensor],
    candidates: list[float],
    solver: str = "heun",
    *,
    cond=None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[np.ndarray, int]:
    """Step 2: ``C`` (M + 1, M + 1) with ``C[i, j]`` (i < j) the local error of one ``solver`` step from
    ``states[i]`` to level ``candidates[j]``; ``inf`` below the diagonal. Returns ``(C, nfe)``;
    ``progress(done, total)`` after each row."""
    m = len(candidates) - 1
    costs = np.full((m + 1, m + 1), np.inf)
    nfe = 0
    for i in range(m):
        for j in range(i + 1, m + 1):
            x, n = _sample(solver, denoiser, states[i], [candidates[i], candidates[j]], cond)
            costs[i, j] = _rms(x, states[j])
            nfe += n
        if progress is not None:
            progress(i + 1, m)
    return costs, nfe


def best_path(costs: np.ndarray, steps: int) -> tuple[list[int], float]:
    """Step 3: the indices ``[0, ..., M]`` of the ``steps``-step path through ``costs`` (M + 1, M + 1) with
    the smallest summed cost, and that sum. ValueError when ``steps`` exceeds ``M``."""
    m = costs.shape[0] - 1
    if not 1 <= steps <= m:
        raise ValueError(f"steps must be in 1..{m} (the number of candidate steps), got {steps}")
    best = np.full((steps + 1, m + 1), np.inf)
    came = np.zeros((steps + 1, m + 1), dtype=np.int64)
    best[0, 0] = 0.0
    for k in range(1, steps + 1):
        for j in range(1, m + 1):
            total = best[k - 1, :j] + costs[:j, j]
            i = int(np.argmin(total))
            best[k, j], came[k, j] = total[i], i
    path = [m]
    for k in range(steps, 0, -1):
        path.append(int(came[k, path[-1]]))
    return path[::-1], float(best[steps, m])


def tune_schedule(
    denoiser,
    x_T: torch.Tensor,
    steps: int,
    *,
    sigma_min: float,
    sigma_max: float,
    solver: str = "heun",
    n_candidates: int = 40,
    rho: float = 7.0,
    cond=None,
    progress: Callable[[int, int], None] | None = None,
) -> TunedSchedule:
    """Fit a ``steps``-step grid for ``solver`` to the trajectories from ``x_T`` (B, ...) (steps 1-3 above).

    Candidates: the Karras grid of ``n_candidates`` steps between ``sigma_min`` and ``sigma_max`` (``rho``)
    and the levels of the ``steps``-step Karras grid (so ``karras_cost`` is exact), then 0. ``x_T`` are draws
    of the process's prior at ``sigma_max``.
    """
    karras = [float(v) for v in get_schedule("karras", steps, sigma_min, sigma_max, rho=rho)]
    fine = [float(v) for v in get_schedule("karras", n_candidates, sigma_min, sigma_max, rho=rho)]
    candidates = sorted(set(fine) | set(karras), reverse=True)  # the baseline's levels are candidates too
    states, teacher_nfe = teacher_states(denoiser, x_T, candidates, cond=cond)
    costs, search_nfe = step_costs(denoiser, states, candidates, solver, cond=cond, progress=progress)
    path, cost = best_path(costs, steps)
    at = {v: i for i, v in enumerate(candidates)}
    karras_cost = float(sum(costs[at[a], at[b]] for a, b in zip(karras[:-1], karras[1:])))
    return TunedSchedule(
        sigmas=[candidates[i] for i in path],
        cost=cost,
        karras_cost=karras_cost,
        candidates=candidates,
        teacher_nfe=teacher_nfe,
        search_nfe=search_nfe,
    )
