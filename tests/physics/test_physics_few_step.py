"""Few-step sampling: the dynamic programme of the tuned grid, the teacher trajectories and the Euler targets
of trajectory distillation, against brute force and the exact Gaussian probability-flow ODE."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from gen3d.analytic import gaussian_flow
from gen3d.processes import get_process
from gen3d.samplers import get_schedule, sample
from gen3d.samplers.tuned_schedule import best_path, tune_schedule
from gen3d.trajectories import euler_targets, student_sigmas, teacher_trajectories

MU, STD = 0.3, 0.05


class GaussianDenoiser(torch.nn.Module):
    """Exact ``D(x; sigma) = mu + s^2 / (s^2 + sigma^2) (x - mu)`` for data N(mu, s^2 I)."""

    def forward(self, x, sigma, cond=None):
        s = sigma.reshape(-1, *([1] * (x.ndim - 1))).to(x.dtype)
        return MU + STD**2 / (STD**2 + s**2) * (x - MU)


def _brute_force(costs: np.ndarray, steps: int) -> float:
    m = costs.shape[0] - 1
    best = math.inf
    for inner in itertools.combinations(range(1, m), steps - 1):
        path = (0, *inner, m)
        best = min(best, sum(costs[a, b] for a, b in zip(path[:-1], path[1:])))
    return best


@pytest.mark.parametrize("steps", [1, 2, 3, 5])
def test_best_path_is_the_cheapest_path(steps):
    rng = np.random.default_rng(steps)
    m = 8
    costs = np.triu(rng.uniform(0.1, 2.0, (m + 1, m + 1)), 1)
    costs[costs == 0] = np.inf
    path, total = best_path(costs, steps)
    assert path[0] == 0 and path[-1] == m and len(path) == steps + 1
    assert all(a < b for a, b in zip(path[:-1], path[1:]))
    assert total == pytest.approx(sum(costs[a, b] for a, b in zip(path[:-1], path[1:])))
    assert total == pytest.approx(_brute_force(costs, steps))
    with pytest.raises(ValueError, match="steps must be in 1..8"):
        best_path(costs, m + 1)


def _exact_error(grid, seeds: int = 64) -> float:
    g = torch.Generator().manual_seed(123)
    x_T = 80.0 * torch.randn(seeds, 16, 3, generator=g, dtype=torch.float64)
    x = sample("heun", GaussianDenoiser(), x_T, torch.tensor(grid, dtype=torch.float64)).x
    exact = gaussian_flow(x_T, 80.0, 0.0, MU, STD)
    return float((x - exact).pow(2).mean().sqrt())


def test_tuned_grid_beats_karras_on_the_exact_gaussian_flow():
    g = torch.Generator().manual_seed(0)
    x_T = 80.0 * torch.randn(8, 16, 3, generator=g, dtype=torch.float64)
    tuned = tune_schedule(GaussianDenoiser(), x_T, 4, sigma_min=0.002, sigma_max=80.0, n_candidates=24)
    assert tuned.sigmas[0] == 80.0 and tuned.sigmas[-1] == 0.0 and len(tuned.sigmas) == 5
    assert tuned.cost <= tuned.karras_cost
    karras = get_schedule("karras", 4, 0.002, 80.0).tolist()
    # on other prior draws, against the closed-form ODE solution: the fitted grid is more accurate
    assert _exact_error(tuned.sigmas) < 0.5 * _exact_error(karras)


def test_euler_targets_make_one_euler_step_land_on_the_teacher():
    g = torch.Generator().manual_seed(1)
    grid = [80.0, 3.0, 0.2, 0.0]
    states = torch.randn(5, 3, 7, 3, generator=g, dtype=torch.float64)
    final = torch.randn(5, 7, 3, generator=g, dtype=torch.float64)
    targets = euler_targets(states, final, grid)
    nxt = torch.cat([states[:, 1:], final[:, None]], 1)
    for k in range(3):
        stepped = sample("euler", lambda x, s, c, t=targets[:, k]: t, states[:, k], grid[k : k + 2]).x
        assert torch.allclose(stepped, nxt[:, k], atol=1e-10)
    # the last step, to sigma = 0, lands on the sample itself
    assert torch.allclose(targets[:, -1], final, rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="expected 4"):
        euler_targets(states, final, grid[:-1])


def test_student_sigmas_are_geometric_toward_sigma_end():
    assert student_sigmas(1, 80.0) == [80.0, 0.0]
    grid = student_sigmas(4, 80.0, 0.02)
    assert grid[-1] == 0.0 and len(grid) == 5
    ratios = [b / a for a, b in zip(grid[:-2], grid[1:-1])]
    assert ratios == pytest.approx([(0.02 / 80.0) ** 0.25] * 3)
    with pytest.raises(ValueError):
        student_sigmas(0, 80.0)


def test_teacher_trajectories_follow_the_exact_flow_at_the_student_levels():
    process = get_process("edm")
    grid = student_sigmas(3, float(process.sigma_max), 0.05)
    tr = teacher_trajectories(GaussianDenoiser(), process, (16, 3), [4, 5, 6], grid, sampler="heun", steps=64)
    assert tr.states.shape == (3, 3, 16, 3) and tr.final.shape == (3, 16, 3)
    assert all(s in tr.teacher_grid for s in grid)
    x_T = tr.states[:, 0].double()
    for k, s in enumerate(grid[:-1]):
        exact = gaussian_flow(x_T, float(process.sigma_max), s, MU, STD)
        assert torch.allclose(tr.states[:, k].double(), exact, rtol=1e-3, atol=1e-4), s
    assert torch.allclose(tr.final.double(), gaussian_flow(x_T, 80.0, 0.0, MU, STD), atol=1e-3)
    with pytest.raises(ValueError, match="follow the ODE"):
        teacher_trajectories(GaussianDenoiser(), process, (16, 3), [1], grid, sampler="edm_stochastic")
