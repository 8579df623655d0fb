"""Teacher ODE trajectories at a student's noise levels, and the targets that make a few-step student follow
them (trajectory distillation, ``gen3d distill --method trajectory``).

A ``K``-step student samples with Euler on its own grid ``s_0 = sigma_max > s_1 > ... > s_K = 0``. Let
``x_0, ..., x_K`` be the *teacher's* probability-flow ODE solution from the same prior draw ``x_0``, passing
through the student's levels. One Euler step ``x_{k+1} = x_k + (s_{k+1} - s_k) (x_k - D) / s_k`` lands on the
teacher's ``x_{k+1}`` exactly when the student's denoiser output is

    D*_k = (s_k x_{k+1} - s_{k+1} x_k) / (s_k - s_{k+1})          (for the last step, s_K = 0: D*_K-1 = x_K),

so the student is trained by regression of ``D(x_k; s_k)`` on ``D*_k`` (Luhman & Luhman 2021 for K = 1; the
same construction for K > 1 is a one-shot version of progressive distillation, with the teacher's fine ODE
solve in place of two of its own steps).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

__all__ = [
    "DETERMINISTIC_TEACHERS",
    "TeacherTrajectories",
    "student_sigmas",
    "teacher_trajectories",
    "euler_targets",
]

#: teacher samplers that follow the ODE on a given grid (stochastic or adaptive ones cannot be distilled so)
DETERMINISTIC_TEACHERS = ("euler", "heun", "dpmpp_2m")


def student_sigmas(steps: int, sigma_max: float, sigma_end: float = 0.02) -> list[float]:
    """The student's grid: ``steps`` levels geometric from ``sigma_max`` toward ``sigma_end``
    (``s_k = sigma_max (sigma_end / sigma_max)^(k / steps)``, k = 0..steps-1), then 0; (steps + 1,)."""
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be an integer >= 1, got {steps!r}")
    if not 0 < sigma_end < sigma_max:
        raise ValueError(f"need 0 < sigma_end < sigma_max, got {sigma_end}, {sigma_max}")
    ratio = math.log(sigma_end / sigma_max)
    return [float(sigma_max * math.exp(ratio * k / steps)) for k in range(steps)] + [0.0]


@dataclass
class TeacherTrajectories:
    """``states`` (S, K, ...) the teacher's state at the student's K non-zero levels (``states[:, 0]`` is the
    prior draw), ``final`` (S, ...) its sample, ``grid`` (K + 1,) the student's levels, ``seeds`` (S,),
    ``nfe`` network evaluations per shape and ``teacher_grid`` the levels the teacher stepped through."""

    states: torch.Tensor
    final: torch.Tensor
    grid: list[float]
    seeds: list[int]
    nfe: int
    teacher_grid: list[float]


def _merged_grid(teacher: Sequence[float], student: Sequence[float]) -> list[float]:
    """The teacher's grid with the student's levels inserted (descending, one 0 at the end)."""
    levels = {float(v) for v in teacher if v > 0} | {float(v) for v in student if v > 0}
    return sorted(levels, reverse=True) + [0.0]


@torch.no_grad()
def teacher_trajectories(
    denoiser,
    process,
    shape_per_sample: Sequence[int],
    seeds: Sequence[int],
    grid: Sequence[float],
    *,
    sampler: str = "heun",
    steps: int = 18,
    rho: float = 7.0,
    batch_size: int = 50,
    device: str | torch.device = "cpu",
    progress: bool = False,
    cond: Sequence[int] | None = None,
) -> TeacherTrajectories:
    """Run the teacher (``sampler`` on its Karras grid of ``steps`` steps, the student's levels inserted) from
    one prior draw per seed and keep its states at the student's ``grid`` (K + 1,) levels.

    ``grid[0]`` must be the process's ``sigma_max`` (the student starts from the same prior). ``cond``: one
    class label per seed for a class-conditional teacher (its null label for unconditional trajectories).
    """
    from gen3d.generate import generate
    from gen3d.samplers import get_schedule

    if sampler not in DETERMINISTIC_TEACHERS:
        raise ValueError(
            f"the teacher sampler must follow the ODE on a fixed grid ({', '.join(DETERMINISTIC_TEACHERS)}), "
            f"got {sampler!r}"
        )
    grid = [float(v) for v in grid]
    if not math.isclose(grid[0], float(process.sigma_max), rel_tol=1e-9) or grid[-1] != 0.0:
        raise ValueError(f"the student grid must run from sigma_max={process.sigma_max:g} to 0, got {grid}")
    teacher = [float(v) for v in get_schedule("karras", steps, process.sigma_min, process.sigma_max, rho=rho)]
    merged = _merged_grid(teacher, grid)
    wanted = {v: k for k, v in enumerate(grid[:-1])}
    seen: dict[int, dict[int, torch.Tensor]] = {}  # batch start -> student level index -> (b, ...) state

    def keep(start: int, i: int, sigma: float, x: torch.Tensor, x0_hat) -> None:
        k = wanted.get(merged[i]) if i < len(merged) - 1 else None
        if k is not None:
            seen.setdefault(start, {})[k] = x.detach().float().cpu().clone()

    out = generate(
        denoiser,
        process,
        shape_per_sample,
        seeds,
        sampler=sampler,
        steps=len(merged) - 1,
        sigmas=merged,
        batch_size=batch_size,
        callback=keep,
        device=device,
        progress=progress,
        cond=cond,
    )
    starts = sorted(seen)
    states = torch.cat([torch.stack([seen[s][k] for k in range(len(wanted))], 1) for s in starts])
    return TeacherTrajectories(
        states=states,
        final=out.x,
        grid=grid,
        seeds=[int(s) for s in seeds],
        nfe=int(out.nfe),
        teacher_grid=merged,
    )


def euler_targets(states: torch.Tensor, final: torch.Tensor, grid: Sequence[float]) -> torch.Tensor:
    """``D*`` (S, K, ...) for ``states`` (S, K, ...) at the non-zero levels of ``grid`` (K + 1,) and the
    teacher's ``final`` (S, ...) sample: ``D*_k = (s_k x_{k+1} - s_{k+1} x_k) / (s_k - s_{k+1})``."""
    g = [float(v) for v in grid]
    k_steps = states.shape[1]
    if len(g) != k_steps + 1:
        raise ValueError(f"grid has {len(g)} levels for {k_steps} states; expected {k_steps + 1}")
    nxt = torch.cat([states[:, 1:], final[:, None]], 1)
    out = torch.empty_like(states)
    for k in range(k_steps):
        s, s_next = g[k], g[k + 1]
        out[:, k] = (s * nxt[:, k] - s_next * states[:, k]) / (s - s_next)
    return out
