"""The Yukawa flow: continuity with the death term, sampling with the exact targets, the training target."""

import math

import numpy as np
import pytest
import torch

from gen3d.analytic.yukawa import YukawaDiracMixture
from gen3d.processes import get_process
from gen3d.samplers import get_schedule, heun


@pytest.mark.parametrize("n", [2, 3])
def test_continuity_equation_holds_with_the_death_term(n):
    # ∂_t p + ∇·(p v) = R with v = (x - D_t(x)) / t and R = -λ p, by central differences on a 3-point mixture
    rng = np.random.default_rng(0)
    mix = YukawaDiracMixture(rng.normal(size=(3, n)), [0.5, 0.3, 0.2], m=1.3)
    x, t, h = rng.normal(size=(6, n)), 0.7, 1e-4

    def p(xx, tt):
        return np.exp(mix.log_density(xx, tt))

    dpdt = (p(x, t + h) - p(x, t - h)) / (2 * h)
    div = np.zeros(len(x))
    for d in range(n):
        e = np.zeros(n)
        e[d] = h

        def flux(xx):
            return p(xx, t)[:, None] * (xx - mix.field(xx, t)) / t

        div += (flux(x + e)[:, d] - flux(x - e)[:, d]) / (2 * h)
    R = -mix.death_rate(x, t) * p(x, t)
    scale = np.abs(dpdt).max()
    assert np.abs(dpdt + div - R).max() < 1e-5 * scale
    assert np.abs(dpdt + div).max() > 0.1 * scale  # without R the equation fails at O(1)


def _two_diracs():
    return YukawaDiracMixture(np.array([[0.0, 0.0], [3.0, 0.0]]), [0.8, 0.2], m=1.0)


def _run(mix, kind, count=400, T=30.0, steps=40, t_end=1e-3, seed=1, last_zero=True):
    rng = np.random.default_rng(seed)
    labels = rng.choice(2, size=count, p=mix.pi)
    x_T = torch.tensor(mix.sample_kernel(labels, T, rng))  # the exact normalised mixture at T
    sig = get_schedule("karras", steps, t_end, T, rho=7.0)
    if not last_zero:
        sig = sig[:-1]
    return heun(mix.denoiser(kind), x_T, sig).x.numpy()


def test_conservative_target_samples_the_weights_and_the_naive_field_does_not():
    mix = _two_diracs()
    count = 400
    se = math.sqrt(0.8 * 0.2 / count)
    fracs = {}
    for kind in ("conservative", "naive"):
        x = _run(mix, kind, count=count)
        d = np.linalg.norm(x[:, None] - mix.y[None], axis=-1)
        fracs[kind] = float((d[:, 0] < d[:, 1]).mean())
    assert abs(fracs["conservative"] - 0.8) < 3 * se, fracs
    assert fracs["naive"] - 0.8 > 6 * se, fracs  # the death term ignored: the heavy point takes too much


def test_single_point_intermediate_marginal_matches_the_kernel():
    from scipy import stats

    n, m, T, t1, count = 3, 1.0, 20.0, 0.5, 300
    mix = YukawaDiracMixture(np.zeros((1, n)), None, m=m)
    rng = np.random.default_rng(2)
    x_T = torch.tensor(mix.sample_kernel(np.zeros(count, dtype=int), T, rng))
    sig = get_schedule("karras", 40, t1, T, rho=7.0)[:-1]  # stop at t1 (no final step to 0)
    fresh = np.linalg.norm(mix.sample_kernel(np.zeros(4000, dtype=int), t1, rng), axis=1)
    r_cons = np.linalg.norm(heun(mix.denoiser("conservative"), x_T, sig).x.numpy(), axis=1)
    r_naive = np.linalg.norm(heun(mix.denoiser("naive"), x_T, sig).x.numpy(), axis=1)
    assert stats.ks_2samp(r_cons, fresh).pvalue > 1e-3
    assert stats.ks_2samp(r_naive, fresh).pvalue < 1e-6


def test_process_target_has_the_exact_field_as_its_regression_minimiser():
    # draws (x, ỹ) from the process at one scale s; the exact scale-frame field (independent quadrature) must
    # beat the naive one and any perturbation of itself in mean squared error
    mix = _two_diracs()
    proc = get_process("yukawa", m=mix.m)
    g = torch.Generator().manual_seed(3)
    count, s = 10000, 0.6
    labels = torch.multinomial(torch.tensor(mix.pi), count, replacement=True, generator=g)
    y = torch.tensor(mix.y)[labels]
    x, target = proc.perturb_with_target(y, torch.full((count,), s, dtype=torch.float64), g)
    xs, ts = x.numpy(), target.numpy()
    exact = mix.scale_frame_field(xs, s)

    def mse(d):
        return float(((d - ts) ** 2).sum(1).mean())

    best = mse(exact)
    assert best < mse(mix.scale_frame_field(xs, s, "naive")) * 0.95
    for delta in (np.array([0.05, 0.0]), np.array([0.0, -0.05])):
        assert best < mse(exact + delta)
    assert best < mse(exact * 1.05)
    # the conditional mean of the target is the exact field (within Monte Carlo error)
    near0 = np.linalg.norm(xs - mix.y[0], axis=1) < 0.3
    assert near0.sum() > 100
    err = (ts[near0] - exact[near0]).mean(0)
    assert np.all(np.abs(err) < 4 * ts[near0].std(0) / math.sqrt(near0.sum()))


def test_generate_with_the_process_and_exact_fields_samples_the_weights():
    # the whole sampling path of a trained model: the process's prior, its sigma grid (Karras in s), the
    # scale-frame ODE, EDM's Heun; with the exact fields the conservative target recovers 0.8, the naive not
    from gen3d.generate import generate

    mix = _two_diracs()
    proc = get_process("yukawa", m=mix.m, sigma_max=20.0)
    count = 400
    se = math.sqrt(0.8 * 0.2 / count)
    fracs = {}
    for kind in ("conservative", "naive"):
        x, _ = generate(
            mix.denoiser(kind, frame="s"), proc, (2,), list(range(count)), steps=30, batch_size=count
        )
        d = np.linalg.norm(x.double().numpy()[:, None] - mix.y[None], axis=-1)
        fracs[kind] = float((d[:, 0] < d[:, 1]).mean())
    assert abs(fracs["conservative"] - 0.8) < 3 * se + 0.03, fracs  # + the prior centred at 0, not the mean
    assert fracs["naive"] - 0.8 > 6 * se, fracs


def test_importance_weights_for_the_death_term_are_unusable():
    # the naive flow reweighted by exp(∫ λ dt) is exact in expectation, but the weights have infinite
    # variance: the effective sample size collapses and the estimate of the 0.8 weight swings between seeds
    mix = _two_diracs()
    count, T = 1000, 30.0
    sig = get_schedule("karras", 60, 1e-3, T, rho=7.0)
    estimates, ess = [], []
    for seed in range(4):
        rng = np.random.default_rng(seed)
        x_T = torch.tensor(mix.sample_kernel(rng.choice(2, size=count, p=mix.pi), T, rng))
        states = {}

        def keep(i, s, x, x0, _states=states):
            if s > 0:
                _states[i] = (s, x.numpy().copy())

        x = heun(mix.denoiser("naive"), x_T, sig, callback=keep).x.numpy()
        times = np.array([states[i][0] for i in sorted(states)])
        logw = mix.death_log_weights(times, [states[i][1] for i in sorted(states)])
        w = np.exp(logw - logw.max())
        on_heavy = np.linalg.norm(x - mix.y[0], axis=1) < np.linalg.norm(x - mix.y[1], axis=1)
        estimates.append(float((w * on_heavy).sum() / w.sum()))
        ess.append(float(w.sum() ** 2 / (w**2).sum() / count))
    se = math.sqrt(0.8 * 0.2 / count)
    assert max(ess) < 0.25, ess
    assert max(estimates) - min(estimates) > 6 * se, estimates
