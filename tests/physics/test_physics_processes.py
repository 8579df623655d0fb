"""Processes: registry/config, training sigma-densities, kernels (PFGM++ Beta law, D -> inf limit), priors,
loss."""

import json
import math

import numpy as np
import pytest
import torch
from scipy import stats

from gen3d.processes import PROCESSES, get_process
from gen3d.processes.vp import vp_sigma

from .conftest import RANKS

ALL = {
    "edm": {},
    "vp": {},
    "ve": {},
    "pfgmpp": {"D": 16.0},
    "pfgm": {},
    "yukawa": {"m": 2.0},
}


@pytest.mark.parametrize("name", sorted(ALL))
def test_config_roundtrip_and_contract(name):
    proc = get_process(name, **ALL[name])
    cfg = proc.config()
    assert cfg["name"] == name
    json.dumps(cfg, allow_nan=False)
    again = get_process(**cfg)
    assert again.config() == cfg
    for attr in ("sigma_min", "sigma_max", "sigma_data"):
        assert isinstance(getattr(proc, attr), float)
    s = proc.sample_sigma(5, torch.Generator().manual_seed(0))
    assert s.shape == (5,) and bool((s > 0).all())
    assert proc.loss_weight(s).shape == (5,)
    assert set(PROCESSES) == set(ALL)


def test_pfgm_is_pfgmpp_with_one_dimension():
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    a = get_process("pfgm").prior((4, 5, 3), g1)
    b = get_process("pfgmpp", D=1).prior((4, 5, 3), g2)
    assert torch.equal(a, b)


def test_edm_sigma_density_is_lognormal():
    proc = get_process("edm", P_mean=-1.2, P_std=1.2)
    s = proc.sample_sigma(3000, torch.Generator().manual_seed(1)).double().numpy()
    assert stats.kstest(np.log(s), stats.norm(-1.2, 1.2).cdf).pvalue > 1e-3


def test_ve_sigma_density_is_loguniform():
    proc = get_process("ve", sigma_min=0.02, sigma_max=100.0)
    s = proc.sample_sigma(3000, torch.Generator().manual_seed(2)).double().numpy()
    assert stats.kstest(np.log(s), stats.uniform(math.log(0.02), math.log(100 / 0.02)).cdf).pvalue > 1e-3


def test_vp_sigma_density_is_uniform_in_t():
    proc = get_process("vp")
    s = proc.sample_sigma(3000, torch.Generator().manual_seed(3)).double().numpy()
    # invert sigma(t) (EDM Table 1) by bisection-free closed form
    t = (-0.1 + np.sqrt(0.1**2 + 2 * 19.9 * np.log1p(s**2))) / 19.9
    assert stats.kstest(t, stats.uniform(1e-5, 1 - 1e-5).cdf).pvalue > 1e-3
    assert proc.sigma_max == pytest.approx(vp_sigma(1.0))
    assert proc.sigma_min == pytest.approx(math.sqrt(math.expm1(0.5 * 19.9e-6 + 0.1e-3)))


@pytest.mark.parametrize("name", ["edm", "ve"])
def test_gaussian_kernel_and_prior(name, sample_shape):
    proc = get_process(name)
    x0 = torch.ones((2000, *sample_shape))
    sigma = torch.full((2000,), 0.7)
    noise = (proc.perturb(x0, sigma, torch.Generator().manual_seed(0)) - x0).flatten().double().numpy()
    assert stats.kstest(noise / 0.7, "norm").pvalue > 1e-3
    prior = proc.prior((1000, *sample_shape), torch.Generator().manual_seed(1)).double()
    assert prior.std().item() == pytest.approx(proc.sigma_max, rel=0.05)


def test_vp_prior_is_unit_gaussian_in_vp_frame():
    proc = get_process("vp")
    prior = proc.prior((2000, 4, 3), torch.Generator().manual_seed(1)).double()
    s_T = 1.0 / math.sqrt(1.0 + proc.sigma_max**2)  # EDM Table 1: s(t) = 1 / sqrt(1 + sigma^2)
    assert (prior * s_T).std().item() == pytest.approx(1.0, rel=0.03)


@pytest.mark.parametrize("D", [1.0, 5.0, 100.0])
def test_pfgmpp_kernel_radii_follow_beta_law(D, sample_shape):
    """B = R^2 / (R^2 + r^2) must be Beta(n/2, D/2), with r = sigma sqrt(D); direction uniform on the
    sphere."""
    proc = get_process("pfgmpp", D=D)
    m = 3000
    n = math.prod(sample_shape)
    y = torch.randn((1, *sample_shape)).expand(m, *sample_shape).contiguous()
    sigma = torch.full((m,), 0.3, dtype=torch.float64)
    x = proc.perturb(y.double(), sigma, torch.Generator().manual_seed(5))
    diff = (x - y.double()).reshape(m, n)
    R2 = diff.square().sum(1)
    r2 = 0.3**2 * D
    b = (R2 / (R2 + r2)).numpy()
    p = stats.kstest(b, stats.beta(n / 2, D / 2).cdf).pvalue
    assert p > 1e-3, f"KS p={p}"
    u = diff / R2.sqrt()[:, None]
    # uniform direction: E[u] = 0, E[u u^T] = I / n (tolerance: 6 standard errors)
    assert u.mean(0).abs().max().item() < 6 / math.sqrt(n * m)
    cov = (u.T @ u / m).numpy()
    assert np.abs(cov - np.eye(n) / n).max() < 6 * math.sqrt(2.0 / m) / n


def test_pfgmpp_D_per_dim_uses_tensor_size():
    proc = get_process("pfgmpp", D_per_dim=2.0)
    assert proc.augmented_dim(12) == 24.0
    assert proc.augmented_dim(8) == 16.0
    m = 3000
    x = proc.prior((m, 1, 2, 2, 2), torch.Generator().manual_seed(9), dtype=torch.float64).reshape(m, -1)
    R2 = x.square().sum(1)
    b = (R2 / (R2 + proc.sigma_max**2 * 16.0)).numpy()
    assert stats.kstest(b, stats.beta(4.0, 8.0).cdf).pvalue > 1e-3


@pytest.mark.parametrize("rank_shape", sorted(RANKS.values()))
def test_pfgmpp_large_D_agrees_with_edm(rank_shape):
    """D = 1e6: ||noise||^2 / sigma^2 follows chi2_n (EDM's Gaussian kernel) and matches EDM's noise
    (2-sample KS)."""
    m, n = 3000, math.prod(rank_shape)
    sigma = torch.full((m,), 2.0, dtype=torch.float64)
    zero = torch.zeros((m, *rank_shape), dtype=torch.float64)
    pf = get_process("pfgmpp", D=1e6).perturb(zero, sigma, torch.Generator().manual_seed(1))
    ed = get_process("edm").perturb(zero, sigma, torch.Generator().manual_seed(2))
    q_pf = (pf.reshape(m, -1).square().sum(1) / 4.0).numpy()
    q_ed = (ed.reshape(m, -1).square().sum(1) / 4.0).numpy()
    assert stats.kstest(q_pf, stats.chi2(n).cdf).pvalue > 1e-3
    assert stats.ks_2samp(q_pf, q_ed).pvalue > 1e-3
    # per-coordinate law is N(0, sigma^2) as well
    assert stats.kstest(pf.flatten().numpy() / 2.0, "norm").pvalue > 1e-3
    # with D = 1e6 the noise differs from sigma z by a factor sqrt(D / chi2_D) = 1 +- O(1/sqrt(2D))
    g = torch.Generator().manual_seed(4)
    z = torch.randn((m, *rank_shape), generator=g, dtype=torch.float64)
    pf2 = get_process("pfgmpp", D=1e6).perturb(zero, sigma, torch.Generator().manual_seed(4))
    assert (pf2 - 2.0 * z).abs().max().item() < 2.0 * z.abs().max().item() * 5e-3


def test_perturb_and_prior_per_sample_seeding():
    from gen3d.random import generators_for_seeds

    for proc in (get_process("edm"), get_process("pfgmpp", D=64.0)):
        a = proc.prior((3, 6, 3), generators_for_seeds([10, 20, 30]))
        b = proc.prior((2, 6, 3), generators_for_seeds([30, 10]))
        assert torch.equal(a[0], b[1]) and torch.equal(a[2], b[0])
        x0 = torch.zeros(3, 6, 3)
        s = torch.tensor([0.5, 1.0, 2.0])
        c = proc.perturb(x0, s, generators_for_seeds([1, 2, 3]))
        d = proc.perturb(x0[1:2], s[1:2], generators_for_seeds([2]))
        assert torch.equal(c[1], d[0])


@pytest.mark.parametrize(
    "name,kwargs",
    [("edm", {}), ("vp", {}), ("ve", {}), ("pfgmpp", {"D": 16.0}), ("pfgm", {}), ("pfgmpp", {"D": 1e6})],
)
def test_loss_is_minimal_at_exact_denoiser(name, kwargs, sample_shape):
    """The exact E[y|x, sigma] is a stationary point (minimum) of the training loss along any direction.

    On fixed (y, sigma, noise) the per-sample loss of ``D* + eps delta`` is exactly quadratic in eps:
    ``L(eps) = L(0) + 2 eps a + eps^2 b``. At the minimiser of the expected loss ``E[a] = 0``; we require
    ``|mean(a)| < 4 standard errors`` along four directions, and check the test's power: from a denoiser with
    wrong mixture weights the slope towards D* is negative by more than 4 standard errors.
    """
    from gen3d.analytic import DiracMixtureDenoiser

    from .conftest import WEIGHTS, make_centres

    proc = get_process(name, **kwargs)
    kernel = "pfgmpp" if name.startswith("pfgm") else "gaussian"
    D = getattr(proc, "D", None) if kernel == "pfgmpp" else None
    centres = make_centres(sample_shape, scale=0.7)
    exact = DiracMixtureDenoiser(centres, WEIGHTS, kernel=kernel, D=D)
    wrong = DiracMixtureDenoiser(centres, (0.05, 0.15, 0.8), kernel=kernel, D=D)
    m = 3000
    x0, _ = exact.sample(m, torch.Generator().manual_seed(0))
    x0 = x0.double()
    sigma = proc.sample_sigma(m, torch.Generator().manual_seed(1)).double()

    def slope(base, direction):
        """Per-sample a = dL/d(eps) / 2 at eps = 0 for D = base + eps * direction, and the curvature b."""

        def at(eps):
            den = lambda x, s, c=None: base(x, s) + eps * direction(x, s)  # noqa: E731
            return proc.loss(den, x0, None, torch.Generator().manual_seed(2), sigma=sigma)

        lp, l0, lm = at(1.0), at(0.0), at(-1.0)
        return (lp - lm) / 4.0, (lp + lm - 2.0 * l0) / 2.0

    offset = 0.1 * torch.randn(x0.shape[1:], generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    directions = {
        "offset": lambda x, s: offset.expand_as(x),
        "scale": lambda x, s: 0.1 * exact(x, s),
        "towards_x": lambda x, s: 0.1 * (x - exact(x, s)),
        "wrong_sigma": lambda x, s: exact(x, 2.0 * s) - exact(x, s),
    }
    for key, direction in directions.items():
        a, b = slope(exact, direction)
        t_stat = a.mean() / (a.std() / math.sqrt(m))
        assert abs(t_stat) < 4.0, f"{name}: loss slope along {key!r} is {a.mean():.3g} (t = {t_stat:.2f})"
        assert b.mean() > 0
    a, _ = slope(wrong, lambda x, s: exact(x, s) - wrong(x, s))
    t_stat = a.mean() / (a.std() / math.sqrt(m))
    assert t_stat < -4.0, f"{name}: the test cannot tell a wrong denoiser (t = {t_stat:.2f})"


def test_loss_shapes_and_sigma_drawn_when_missing(sample_shape):
    proc = get_process("edm")
    x0 = torch.randn((6, *sample_shape))
    out = proc.loss(lambda x, s, c=None: x, x0, generator=torch.Generator().manual_seed(0))
    assert out.shape == (6,) and bool(torch.isfinite(out).all())


def test_invalid_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="D"):
        get_process("pfgmpp", D=0)
    with pytest.raises(ValueError, match="D"):
        get_process("pfgmpp", D=-3)
    with pytest.raises(ValueError, match="exactly one"):
        get_process("pfgmpp", D=4, D_per_dim=1.0)
    with pytest.raises(ValueError, match="exactly one"):
        get_process("pfgmpp")
    with pytest.raises(ValueError, match="unknown process"):
        get_process("ddpm")
    with pytest.raises(ValueError, match="bad arguments"):
        get_process("edm", sigma_dat=0.5)
    with pytest.raises(ValueError, match="sigma_min"):
        get_process("edm", sigma_min=-1.0)
    with pytest.raises(ValueError, match="smaller"):
        get_process("ve", sigma_min=10.0, sigma_max=1.0)
    proc = get_process("edm")
    x0 = torch.zeros(4, 5, 3)
    with pytest.raises(ValueError, match="non-negative"):
        proc.perturb(x0, torch.tensor([1.0, -1.0, 1.0, 1.0]))
    with pytest.raises(ValueError, match=r"shape \(4,\)"):
        proc.perturb(x0, torch.ones(4, 1))
    with pytest.raises(ValueError, match="positive"):
        proc.loss(lambda x, s, c=None: x, x0, sigma=torch.zeros(4))
    with pytest.raises(ValueError, match="prior shape"):
        proc.prior((4,))
    with pytest.raises(ValueError, match="batch"):
        proc.sample_sigma(0)
    with pytest.raises(ValueError, match="denoiser returned shape"):
        proc.loss(lambda x, s, c=None: x[:, :2], x0)


@pytest.mark.parametrize("name", sorted(ALL))
@pytest.mark.parametrize("shape", [(4,), (0, 5, 3), (2, 0, 3)])
def test_every_prior_refuses_an_empty_or_unbatched_shape(name, shape):
    """One check (gen3d.processes.base.check_prior_shape) for every process, also VP's own prior."""
    with pytest.raises(ValueError, match=r"prior shape must be \(B, \.\.\.\)"):
        get_process(name, **ALL[name]).prior(shape)
