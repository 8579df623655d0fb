"""PF-ODE log-likelihood against exact log-densities; the Hutchinson error bar is calibrated."""

import math

import torch

from gen3d.analytic.mixture import GaussianMixtureDenoiser
from gen3d.diagnostics import pf_ode_log_likelihood
from gen3d.diagnostics.likelihood import prior_log_density
from gen3d.diagnostics.toys import mixture_log_density
from gen3d.processes import get_process


def test_gaussian_log_density_second_order_in_steps():
    # N(0, s^2 I_12): exact ln p_{sigma_min}; Rademacher Hutchinson is exact for an isotropic Jacobian, so the
    # error is the ODE discretisation: < 0.1 nat at 64 steps and ~4x smaller at 128 (second order)
    d, s = 12, 0.7
    pop = GaussianMixtureDenoiser(torch.zeros(1, d), std=s)
    g = torch.Generator().manual_seed(0)
    y, _ = pop.sample(32, g)
    y = y.double()
    exact = mixture_log_density(pop, y, 0.02)
    errs = []
    for steps in (64, 128):
        lk = pf_ode_log_likelihood(
            pop, y, sigma_min=0.02, sigma_max=20.0, steps=steps, n_probe=2, generator=g, data_var=s**2
        )
        errs.append((torch.tensor(lk.logp) - exact).abs().max().item())
        assert lk.nfe_per_shape == 2 * (steps - 1) * (1 + 2 * 2)
    assert errs[0] < 0.1 and errs[1] < 0.03 and errs[1] < errs[0] / 3


def test_hutchinson_error_bar_is_calibrated_on_a_mixture():
    # three 2-D Gaussians (note §3.4's toy): the stated stderr (probe spread) matches the actual error
    mix = GaussianMixtureDenoiser(torch.tensor([[1.0, 0.0], [-0.5, 0.8], [-0.5, -0.8]]), std=0.3)
    g = torch.Generator().manual_seed(1)
    y, _ = mix.sample(200, g)
    y = y.double()
    lk = pf_ode_log_likelihood(
        mix, y, sigma_min=0.02, sigma_max=20.0, steps=64, n_probe=4, generator=g, data_var=0.69
    )
    err = torch.tensor(lk.logp) - mixture_log_density(mix, y, 0.02)
    se = torch.tensor(lk.stderr)
    ratio = float(err.square().mean() / se.square().mean())
    assert 0.4 < ratio < 2.5
    assert abs(float(err.mean())) < 3 * float(se.square().mean().sqrt()) / math.sqrt(200) + 0.02


def test_pfgmpp_prior_is_the_normalised_kernel():
    # D = 1, n = 1 (PFGM in one dimension): p(x) = r / (pi (x^2 + r^2)) with r = sigma_max
    proc = get_process("pfgmpp", D=1.0, sigma_max=3.0)
    x = torch.tensor([[0.0], [1.0], [-4.0]], dtype=torch.float64)
    got = prior_log_density(x, 3.0, proc)
    exact = torch.log(3.0 / (math.pi * (x[:, 0] ** 2 + 9.0)))
    assert torch.allclose(got, exact, atol=1e-12)
