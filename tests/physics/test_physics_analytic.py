"""Closed-form denoisers against naive per-sample, per-template computations (numpy / scipy)."""

import math

import numpy as np
import pytest
import torch
from scipy import stats
from scipy.special import logsumexp

from gen3d.analytic import DiracMixtureDenoiser, GaussianMixtureDenoiser, gaussian_flow
from gen3d.samplers import get_schedule, sample

from .conftest import WEIGHTS, make_centres


def naive_dirac(x, sigma, templates, weights, kernel, D=None):
    """E[y|x] by looping over samples and templates with explicit log-densities."""
    x = x.reshape(x.shape[0], -1).numpy()
    y = templates.reshape(templates.shape[0], -1).numpy()
    n = y.shape[1]
    out = []
    for b in range(x.shape[0]):
        logp = []
        for k in range(y.shape[0]):
            d2 = float(((x[b] - y[k]) ** 2).sum())
            s = float(sigma[b])
            if kernel == "gaussian":
                lk = stats.multivariate_normal(y[k], s**2 * np.eye(n)).logpdf(x[b])
            else:
                lk = -(n + D) / 2 * math.log(d2 + s**2 * D)
            logp.append(math.log(weights[k]) + lk)
        w = np.exp(np.array(logp) - logsumexp(logp))
        out.append(w @ y)
    return np.array(out)


@pytest.mark.parametrize("kernel,D", [("gaussian", None), ("pfgmpp", 1.0), ("pfgmpp", 30.0)])
def test_dirac_denoiser_matches_naive(kernel, D, sample_shape):
    templates = make_centres(sample_shape)
    den = DiracMixtureDenoiser(templates, WEIGHTS, kernel=kernel, D=D)
    g = torch.Generator().manual_seed(0)
    x = torch.randn((6, *sample_shape), generator=g, dtype=torch.float64) * 1.5
    sigma = torch.tensor([0.05, 0.3, 0.8, 1.5, 4.0, 20.0], dtype=torch.float64)
    ref = naive_dirac(x, sigma, templates, WEIGHTS, kernel, D)
    np.testing.assert_allclose(den(x, sigma).reshape(6, -1).numpy(), ref, rtol=1e-9, atol=1e-12)


def test_pfgmpp_denoiser_large_D_equals_gaussian():
    templates = make_centres((4, 3))
    g = torch.Generator().manual_seed(1)
    x = torch.randn((8, 4, 3), generator=g, dtype=torch.float64)
    sigma = torch.logspace(-1.5, 1.5, 8, dtype=torch.float64)
    a = DiracMixtureDenoiser(templates, WEIGHTS, kernel="pfgmpp", D=1e6)(x, sigma)
    b = DiracMixtureDenoiser(templates, WEIGHTS, kernel="gaussian")(x, sigma)
    assert (a - b).abs().max().item() < 1e-3


def test_gaussian_mixture_denoiser_matches_naive(sample_shape):
    means = make_centres(sample_shape)
    s = 0.4
    den = GaussianMixtureDenoiser(means, s, WEIGHTS)
    x = torch.randn((5, *sample_shape), generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    sigma = torch.tensor([0.1, 0.5, 1.0, 3.0, 10.0], dtype=torch.float64)
    mu = means.reshape(3, -1).numpy()
    n = mu.shape[1]
    for b in range(5):
        xb, sb = x[b].reshape(-1).numpy(), float(sigma[b])
        logp = [
            math.log(WEIGHTS[k]) + stats.multivariate_normal(mu[k], (s**2 + sb**2) * np.eye(n)).logpdf(xb)
            for k in range(3)
        ]
        w = np.exp(np.array(logp) - logsumexp(logp))
        ref = sum(w[k] * (mu[k] + s**2 / (s**2 + sb**2) * (xb - mu[k])) for k in range(3))
        np.testing.assert_allclose(den(x, sigma)[b].reshape(-1).numpy(), ref, rtol=1e-9)


def test_mixture_sampling_and_classification():
    means = make_centres((4, 3))
    den = GaussianMixtureDenoiser(means, 0.1, WEIGHTS)
    y, lab = den.sample(3000, torch.Generator().manual_seed(3))
    assert y.shape == (3000, 4, 3)
    counts = torch.bincount(lab, minlength=3).numpy()
    assert stats.chisquare(counts, np.array(WEIGHTS) * 3000).pvalue > 1e-3
    assert torch.equal(den.classify(y), lab)


def test_gaussian_flow_matches_fine_heun():
    mu = make_centres((4, 3), k=1)
    den = GaussianMixtureDenoiser(mu, 0.5)
    x_T = 20.0 * torch.randn((6, 4, 3), generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    res = sample("heun", den, x_T, get_schedule("karras", 512, sigma_min=0.002, sigma_max=20.0))
    ref = gaussian_flow(x_T, 20.0, 0.0, mu[0], 0.5)
    assert (res.x - ref).abs().max().item() < 1e-3


def test_analytic_validation():
    with pytest.raises(ValueError, match="weights"):
        DiracMixtureDenoiser(torch.zeros(3, 4, 3), weights=[1.0, 2.0])
    with pytest.raises(ValueError, match="kernel"):
        DiracMixtureDenoiser(torch.zeros(3, 4, 3), kernel="poisson")
    with pytest.raises(ValueError, match="exactly one"):
        DiracMixtureDenoiser(torch.zeros(3, 4, 3), kernel="pfgmpp")
    with pytest.raises(ValueError, match="D"):
        DiracMixtureDenoiser(torch.zeros(3, 4, 3), kernel="pfgmpp", D=-1.0)
    den = DiracMixtureDenoiser(torch.zeros(3, 4, 3))
    with pytest.raises(ValueError, match="shape"):
        den(torch.zeros(2, 5, 3), torch.ones(2))
    with pytest.raises(ValueError, match="sigma"):
        den(torch.zeros(2, 4, 3), torch.ones(3))
