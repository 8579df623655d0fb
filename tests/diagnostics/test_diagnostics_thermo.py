"""The integral fluctuation theorem of the reverse SDE with the exact score (note §3.2)."""

import math

import pytest
import torch

from gen3d.analytic.mixture import GaussianMixtureDenoiser
from gen3d.diagnostics import entropy_production, fluctuation_summary, log_sigma_grid
from gen3d.diagnostics.toys import mixture_log_density


def test_fluctuation_theorem_and_second_law_two_gaussians():
    # 2-D, |m| = 2, s0 = 0.5, sigma 4 -> 1, 400 steps, 4000 trajectories: <exp(-Sigma)> = 1,
    # <Sigma> = dH = H(p_4) - H(p_1) and <Q> = 2 dH (dH by Monte Carlo on exact draws, 0.01 nat)
    mix = GaussianMixtureDenoiser(torch.tensor([[2.0, 0.0], [-2.0, 0.0]]), std=0.5)
    g = torch.Generator().manual_seed(0)

    def entropy(s, n=40000):
        y, _ = mix.sample(n, g)
        x = y.double() + s * torch.randn(y.shape, generator=g, dtype=torch.float64)
        return -float(mixture_log_density(mix, x, s).mean())

    dH = entropy(4.0) - entropy(1.0)
    y, _ = mix.sample(4000, g)
    x0 = y.double() + 4.0 * torch.randn(y.shape, generator=g, dtype=torch.float64)
    out = entropy_production(
        mix,
        x0,
        log_sigma_grid(1.0, 4.0, 401),
        generator=g,
        log_density=lambda x, s: mixture_log_density(mix, x, s),
    )
    s = fluctuation_summary(out)
    assert s.mean_exp_minus_sigma == pytest.approx(1.0, abs=4 * s.se_exp_minus_sigma + 0.02)
    assert s.mean_sigma == pytest.approx(dH, abs=0.1)
    assert s.mean_heat == pytest.approx(2 * dH, abs=0.2)
    assert 0.2 < s.share_negative < 0.45  # a fluctuation theorem, not a sure second law
    assert math.isfinite(s.mean_heat)
