"""Every process owns its preconditioning (EDM Table 1) and the effective weight lambda(sigma) c_out(sigma)^2.

Expected values are written from the papers, not computed by the code under test:
EDM Table 1 / NVlabs/edm ``training/networks.py`` (VPPrecond, VEPrecond, EDMPrecond) and ``training/loss.py``
(VPLoss, VELoss: lambda = 1 / sigma^2; EDMLoss: lambda = (sigma^2 + sigma_d^2) / (sigma sigma_d)^2). PFGM++
reuses EDM's preconditioning and loss.
"""

import math

import numpy as np
import pytest
import torch
from torch import nn

from gen3d.precond import Precond
from gen3d.processes import PROCESSES, get_process

SIGMAS = np.logspace(-3, math.log10(200.0), 41)

# lambda(sigma) * c_out(sigma)^2 per process, from the papers: EDM sets lambda = 1 / c_out^2 (EDM Sec. 5);
# VP and VE use lambda = 1 / sigma^2 with c_out = -sigma and sigma (EDM Table 1); PFGM++ uses EDM's; Yukawa
# uses EDM's lambda and coefficients at its scale s(t) (physics/yukawa.md), so 1 as well.
EFFECTIVE_WEIGHT = {
    "edm": lambda s: np.ones_like(s),
    "vp": lambda s: np.ones_like(s),
    "ve": lambda s: np.ones_like(s),
    "pfgmpp": lambda s: np.ones_like(s),
    "pfgm": lambda s: np.ones_like(s),
    "yukawa": lambda s: np.ones_like(s),
}
KWARGS = {"pfgmpp": {"D": 64.0}}


def test_every_registered_process_declares_its_effective_weight():
    missing = set(PROCESSES) - set(EFFECTIVE_WEIGHT)
    assert not missing, f"add the paper's lambda * c_out^2 for {sorted(missing)} to EFFECTIVE_WEIGHT"


@pytest.mark.parametrize("name", sorted(PROCESSES))
def test_effective_weight_matches_paper(name):
    if name not in EFFECTIVE_WEIGHT:
        pytest.fail(f"process {name!r} has no expected effective weight in EFFECTIVE_WEIGHT")
    proc = get_process(name, **KWARGS.get(name, {}))
    sigma = torch.tensor(SIGMAS, dtype=torch.float64)
    _, c_out, _, _ = proc.preconditioning(sigma)
    got = (proc.loss_weight(sigma) * c_out**2).numpy()
    np.testing.assert_allclose(got, EFFECTIVE_WEIGHT[name](SIGMAS), rtol=1e-12)


def _edm_table1(s, sd):
    return sd**2 / (s**2 + sd**2), s * sd / np.sqrt(s**2 + sd**2), 1 / np.sqrt(s**2 + sd**2), np.log(s) / 4


@pytest.mark.parametrize("name", ["edm", "pfgmpp", "pfgm"])
def test_edm_family_coefficients(name):
    proc = get_process(name, sigma_data=0.7, **KWARGS.get(name, {}))
    got = proc.preconditioning(torch.tensor(SIGMAS, dtype=torch.float64))
    for g, ref in zip(got, _edm_table1(SIGMAS, 0.7), strict=True):
        np.testing.assert_allclose(g.numpy(), ref, rtol=1e-12)


def test_ve_coefficients():
    proc = get_process("ve", sigma_data=0.7)
    got = proc.preconditioning(torch.tensor(SIGMAS, dtype=torch.float64))
    ref = (np.ones_like(SIGMAS), SIGMAS, np.ones_like(SIGMAS), np.log(SIGMAS) / 4)  # c_noise: gen3d's
    for g, r in zip(got, ref, strict=True):
        np.testing.assert_allclose(g.numpy(), r, rtol=1e-12)


@pytest.mark.parametrize("beta_d,beta_min", [(19.9, 0.1), (12.0, 0.3)])
def test_vp_coefficients(beta_d, beta_min):
    """VP times t mapped to sigma(t) (EDM Table 1); c_noise is gen3d's ln(sigma) / 4 for every process."""
    t = np.linspace(1e-5, 1.0, 37)
    s = np.sqrt(np.expm1(0.5 * beta_d * t**2 + beta_min * t))
    proc = get_process("vp", beta_d=beta_d, beta_min=beta_min)
    got = proc.preconditioning(torch.tensor(s, dtype=torch.float64))
    ref = (np.ones_like(s), -s, 1 / np.sqrt(s**2 + 1), np.log(s) / 4)
    for g, r in zip(got, ref, strict=True):
        np.testing.assert_allclose(g.numpy(), r, rtol=1e-10, atol=1e-9)


def test_vp_default_noise_range_is_edm_table1():
    """sigma_min = sigma(eps_s = 1e-3) = 0.0104860, sigma_max = sigma(1) = 152.1670 (beta_d = 19.9,
    beta_min = 0.1), by hand from EDM Table 1's sigma(t)."""
    proc = get_process("vp")
    assert proc.sigma_min == pytest.approx(0.0104860, rel=1e-5)
    assert proc.sigma_max == pytest.approx(152.1670, rel=1e-5)


class Recorder(nn.Module):
    def forward(self, x_in, c_noise, cond=None):
        self.seen = (x_in.clone(), c_noise.clone())
        return torch.sin(x_in) + 0.1 * c_noise.reshape(-1, *([1] * (x_in.ndim - 1)))


@pytest.mark.parametrize("name", ["vp", "ve"])
def test_precond_wrapper_uses_the_process_coefficients(name, sample_shape):
    """D(x) = x + c_out F(c_in x; c_noise) with VP's / VE's Table 1 coefficients, on both tensor ranks."""
    den = Precond(Recorder(), get_process(name))
    x = torch.randn((3, *sample_shape), dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    s = np.array([0.02, 1.0, 50.0])
    out = den(x, torch.tensor(s, dtype=torch.float64)).numpy().reshape(3, -1)
    xn = x.numpy().reshape(3, -1)
    c_noise = np.log(s) / 4  # gen3d's noise input for every process (see gen3d.processes.vp)
    if name == "vp":
        c_out, c_in = -s, 1 / np.sqrt(s**2 + 1)
    else:
        c_out, c_in = s, np.ones_like(s)
    for b in range(3):
        f = np.sin(c_in[b] * xn[b]) + 0.1 * c_noise[b]
        np.testing.assert_allclose(out[b], xn[b] + c_out[b] * f, rtol=1e-10)
        np.testing.assert_allclose(
            den.backbone.seen[0].numpy().reshape(3, -1)[b], c_in[b] * xn[b], rtol=1e-12
        )
    np.testing.assert_allclose(den.backbone.seen[1].numpy(), c_noise, rtol=1e-10)


@pytest.mark.parametrize("name", ["edm", "vp", "ve"])
def test_training_loss_of_a_zero_network_is_one(name):
    """Through ``process.loss`` and the wrapper: with F = 0 and y ~ N(0, sigma_d^2 I) the per-sample loss is
    lambda c_out^2 * chi2_48 / 48 at every sigma (VP/VE: D = x, so loss = |eps|^2 / n; EDM: D = c_skip x,
    the ideal denoiser of Gaussian data), whose mean is the effective weight, 1."""

    class Zero(nn.Module):
        def forward(self, x_in, c_noise, cond=None):
            return torch.zeros_like(x_in)

    proc = get_process(name)
    den = Precond(Zero(), proc)
    m = 4000
    y = proc.sigma_data * torch.randn(
        m, 16, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64
    )
    loss = proc.loss(den, y, generator=torch.Generator().manual_seed(1))
    assert loss.mean().item() == pytest.approx(1.0, abs=5 * math.sqrt(2 / 48 / m))
