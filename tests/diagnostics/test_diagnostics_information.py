"""The information curve against I-MMSE closed forms, and the train/held-out gap of a memorising model."""

import math

import numpy as np
import pytest
import torch

from gen3d.analytic.mixture import DiracMixtureDenoiser, GaussianMixtureDenoiser
from gen3d.diagnostics import information_curve, log_sigma_grid, sigma_at_information


def test_immse_isotropic_gaussian():
    # N(0, s^2 I_d): C = d s^2 / (s^2 + sigma^2), I = (d/2) ln(1 + s^2 / sigma^2) (note §0 I3, §2)
    d, s = 8, 0.7
    pop = GaussianMixtureDenoiser(torch.zeros(1, d), std=s)
    g = torch.Generator().manual_seed(0)
    y, _ = pop.sample(2000, g)
    sig = log_sigma_grid(0.05, 50.0, 40)
    c = information_curve(pop, y.double(), sig, generator=g, batch_size=2000)
    exact_C = [d * s**2 / (s**2 + v**2) for v in sig]
    exact_I = [0.5 * d * math.log(1 + s**2 / v**2) for v in sig]
    for a, b, e in zip(c.C, exact_C, c.C_se):
        assert abs(a - b) < 4 * e
    # the trapezoid in ln sigma on 40 levels (~1%) plus the Monte-Carlo error (~1% per level): 4%
    for a, b in zip(c.I[10:], exact_I[10:]):
        assert a == pytest.approx(b, rel=0.04)
    assert c.nfe == 2000 * 40


def test_two_diracs_information_is_ln2_and_c_matches_closed_form():
    # +-a: C = r^2 (1 - E tanh^2(r^2 + r z)) with r = a / sigma; I(0) = H(class) = ln 2 (note §3.1)
    a = 1.0
    mix = DiracMixtureDenoiser(torch.tensor([[a], [-a]]))
    g = torch.Generator().manual_seed(1)
    y, _ = mix.sample(4000, g)
    sig = log_sigma_grid(0.05, 30.0, 48)
    c = information_curve(mix, y.double(), sig, generator=g, batch_size=4000)
    z = np.linspace(-12.0, 12.0, 48001)  # dense quadrature: the integrand is a narrow spike at small sigma
    w = np.exp(-0.5 * z**2) / math.sqrt(2 * math.pi) * (z[1] - z[0])
    for s, v, e in zip(c.sigmas, c.C, c.C_se):
        if s < 0.4:  # below, C comes from rare samples near 0 that 4000 draws do not resolve
            continue
        r = a / s
        exact = r**2 * (w / np.cosh(r**2 + r * z) ** 2).sum()
        assert abs(v - exact) < 4 * e + 1e-4
    assert c.I[-1] == pytest.approx(math.log(2), abs=0.03)


def test_entropy_criterion_sigma_c_gaussian_population():
    # I_pop(sigma_C) = ln N  <=>  sigma_C^2 = s^2 / (N^(2/d) - 1) (note §2): d = 16, N = 256 -> sigma_C = 1
    d, N = 16, 256
    pop = GaussianMixtureDenoiser(torch.zeros(1, d), std=1.0)
    g = torch.Generator().manual_seed(2)
    y, _ = pop.sample(1000, g)
    c = information_curve(pop, y.double(), log_sigma_grid(0.1, 50.0, 40), generator=g, batch_size=1000)
    assert sigma_at_information(c, math.log(N)) == pytest.approx(1.0, rel=0.03)


def test_memorising_model_train_saturates_at_ln_n_and_heldout_does_not():
    # the exact empirical denoiser of N training points: on training data I -> ln N (it knows which point);
    # on held-out data the residual explodes (C ~ ||y - y_nn||^2 / sigma^2): a swapped pair of sets fails here
    d, N = 8, 16
    g = torch.Generator().manual_seed(3)
    train = torch.randn(N, d, generator=g, dtype=torch.float64)
    held = torch.randn(64, d, generator=g, dtype=torch.float64)
    mem = DiracMixtureDenoiser(train)
    sig = log_sigma_grid(0.01, 50.0, 48)
    ct = information_curve(mem, train.repeat(64, 1), sig, generator=g, split="train", batch_size=1024)
    ch = information_curve(mem, held, sig, generator=g, split="heldout", batch_size=256)
    assert ct.I[-1] == pytest.approx(math.log(N), rel=0.03)
    assert ch.I[-1] > 10 * math.log(N)
    assert ct.C[-1] < 0.05 and ch.C[-1] > 100
