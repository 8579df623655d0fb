"""The Yukawa perturbation kernel against closed forms: the inverse-Gaussian mixing law, the Bessel radial law
(small and large n), moments, both limits (PFGM and diffusion), κ against the quantile path, and s(t)."""

import math

import numpy as np
import pytest
import torch
from scipy import stats

from gen3d.analytic.bessel import log_kv
from gen3d.analytic.yukawa import radial_log_density
from gen3d.processes import get_process
from gen3d.processes.yukawa import (
    mass_from_d_eff,
    sample_mixing,
    yukawa_kappa,
    yukawa_scale,
    yukawa_time,
)


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _scale(proc, t, count):
    """The process's noise coordinate (its scale s) for augmented coordinate t, shape (count,)."""
    return proc.scale(torch.full((count,), t, dtype=torch.float64))


@pytest.mark.parametrize("m,t", [(1.0, 0.5), (2.0, 1.0), (10.0, 200.0), (0.5, 0.01)])
def test_mixing_variable_is_inverse_gaussian(m, t):
    w = sample_mixing(torch.full((20000,), t), m, _gen(1)).numpy()
    mu, lam = t / m, t * t  # IG(mean mu, shape lam) is scipy's invgauss(mu / lam, scale=lam)
    assert stats.kstest(w, stats.invgauss(mu / lam, scale=lam).cdf).pvalue > 1e-3


def test_mixing_variable_at_zero_mass_is_levy():
    t = 0.3
    w = sample_mixing(torch.full((20000,), t), 0.0, _gen(2)).numpy()
    assert stats.kstest(w, stats.levy(scale=t * t).cdf).pvalue > 1e-3


def _radius_ks(n, t, m, count=6000, seed=3):
    proc = get_process("yukawa", m=m)
    x = proc.noise((count, n), _scale(proc, t, count), _gen(seed), dtype=torch.float64)
    r = x.norm(dim=1).numpy()
    lo, hi = r.min() * 0.5, r.max() * 2.0
    grid = np.linspace(lo, hi, 400001)
    logf = radial_log_density(grid, n, t, m)
    f = np.exp(logf - logf.max())
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (f[1:] + f[:-1]) * np.diff(grid))])
    total = cdf[-1]
    mass = total * math.exp(logf.max())  # the closed form's own normalisation, over [lo, hi]
    return stats.kstest(r, lambda z: np.interp(z, grid, cdf / total)).pvalue, mass


@pytest.mark.parametrize("n,t,m", [(1, 0.8, 1.3), (3, 0.8, 1.3), (10, 2.0, 0.4), (100, 5.0, 2.0)])
def test_radius_follows_the_bessel_radial_law(n, t, m):
    p, mass = _radius_ks(n, t, m)
    assert p > 1e-3
    assert mass == pytest.approx(1.0, abs=2e-3)  # q_t = e^{mt} p_t integrates to 1


def test_radius_follows_the_bessel_radial_law_at_point_cloud_dimension():
    # n = 3072 (1024 points): order 1536.5, beyond scipy's kve; the Debye expansion carries it
    p, mass = _radius_ks(3072, 40.0, 0.3, count=3000)
    assert p > 1e-3
    assert mass == pytest.approx(1.0, abs=2e-3)


def test_log_kv_matches_mpmath_at_small_and_huge_orders():
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 30
    for nu in (0.5, 2.5, 59.5, 60.5, 3072.5, 16384.5):
        for x in (1e-3, 1.0, 50.0, 1e4):
            ref = float(mpmath.log(mpmath.besselk(nu, x, maxterms=10**6)))
            assert float(log_kv(nu, np.array([x]))[0]) == pytest.approx(ref, rel=1e-10, abs=1e-10)


def test_second_moment():
    n, t, m, count = 8, 1.5, 2.0, 40000
    proc = get_process("yukawa", m=m)
    x = proc.noise((count, n), _scale(proc, t, count), _gen(4), dtype=torch.float64)
    d2 = (x * x).sum(1)
    se = float(d2.std()) / math.sqrt(count)
    assert abs(float(d2.mean()) - n * t / m) < 4 * se  # E|x - y|² = n t / m


def test_zero_mass_limit_is_pfgm():
    # m = 0: q_t ∝ t / ρ^{n+1}, PFGM's kernel (PFGM++ with D = 1) with r = t
    n, t, count = 6, 0.7, 8000
    yuk = get_process("yukawa", m=0.0)
    yuk = yuk.noise((count, n), _scale(yuk, t, count), _gen(5))
    pfgm = get_process("pfgm").noise((count, n), torch.full((count,), t), _gen(6))
    assert stats.ks_2samp(yuk.norm(dim=1).numpy(), pfgm.norm(dim=1).numpy()).pvalue > 1e-3


def test_large_mass_limit_at_fixed_t_over_m_is_gaussian():
    # m -> ∞ with σ² = t / m fixed: |x - y|² / σ² -> χ²_n; the KS distance shrinks as mσ grows
    n, sigma2, count = 5, 0.25, 20000
    dists = []
    for m in (0.6, 6.0, 600.0):
        t = sigma2 * m
        proc = get_process("yukawa", m=m)
        x = proc.noise((count, n), _scale(proc, t, count), _gen(7), dtype=torch.float64)
        dists.append(stats.kstest(((x * x).sum(1) / sigma2).numpy(), stats.chi2(n).cdf).statistic)
    assert dists[0] > dists[1] > dists[2]
    assert dists[2] < 0.015


@pytest.mark.parametrize("m,t,u", [(1.0, 0.5, 0.3), (3.0, 2.0, 0.7), (0.2, 0.1, 0.5), (5.0, 40.0, 0.9)])
def test_kappa_is_the_log_derivative_of_the_quantile_path(m, t, u):
    # keep the uniform u of W fixed: d log Q_t(u) / dt = (2 / t)(1 - κ(W, t)), W = Q_t(u)
    def q(tt):
        return stats.invgauss((tt / m) / (tt * tt), scale=tt * tt).ppf(u)

    h = 1e-5 * t
    fd = (math.log(q(t + h)) - math.log(q(t - h))) / (2 * h)
    w = torch.tensor(q(t), dtype=torch.float64)
    kappa = float(yukawa_kappa(w, torch.tensor(t, dtype=torch.float64), m))
    assert 2.0 / t * (1.0 - kappa) == pytest.approx(fd, rel=1e-6)


def test_kappa_limits():
    t = torch.tensor(2.0, dtype=torch.float64)
    w = torch.tensor([0.1, 1.0, 5.0], dtype=torch.float64)
    assert torch.all(yukawa_kappa(w, t, 0.0) == 0)  # PFGM: the pure denoiser
    # Gaussian regime (m t >> 1, W near its mean t / m): κ -> 1/2
    m = 1e4
    tt = torch.tensor(1e4 * 0.3, dtype=torch.float64)
    assert float(yukawa_kappa(tt / m, tt, m)) == pytest.approx(0.5, abs=1e-3)
    k = yukawa_kappa(w, t, 1.5)
    assert torch.all((k > 0) & (k < 1.5 * w / (1.5 * w + t)))


def test_scale_is_the_root_of_the_mode_and_inverts():
    t = torch.tensor([1e-4, 0.01, 0.7, 3.0, 1e5], dtype=torch.float64)
    for m in (0.0, 0.7, 16.0):
        s = yukawa_scale(t, m)
        if m > 0:
            mu, lam = t / m, t * t  # mode of IG(mu, lam) = mu (sqrt(1 + 9 mu² / (4 lam²)) - 3 mu / (2 lam))
            mode = mu * (torch.sqrt(1 + 9 * mu**2 / (4 * lam**2)) - 3 * mu / (2 * lam))
            big = m * t > 1e-2  # the textbook form cancels at small m t
            torch.testing.assert_close(s[big] ** 2, mode[big], rtol=1e-9, atol=0)
        else:
            torch.testing.assert_close(s, t / math.sqrt(3.0), rtol=1e-12, atol=0)
        torch.testing.assert_close(yukawa_time(s, m), t, rtol=1e-12, atol=0)


def test_mass_from_effective_dimension():
    for d_eff, sp in ((128.0, 0.5), (2048.0, 0.5), (5.0, 1.0)):
        m = mass_from_d_eff(d_eff, sp)
        t = float(yukawa_time(torch.tensor(sp, dtype=torch.float64), m))
        assert 2 * m * t + 4 == pytest.approx(d_eff, rel=1e-12)
    with pytest.raises(ValueError, match="> 4"):
        mass_from_d_eff(4.0, 0.5)
