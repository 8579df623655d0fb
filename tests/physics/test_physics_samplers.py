"""Sampler mechanics: NFE counts, callbacks, per-sample seeding, the registry and argument validation."""

import math

import pytest
import torch

from gen3d.analytic import GaussianMixtureDenoiser
from gen3d.processes import get_process
from gen3d.random import generators_for_seeds
from gen3d.samplers import SAMPLERS, SampleResult, get_schedule, sample
from gen3d.samplers.ode import heun

from .conftest import WEIGHTS, make_centres

OPTS = {"edm_stochastic": {"S_churn": 10.0}, "adaptive": {"rtol": 1e-3, "atol": 1e-3}}


@pytest.fixture
def den():
    return GaussianMixtureDenoiser(make_centres((5, 3)), 0.3, WEIGHTS)


def test_registry_names():
    assert set(SAMPLERS) == {
        "euler",
        "heun",
        "edm_stochastic",
        "euler_maruyama",
        "dpmpp_2m",
        "dpmpp_3m",
        "adaptive",
    }


@pytest.mark.parametrize(
    "name,expected",
    [
        ("euler", 10),
        ("heun", 19),
        ("edm_stochastic", 19),
        ("euler_maruyama", 10),
        ("dpmpp_2m", 10),
        ("dpmpp_3m", 10),
    ],
)
def test_nfe_counts_match_denoiser_calls(name, expected, den):
    calls = []

    def counted(x, s, c=None):
        calls.append(1)
        return den(x, s, c)

    x_T = 80.0 * torch.randn(4, 5, 3, generator=torch.Generator().manual_seed(0))
    res = sample(name, counted, x_T, get_schedule("karras", 10), generator=torch.Generator().manual_seed(1))
    assert isinstance(res, SampleResult)
    assert res.nfe == len(calls) == expected


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_callback_sees_every_state(name, den):
    seen = []
    sigmas = get_schedule("karras", 6)
    x_T = 80.0 * torch.randn(3, 5, 3, generator=torch.Generator().manual_seed(0))

    def cb(i, sigma, x, x0_hat):
        assert isinstance(sigma, float) and x.shape == x_T.shape
        assert x0_hat is None or x0_hat.shape == x_T.shape
        seen.append((i, sigma, x.clone()))

    res = sample(
        name, den, x_T, sigmas, generator=torch.Generator().manual_seed(1), callback=cb, **OPTS.get(name, {})
    )
    assert seen[0][0] == 0
    if name != "edm_stochastic":  # with churn the first state handed out is the noised x_hat
        assert torch.equal(seen[0][2], x_T)
    assert seen[-1][1] == 0.0 and torch.equal(seen[-1][2], res.x)
    assert [s[0] for s in seen] == list(range(len(seen)))
    if name in ("euler", "heun", "dpmpp_2m", "dpmpp_3m", "euler_maruyama"):
        assert [s[1] for s in seen] == pytest.approx(sigmas.tolist())


def test_heun_last_step_is_euler_and_ends_at_denoised(den):
    """EDM Alg. 1: the step to sigma = 0 is an Euler step, i.e. x_N = D(x_{N-1}; sigma_{N-1})."""
    sigmas = get_schedule("karras", 5)
    states = []
    x_T = 80.0 * torch.randn(3, 5, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    res = heun(den, x_T, sigmas, callback=lambda i, s, x, d: states.append((x, d)))
    x_last, d_last = states[-2]
    assert torch.allclose(res.x, d_last)


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_per_sample_seeding_independent_of_batch(name, den):
    """The shape drawn for seed s is the same whatever the batch size or position (prior + sampler noise)."""
    proc = get_process("edm")

    def run(seeds):
        gens = generators_for_seeds(seeds)
        x_T = proc.prior((len(seeds), 5, 3), gens)
        return sample(name, den, x_T, get_schedule("karras", 12), generator=gens, **OPTS.get(name, {})).x

    big = run([11, 22, 33])
    small = run([22])
    swapped = run([33, 22])
    assert torch.allclose(big[1], small[0], atol=1e-5)
    assert torch.allclose(big[1], swapped[1], atol=1e-5)
    assert torch.allclose(big[2], swapped[0], atol=1e-5)
    assert not torch.allclose(big[0], big[1])


def test_stochastic_samplers_use_the_generator(den):
    x_T = 80.0 * torch.randn(4, 5, 3, generator=torch.Generator().manual_seed(0))
    sig = get_schedule("karras", 8)
    for name, opts in (("edm_stochastic", {"S_churn": 40.0}), ("euler_maruyama", {})):
        a = sample(name, den, x_T, sig, generator=torch.Generator().manual_seed(1), **opts).x
        b = sample(name, den, x_T, sig, generator=torch.Generator().manual_seed(1), **opts).x
        c = sample(name, den, x_T, sig, generator=torch.Generator().manual_seed(2), **opts).x
        assert torch.equal(a, b) and not torch.allclose(a, c)
    # no churn: edm_stochastic is exactly Heun
    a = sample("edm_stochastic", den, x_T, sig).x
    assert torch.equal(a, sample("heun", den, x_T, sig).x)


def test_cond_is_passed_through():
    got = []

    def den(x, s, c=None):
        got.append(c)
        return torch.zeros_like(x)

    labels = torch.tensor([1, 2])
    for name in sorted(SAMPLERS):
        got.clear()
        sample(name, den, torch.randn(2, 3, 3), get_schedule("karras", 3), cond=labels, **OPTS.get(name, {}))
        assert got and all(c is labels for c in got)


@pytest.mark.parametrize(
    "sigmas,match",
    [
        ([], "at least 2"),
        ([1.0], "at least 2"),
        ([1.0, -0.5, 0.0], "non-negative"),
        ([1.0, 2.0, 0.0], "strictly decreasing"),
        ([1.0, 1.0, 0.0], "strictly decreasing"),
        ([[1.0, 0.0]], "1-D"),
        ([float("nan"), 0.0], "NaN"),
    ],
)
def test_bad_schedules_raise(sigmas, match, den):
    x = torch.randn(2, 5, 3)
    for name in sorted(SAMPLERS):
        with pytest.raises(ValueError, match=match):
            sample(name, den, x, sigmas)


def test_bad_arguments_raise(den):
    sig = get_schedule("karras", 4)
    with pytest.raises(ValueError, match="unknown sampler"):
        sample("ddim", den, torch.randn(2, 5, 3), sig)
    with pytest.raises(ValueError, match="bad option"):
        sample("heun", den, torch.randn(2, 5, 3), sig, S_churn=1.0)
    with pytest.raises(ValueError, match="one generator per sample"):
        sample("euler_maruyama", den, torch.randn(2, 5, 3), sig, generator=generators_for_seeds([1, 2, 3]))
    with pytest.raises(ValueError, match=r"\(B, \.\.\.\)"):
        sample("euler", den, torch.randn(5), sig)
    with pytest.raises(ValueError, match="denoiser returned shape"):
        sample("euler", lambda x, s, c=None: x[:1], torch.randn(2, 5, 3), sig)
    with pytest.raises(ValueError, match="rtol"):
        sample("adaptive", den, torch.randn(2, 5, 3), sig, rtol=-1.0)
    with pytest.raises(ValueError, match="S_churn"):
        sample("edm_stochastic", den, torch.randn(2, 5, 3), sig, S_churn=-1.0)
    with pytest.raises(RuntimeError, match="max_iters"):
        sample("adaptive", den, 80 * torch.randn(2, 5, 3), sig, rtol=1e-9, atol=1e-9, max_iters=3)


def test_options_are_checked_against_the_signature_not_by_error_text(den):
    """A TypeError from inside sampling (here the denoiser's) is not mistaken for a bad option, and a bad
    option is refused before the first denoiser call with the sampler's options listed."""
    sig = get_schedule("karras", 4)

    def broken(x, s, c=None):
        raise TypeError("forward() got an unexpected keyword argument 'mask'")

    with pytest.raises(TypeError, match="unexpected keyword argument 'mask'"):
        sample("heun", broken, torch.randn(2, 5, 3), sig)
    with pytest.raises(
        ValueError,
        match=r"bad option 'S_chrun' for sampler 'edm_stochastic': its options are "
        r"S_churn, S_min, S_max, S_noise",
    ):
        sample("edm_stochastic", broken, torch.randn(2, 5, 3), sig, S_chrun=1.0)
    with pytest.raises(ValueError, match=r"'rtol' is an option of adaptive"):
        sample("heun", broken, torch.randn(2, 5, 3), sig, rtol=1e-3)


def test_sampler_options_come_from_the_signatures():
    from gen3d.samplers import effective_options, sampler_options

    assert list(sampler_options("edm_stochastic")) == ["S_churn", "S_min", "S_max", "S_noise"]
    assert list(sampler_options("adaptive")) == ["rtol", "atol", "h_init", "max_iters"]
    assert all(sampler_options(n) == {} for n in ("euler", "heun", "euler_maruyama", "dpmpp_2m"))
    assert effective_options("edm_stochastic", {"S_churn": 40}) == {
        "S_churn": 40.0,
        "S_min": 0.0,
        "S_max": math.inf,
        "S_noise": 1.0,
    }


def test_schedule_not_ending_at_zero_stops_there(den):
    x_T = 80.0 * torch.randn(3, 5, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    sig = torch.tensor([80.0, 10.0, 1.0])
    res = sample("heun", den, x_T, sig)
    assert res.nfe == 4
    # continuing from sigma = 1 to 0 equals one run over the concatenated schedule
    full = sample("heun", den, x_T, torch.tensor([80.0, 10.0, 1.0, 0.0]))
    rest = sample("heun", den, res.x, torch.tensor([1.0, 0.0]))
    assert torch.allclose(full.x, rest.x) and math.isfinite(res.x.sum().item())
