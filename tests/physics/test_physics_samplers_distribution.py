"""Every sampler, driven by the exact denoiser, must reproduce the data distribution on both tensor ranks.

Statistical tolerances (fixed seeds, so the tests are deterministic):
* mixture weights: Pearson chi-square of the nearest-template counts against the weights, p-value > 1e-3;
* first moment: every coordinate of the sample mean within 5 standard errors (sqrt(Var / M)) of the exact
mean;
* second moment: every entry of the sample covariance within 5 standard errors (sqrt((S_ii S_jj + S_ij^2) /
M))
  of the exact covariance;
* within-component spread (Gaussian components): residual variance within 5 standard errors of std^2 plus a
  5 % discretisation allowance (Euler with 10 steps or Euler-Maruyama with 30 steps fail this).
"""

import math

import pytest
import torch
from scipy import stats

from gen3d.analytic import DiracMixtureDenoiser, GaussianMixtureDenoiser
from gen3d.processes import get_process
from gen3d.samplers import get_schedule, sample

from .conftest import WEIGHTS, make_centres

M = 600
STD = 0.3

# (sampler, n_steps, options)
GAUSSIAN_RUNS = [
    ("euler", 200, {}),
    ("heun", 32, {}),
    ("edm_stochastic", 48, {"S_churn": 20.0, "S_min": 0.01, "S_max": 10.0}),
    ("euler_maruyama", 400, {}),
    ("dpmpp_2m", 48, {}),
    ("adaptive", 2, {"rtol": 1e-3, "atol": 1e-3}),
]


def mixture_moments(centres: torch.Tensor, weights, std: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Exact mean (n,) and covariance (n, n) of sum_k w_k N(c_k, std^2 I) (std = 0 for Dirac templates)."""
    c = centres.reshape(centres.shape[0], -1).double()
    w = torch.as_tensor(weights, dtype=torch.float64)
    mean = w @ c
    second = (w[:, None, None] * c[:, :, None] * c[:, None, :]).sum(0) + std**2 * torch.eye(c.shape[1])
    return mean, second - mean[:, None] * mean[None, :]


def check_distribution(x: torch.Tensor, den, centres, weights, std: float) -> None:
    x = x.reshape(x.shape[0], -1).double()
    assert bool(torch.isfinite(x).all())
    counts = torch.bincount(den.classify(x.reshape(x.shape[0], *den.sample_shape)), minlength=len(weights))
    expected = torch.as_tensor(weights, dtype=torch.float64) * x.shape[0]
    p = stats.chisquare(counts.numpy(), expected.numpy()).pvalue
    assert p > 1e-3, (
        f"mixture weights off: counts {counts.tolist()} vs expected {expected.tolist()} (p={p:.2g})"
    )
    mean, cov = mixture_moments(centres, weights, std)
    se_mean = (cov.diagonal() / x.shape[0]).sqrt()
    err_mean = (x.mean(0) - mean).abs()
    assert bool((err_mean < 5 * se_mean).all()), f"mean error {err_mean.max():.3g} > 5 s.e."
    var = cov.diagonal()
    se_cov = ((var[:, None] * var[None, :] + cov**2) / x.shape[0]).sqrt()
    err_cov = (torch.cov(x.T) - cov).abs()
    assert bool((err_cov < 5 * se_cov).all()), (
        f"covariance error exceeds 5 s.e. by {(err_cov - 5 * se_cov).max():.3g}"
    )
    if std > 0:
        # within-component spread: residual to the assigned mean has variance std^2 (5 s.e. + slack)
        lab = den.classify(x.reshape(x.shape[0], *den.sample_shape))
        res = x - centres.reshape(centres.shape[0], -1).double()[lab]
        se = std**2 * math.sqrt(2.0 / res.numel())
        assert abs(res.var().item() - std**2) < 5 * se + 0.05 * std**2, (
            f"within-component variance {res.var():.4g}"
        )


@pytest.mark.parametrize("name,n_steps,opts", GAUSSIAN_RUNS, ids=[r[0] for r in GAUSSIAN_RUNS])
def test_sampler_reproduces_gaussian_mixture(name, n_steps, opts, sample_shape):
    centres = make_centres(sample_shape)
    den = GaussianMixtureDenoiser(centres, STD, WEIGHTS)
    proc = get_process("edm")
    x_T = proc.prior((M, *sample_shape), torch.Generator().manual_seed(1))
    sigmas = get_schedule("karras", n_steps, proc.sigma_min, proc.sigma_max)
    res = sample(name, den, x_T, sigmas, generator=torch.Generator().manual_seed(2), **opts)
    assert res.x.shape == x_T.shape and res.nfe > 0
    check_distribution(res.x, den, centres, WEIGHTS, STD)


@pytest.mark.parametrize("proc_name,schedule", [("vp", "vp"), ("ve", "ve")])
@pytest.mark.parametrize("sampler", ["heun", "edm_stochastic"])
def test_vp_ve_frames_reproduce_gaussian_mixture(proc_name, schedule, sampler, sample_shape):
    centres = make_centres(sample_shape)
    den = GaussianMixtureDenoiser(centres, STD, WEIGHTS)
    proc = get_process(proc_name)
    x_T = proc.prior((M, *sample_shape), torch.Generator().manual_seed(3))
    sigmas = get_schedule(schedule, 64, proc.sigma_min, proc.sigma_max)
    opts = {"S_churn": 10.0} if sampler == "edm_stochastic" else {}
    res = sample(sampler, den, x_T, sigmas, generator=torch.Generator().manual_seed(4), **opts)
    check_distribution(res.x, den, centres, WEIGHTS, STD)


PFGM_RUNS = [("euler", 200, {}), ("heun", 32, {}), ("dpmpp_2m", 48, {}), ("adaptive", 2, {"rtol": 1e-3})]


@pytest.mark.parametrize("name,n_steps,opts", PFGM_RUNS, ids=[r[0] for r in PFGM_RUNS])
@pytest.mark.parametrize(
    "proc_kwargs", [{"D": 8.0}, {"D_per_dim": 1.0}, {"D": 1.0}], ids=["D8", "D=n", "pfgm"]
)
def test_ode_samplers_reproduce_templates_under_pfgmpp(name, n_steps, opts, proc_kwargs, sample_shape):
    """Dirac templates with the PFGM++ kernel (exact posterior): prior from the kernel, ODE to sigma = 0."""
    centres = make_centres(sample_shape)
    proc = get_process("pfgmpp", **proc_kwargs)
    den = DiracMixtureDenoiser(centres, WEIGHTS, kernel="pfgmpp", **proc_kwargs)
    x_T = proc.prior((M, *sample_shape), torch.Generator().manual_seed(5))
    sigmas = get_schedule("karras", n_steps, proc.sigma_min, proc.sigma_max)
    res = sample(name, den, x_T, sigmas, **opts)
    # samples land on a template. PFGM (D = 1) keeps a heavy-tailed kernel down to sigma_min = 0.002:
    # P(||x - y|| > rho) ~ sqrt(n) sigma_min / rho: with the exact flow about 0.1-0.2 % of samples are still
    # between templates (rho ~ 1) at the last step; we allow at most 1 % there and none for D >= 8.
    dist = (res.x.double().reshape(M, -1)[:, None, :] - centres.reshape(1, 3, -1)).norm(dim=2).min(1).values
    far = dist > 1e-2
    allowed = 0.01 * M if proc.augmented_dim(math.prod(sample_shape)) < 2 else 0
    assert far.sum().item() <= allowed, f"{far.sum().item()} samples off the templates"
    check_distribution(res.x[~far], den, centres, WEIGHTS, 0.0)


@pytest.mark.parametrize("name", ["edm_stochastic", "euler_maruyama"])
def test_stochastic_samplers_under_large_D_pfgmpp(name):
    """In the D -> inf limit (D = 1e6) the Gaussian-noise samplers are exact for PFGM++ as well."""
    shape = (4, 3)
    centres = make_centres(shape)
    proc = get_process("pfgmpp", D=1e6)
    den = DiracMixtureDenoiser(centres, WEIGHTS, kernel="pfgmpp", D=1e6)
    x_T = proc.prior((M, *shape), torch.Generator().manual_seed(6))
    n_steps, opts = (48, {"S_churn": 20.0}) if name == "edm_stochastic" else (400, {})
    res = sample(
        name, den, x_T, get_schedule("karras", n_steps), generator=torch.Generator().manual_seed(7), **opts
    )
    check_distribution(res.x, den, centres, WEIGHTS, 0.0)


@pytest.mark.parametrize("name,n_steps", [("euler", 10), ("euler_maruyama", 30)])
def test_distribution_check_rejects_coarse_samplers(name, n_steps):
    """The tolerances above have power: too few steps of a first-order sampler are caught."""
    shape = (4, 3)
    centres = make_centres(shape)
    den = GaussianMixtureDenoiser(centres, STD, WEIGHTS)
    x_T = get_process("edm").prior((M, *shape), torch.Generator().manual_seed(1))
    res = sample(name, den, x_T, get_schedule("karras", n_steps), generator=torch.Generator().manual_seed(2))
    with pytest.raises(AssertionError):
        check_distribution(res.x, den, centres, WEIGHTS, STD)


def test_pfgmpp_large_D_trajectories_agree_with_edm(sample_shape):
    """D = 1e6: the same x_T sampled with the PFGM++ and the Gaussian exact denoisers gives the same
    shapes."""
    centres = make_centres(sample_shape)
    x_T = get_process("edm").prior((64, *sample_shape), torch.Generator().manual_seed(8), dtype=torch.float64)
    sig = get_schedule("karras", 32)
    a = sample("heun", DiracMixtureDenoiser(centres, WEIGHTS, kernel="pfgmpp", D=1e6), x_T, sig).x
    b = sample("heun", DiracMixtureDenoiser(centres, WEIGHTS, kernel="gaussian"), x_T, sig).x
    assert (a - b).abs().max().item() < 1e-3


@pytest.mark.parametrize("name", ["heun", "dpmpp_2m"])
def test_pfgmpp_many_templates_from_a_gaussian(name):
    """200 templates drawn from N(0, I), a stand-in for Gaussian data (whose PFGM++ posterior mean has no
    closed form): samples land on templates and reproduce the templates' mean and covariance (5 s.e.)."""
    k, shape = 200, (4, 3)
    templates = torch.randn((k, *shape), generator=torch.Generator().manual_seed(11), dtype=torch.float64)
    proc = get_process("pfgmpp", D=8.0)
    den = DiracMixtureDenoiser(templates, None, kernel="pfgmpp", D=8.0)
    x_T = proc.prior((M, *shape), torch.Generator().manual_seed(12))
    res = sample(name, den, x_T, get_schedule("karras", 48))
    x = res.x.double().reshape(M, -1)
    t = templates.reshape(k, -1)
    assert torch.cdist(x, t).min(1).values.max().item() < 1e-2
    mean, cov = t.mean(0), torch.cov(t.T, correction=0)
    assert bool(((x.mean(0) - mean).abs() < 5 * (cov.diagonal() / M).sqrt()).all())
    var = cov.diagonal()
    se_cov = ((var[:, None] * var[None, :] + cov**2) / M).sqrt()
    assert bool(((torch.cov(x.T) - cov).abs() < 5 * se_cov).all())
    # many distinct templates are used (no collapse onto a few)
    assert len(set(den.classify(res.x).tolist())) > 0.8 * k * (1 - math.exp(-M / k))
