"""PF-ODE log-likelihood against exact log-densities; the Hutchinson error bar is calibrated; the prior term
is the process's own law (Yukawa end to end with its exact field); a process without one is refused."""

import math

import numpy as np
import pytest
import torch

from gen3d.analytic import YukawaDiracMixture
from gen3d.analytic.mixture import GaussianMixtureDenoiser
from gen3d.diagnostics import pf_ode_log_likelihood
from gen3d.diagnostics.toys import mixture_log_density
from gen3d.processes import EDMProcess, get_process
from gen3d.processes.yukawa import yukawa_time


def test_gaussian_log_density_second_order_in_steps():
    # N(0, s^2 I_12): exact ln p_{sigma_min}; Rademacher Hutchinson is exact for an isotropic Jacobian, so the
    # error is the ODE discretisation: < 0.1 nat at 64 steps and ~4x smaller at 128 (second order). The prior
    # is EDM's N(0, sigma_max^2 I), not the marginal N(0, (sigma_max^2 + s^2) I): a few 1e-3 nat here
    d, s = 12, 0.7
    pop = GaussianMixtureDenoiser(torch.zeros(1, d), std=s)
    g = torch.Generator().manual_seed(0)
    y, _ = pop.sample(32, g)
    y = y.double()
    exact = mixture_log_density(pop, y, 0.02)
    errs = []
    for steps in (64, 128):
        lk = pf_ode_log_likelihood(
            pop, y, sigma_min=0.02, sigma_max=20.0, steps=steps, n_probe=2, generator=g
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
    lk = pf_ode_log_likelihood(mix, y, sigma_min=0.02, sigma_max=20.0, steps=64, n_probe=4, generator=g)
    err = torch.tensor(lk.logp) - mixture_log_density(mix, y, 0.02)
    se = torch.tensor(lk.stderr)
    ratio = float(err.square().mean() / se.square().mean())
    assert 0.4 < ratio < 2.5
    assert abs(float(err.mean())) < 3 * float(se.square().mean().sqrt()) / math.sqrt(200) + 0.02


def test_pfgmpp_prior_term_is_the_normalised_kernel():
    # D = 1, n = 1 (PFGM in one dimension): p(x) = r / (pi (x^2 + r^2)) with r = sigma_max; the likelihood
    # takes its prior from the process (a copy at the sigma_max it is given: a late start)
    proc = get_process("pfgmpp", D=1.0, sigma_max=80.0)
    x = torch.tensor([[0.0], [1.0], [-4.0]], dtype=torch.float64)
    lk = pf_ode_log_likelihood(lambda x, s, c: x, x, sigma_min=0.5, sigma_max=3.0, steps=2, process=proc)
    exact = torch.log(3.0 / (math.pi * (x[:, 0] ** 2 + 9.0)))  # D = x: the ODE stands still
    assert torch.allclose(torch.tensor(lk.prior, dtype=torch.float64), exact, atol=1e-12)


def test_yukawa_log_density_with_the_exact_field():
    # Two Diracs (0.7 / 0.3) in n = 2, m = 0.1: shapes drawn from the normalised marginal at s_min = 0.2
    # (m t = 0.035, PFGM-like tails), the exact conservative field in the scale frame, prior at s_max = 10
    # (m t = 2). ln p_{s_min} = ln sum_k pi_k q_t(x | y_k) exactly. The Gaussian prior used before this
    # test existed was off by -1.7 nat on average here.
    m, s_min, s_max = 0.1, 0.2, 10.0
    mix = YukawaDiracMixture([[1.0, 0.0], [-1.0, 0.5]], [0.7, 0.3], m=m)
    t_min = float(yukawa_time(torch.tensor(s_min, dtype=torch.float64), m))
    rng = np.random.default_rng(0)
    y = torch.as_tensor(mix.sample_kernel(rng.choice(2, size=32, p=[0.7, 0.3]), t_min, rng))
    exact = torch.as_tensor(mix.log_density(y.numpy(), t_min) + m * t_min)  # normalised: + m t
    lk = pf_ode_log_likelihood(
        mix.denoiser("conservative", frame="s"),
        y,
        sigma_min=s_min,
        sigma_max=s_max,
        steps=24,
        n_probe=4,
        process=get_process("yukawa", m=m),
        generator=torch.Generator().manual_seed(0),
    )
    err = torch.tensor(lk.logp, dtype=torch.float64) - exact
    se = torch.tensor(lk.stderr, dtype=torch.float64)
    assert abs(float(err.mean())) < 3 * float(se.square().mean().sqrt()) / math.sqrt(32) + 0.04
    assert 0.3 < float(err.square().mean() / se.square().mean()) < 3.0


class _OwnKernel(EDMProcess):
    """Draws its own (uniform) kernel and gives no density for it."""

    name = "own"

    def noise(self, shape, sigma, generator=None, device=None, dtype=None):
        u = 2 * torch.rand(shape, generator=generator, device=device, dtype=dtype) - 1
        return sigma.reshape(-1, *[1] * (len(shape) - 1)).to(u) * u


def test_a_process_without_an_exact_prior_density_is_refused_before_any_evaluation():
    calls = []

    def den(x, s, c):
        calls.append(1)
        return x

    with pytest.raises(NotImplementedError, match="no exact log-density"):
        pf_ode_log_likelihood(den, torch.zeros(2, 3), sigma_max=80.0, steps=3, process=_OwnKernel())
    assert not calls
