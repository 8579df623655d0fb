"""``Process.prior_log_density``: each process's prior law, normalised, against an independent reference.

* closed forms from SciPy (Gaussian: ``multivariate_normal``; PFGM++: ``multivariate_t`` with D degrees of
  freedom), to 1e-12;
* the Gaussian scale mixture ``∫ N(x; 0, W I_n) f(W) dW`` by quadrature in ``ln W``, with SciPy's mixing
  law (PFGM++: ``invgamma(D/2, r²/2)``; Yukawa: ``invgauss`` with mean t/m and shape t², or Lévy for m = 0),
  for n up to 6144 (the Bessel orders of real point clouds), to 1e-9 relative;
* the sampler itself: in one dimension the density integrates to 1 and a KS test of ``prior()`` draws
  against its integrated CDF passes, for every registered process;
* a process that draws its own law without giving its density is refused.
"""

import math

import numpy as np
import pytest
import torch
from scipy import stats

from gen3d.processes import EDMProcess, get_process
from gen3d.processes.yukawa import yukawa_time


def _x(n: int, scale: float, seed: int = 0, b: int = 6) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return scale * torch.randn(b, n, generator=g, dtype=torch.float64) * torch.rand(b, 1, generator=g) * 2


def _scale_mixture(x: torch.Tensor, log_mix, centre: float, half: float = 60.0) -> np.ndarray:
    """``ln ∫ N(x; 0, W I_n) f(W) dW`` (B,) by the trapezoid rule in ``u = ln W`` (dW = W du) on
    ``centre ± half`` with 48000 steps (spectrally accurate once the step is well below the peak's width in
    u: ``sqrt(2/n)`` from the Gaussian, ``1/sqrt(mt)`` from a Yukawa mixing law)."""
    r2 = x.square().sum(1).numpy()
    n = x.shape[1]
    u = np.linspace(centre - half, centre + half, 48001)
    w = np.exp(u)
    a = -0.5 * n * np.log(2 * np.pi * w)[None] - r2[:, None] / (2 * w)[None] + log_mix(w)[None] + u[None]
    top = a.max(1, keepdims=True)
    return top[:, 0] + np.log(np.trapezoid(np.exp(a - top), u, axis=1))


@pytest.mark.parametrize("name,kw,var", [("edm", {"sigma_max": 3.0}, 9.0), ("ve", {"sigma_max": 5.0}, 25.0)])
def test_gaussian_priors(name, kw, var):
    x = _x(5, math.sqrt(var))
    ref = stats.multivariate_normal(np.zeros(5), var * np.eye(5)).logpdf(x.numpy())
    got = get_process(name, **kw).prior_log_density(x)
    assert got.dtype == torch.float64 and got.shape == (6,)
    np.testing.assert_allclose(got.numpy(), ref, rtol=1e-12)


def test_vp_prior_is_its_unit_variance_gaussian_over_s():
    proc = get_process("vp")  # N(0, I) at t = 1, divided by s(1): N(0, (1 + sigma_max^2) I)
    var = 1.0 + proc.sigma_max**2
    x = _x(4, math.sqrt(var)).reshape(6, 1, 2, 2)  # any sample shape: flattened
    ref = stats.multivariate_normal(np.zeros(4), var * np.eye(4)).logpdf(x.reshape(6, 4).numpy())
    np.testing.assert_allclose(proc.prior_log_density(x).numpy(), ref, rtol=1e-12)


@pytest.mark.parametrize("kw", [{"D": 1.0}, {"D": 3.5}, {"D": 64.0}, {"D_per_dim": 2.0}])
def test_pfgmpp_prior_is_a_multivariate_t(kw):
    # r z / sqrt(chi2_D) with r = sigma_max sqrt(D): Student t, D degrees of freedom, scale sigma_max^2 I
    n, s = 6, 2.0
    proc = get_process("pfgmpp", sigma_max=s, **kw)
    D = proc.augmented_dim(n)
    x = _x(n, s)
    ref = stats.multivariate_t(np.zeros(n), s * s * np.eye(n), df=D).logpdf(x.numpy())
    np.testing.assert_allclose(proc.prior_log_density(x).numpy(), ref, rtol=1e-12)


def test_pfgmpp_prior_in_high_dimension_against_its_mixture():
    # n = 6144 (2048 points), D = 2048: W = r^2 / chi2_D ~ InvGamma(D/2, scale r^2 / 2)
    n, D, s = 6144, 2048.0, 80.0
    proc = get_process("pfgmpp", D=D, sigma_max=s)
    x = proc.prior((4, 2048, 3), torch.Generator().manual_seed(3), dtype=torch.float64).reshape(4, n)
    rr = s * s * D
    ref = _scale_mixture(x, lambda w: stats.invgamma.logpdf(w, D / 2, scale=rr / 2), math.log(s * s))
    np.testing.assert_allclose(proc.prior_log_density(x).numpy(), ref, rtol=1e-9)


# Yukawa: m = 0 (PFGM, W Lévy), m t below and above 1, and the default D_eff = 128 at s_max = 80 (m t ~ 1e6)
YUKAWA = [
    ({"m": 0.0, "sigma_max": 2.0}, (1, 3, 64)),
    ({"m": 0.2, "sigma_max": 2.0}, (1, 3, 64, 6144)),
    ({"m": 3.0, "sigma_max": 4.0}, (1, 3, 64, 6144)),
    ({}, (3, 6144)),
]


@pytest.mark.parametrize("kw,dims", YUKAWA)
def test_yukawa_prior_is_its_normal_inverse_gaussian_mixture(kw, dims):
    proc = get_process("yukawa", **kw)
    t = float(yukawa_time(torch.tensor(proc.sigma_max, dtype=torch.float64), proc.m))
    m = proc.m
    if m == 0:  # Lévy(t^2): the inverse gamma with shape 1/2 and scale t^2 / 2
        log_mix = lambda w: stats.invgamma.logpdf(w, 0.5, scale=t * t / 2)  # noqa: E731
    else:  # IG(mean t/m, shape t^2) in SciPy's parametrisation: invgauss(mu = mean / shape, scale = shape)
        log_mix = lambda w: stats.invgauss.logpdf(w, (t / m) / (t * t), scale=t * t)  # noqa: E731
    centre = math.log(t / m) if m > 0 else math.log(t * t)
    half = 60.0 / max(1.0, math.sqrt(m * t))  # relative sd of W: 1 / sqrt(mt)
    for n in dims:
        g = torch.Generator().manual_seed(n)
        x = proc.prior((5, n), g, dtype=torch.float64)  # where the density is used: its own draws
        x = torch.cat([x, torch.zeros(1, n, dtype=torch.float64)])  # and the centre
        got = proc.prior_log_density(x).numpy()
        ref = _scale_mixture(x, log_mix, centre, half)
        np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-9, err_msg=f"n = {n}")


def _density_check(proc, seed: int) -> None:
    """1-D: the density integrates to 1 and ``prior()`` draws pass a KS test against its CDF. Integrated on
    ``x = c tan(θ)`` so that power-law (Cauchy) tails are covered."""
    draws = proc.prior((20000, 1), torch.Generator().manual_seed(seed), dtype=torch.float64)[:, 0].numpy()
    c = float(np.subtract(*np.percentile(draws, [75, 25])))
    edges = np.linspace(-math.pi / 2, math.pi / 2, 400001)
    mid, h = 0.5 * (edges[1:] + edges[:-1]), edges[1] - edges[0]
    logp = proc.prior_log_density(torch.as_tensor(c * np.tan(mid))[:, None]).numpy()
    mass = np.exp(logp) * c / np.cos(mid) ** 2 * h  # midpoint rule per cell of θ
    cdf = np.cumsum(mass)
    assert cdf[-1] == pytest.approx(1.0, abs=1e-7), "not normalised"
    res = stats.kstest(draws, lambda v: np.interp(v, c * np.tan(edges[1:-1]), cdf[:-1]))
    assert res.pvalue > 1e-3, res


SAMPLERS = [
    ("edm", {"sigma_max": 3.0}),
    ("ve", {}),
    ("vp", {}),
    ("pfgm", {"sigma_max": 2.0}),
    ("pfgmpp", {"D": 5.0, "sigma_max": 2.0}),
    ("pfgmpp", {"D_per_dim": 3.0, "sigma_max": 2.0}),
    ("yukawa", {"m": 0.0, "sigma_max": 1.0}),
    ("yukawa", {"m": 0.2, "sigma_max": 2.0}),
    ("yukawa", {"m": 3.0, "sigma_max": 4.0}),
    ("yukawa", {}),
]


@pytest.mark.parametrize("name,kw", SAMPLERS)
def test_density_is_the_law_the_prior_draws(name, kw):
    _density_check(get_process(name, **kw), seed=len(name) + len(kw))


def test_every_registered_process_is_checked():
    from gen3d.processes import PROCESSES

    assert {name for name, _ in SAMPLERS} == set(PROCESSES)


class _Laplace(EDMProcess):
    """A process with its own kernel but no density for it."""

    name = "laplace"

    def noise(self, shape, sigma, generator=None, device=None, dtype=None):
        u = torch.rand(shape, generator=generator, device=device, dtype=dtype) - 0.5
        return -sigma.reshape(-1, *[1] * (len(shape) - 1)) * torch.sign(u) * torch.log1p(-2 * u.abs())


def test_a_process_without_its_own_density_is_refused():
    with pytest.raises(NotImplementedError, match="laplace.*no exact log-density"):
        _Laplace().prior_log_density(torch.zeros(2, 3))
