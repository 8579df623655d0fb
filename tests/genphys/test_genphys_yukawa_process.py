"""The Yukawa process in the process contract: preconditioning, training density, prior, config, errors."""

import math

import pytest
import torch

from gen3d.processes import get_process
from gen3d.processes.yukawa import yukawa_time


def test_effective_weight_on_the_network_output_is_one():
    proc = get_process("yukawa", m=3.0)
    t = torch.logspace(-3, 4, 50, dtype=torch.float64)
    _, c_out, _, _ = proc.preconditioning(t)
    torch.testing.assert_close(proc.loss_weight(t) * c_out**2, torch.ones_like(t), rtol=1e-12, atol=0)


def test_preconditioning_is_edm_at_the_scale_with_the_target_share_in_the_skip_path():
    from scipy.special import erfcx

    sd, m = 0.5, 2.0
    s = torch.tensor([0.01, 0.5, 20.0], dtype=torch.float64)
    t = yukawa_time(s, m)
    # κ̄ = κ(W = s², t) = m s M((m s² + t) / s), Mills' ratio M(b) = sqrt(π/2) erfcx(b / sqrt 2), by hand
    b = (m * s**2 + t) / s
    k = m * s * math.sqrt(math.pi / 2) * torch.from_numpy(erfcx((b / math.sqrt(2)).numpy()))
    for target, kk in (("naive", torch.zeros_like(s)), ("conservative", k)):
        proc = get_process("yukawa", m=m, sigma_data=sd, target=target)
        c_skip, c_out, c_in, c_noise = proc.preconditioning(t)
        torch.testing.assert_close(c_skip, kk + (1 - kk) * sd**2 / (s**2 + sd**2))
        torch.testing.assert_close(c_out, (1 - kk) * s * sd / torch.sqrt(s**2 + sd**2))
        torch.testing.assert_close(c_in, 1 / torch.sqrt(s**2 + sd**2))
        torch.testing.assert_close(c_noise, torch.log(s) / 4)


def test_network_target_has_unit_scale_at_every_noise_level():
    # EDM's design rule: for data of scale sigma_data the regression target of the raw network,
    # (target - c_skip x) / c_out, has about unit variance at every noise level; with EDM's coefficients and
    # the conservative target it grows like (s / sigma_data)² at high noise (~6400 at s = 80)
    proc = get_process("yukawa", D_eff=128.0, sigma_data=0.5)
    g = torch.Generator().manual_seed(0)
    n, count = 512, 400
    for s in (0.1, 0.5, 2.0, 10.0, 80.0):
        t = torch.full((count,), float(yukawa_time(torch.tensor(s, dtype=torch.float64), proc.m)))
        y = 0.5 * torch.randn(count, n, generator=g, dtype=torch.float64)
        x, target = proc.perturb_with_target(y, t.double(), g)
        c_skip, c_out, _, _ = proc.preconditioning(t.double())
        f = (target - c_skip[:, None] * x) / c_out[:, None]
        assert 0.3 < float(f.square().mean()) < 1.5, s


def test_training_density_is_lognormal_in_the_scale():
    from scipy import stats

    proc = get_process("yukawa", D_eff=128.0, P_mean=-1.0, P_std=0.8)
    t = proc.sample_sigma(20000, torch.Generator().manual_seed(0)).double()
    log_s = torch.log(proc.scale(t)).numpy()
    assert stats.kstest(log_s, stats.norm(-1.0, 0.8).cdf).pvalue > 1e-3


def test_range_and_prior():
    proc = get_process("yukawa", m=2.0, s_min=0.01, s_max=40.0)
    assert proc.sigma_min == pytest.approx(0.01 * math.sqrt(3 + 4 * 0.01**2))
    assert proc.sigma_max == pytest.approx(40.0 * math.sqrt(3 + 4 * 40.0**2))
    x = proc.prior((2000, 16), torch.Generator().manual_seed(1))
    assert x.shape == (2000, 16)
    # E|x|² = n t_max / m for the kernel around 0
    assert float((x.double() ** 2).sum(1).mean()) == pytest.approx(16 * proc.sigma_max / 2.0, rel=0.05)


def test_config_round_trip_and_effective_dimension():
    proc = get_process("yukawa", D_eff=256.0, s_pivot=0.4, target="naive")
    again = get_process(**proc.config())
    assert again.m == pytest.approx(proc.m) and again.target == "naive" and again.D_eff == 256.0
    t_p = float(yukawa_time(torch.tensor(0.4, dtype=torch.float64), proc.m))
    assert 2 * proc.m * t_p + 4 == pytest.approx(256.0)
    assert get_process("yukawa").D_eff == 128.0  # the default


def test_naive_target_is_the_clean_sample_and_conservative_is_not():
    x0 = torch.randn(8, 5, generator=torch.Generator().manual_seed(2))
    t = torch.full((8,), 1.0)
    x, tgt = get_process("yukawa", m=2.0, target="naive").perturb_with_target(x0, t, None)
    assert torch.equal(tgt, x0)
    x, tgt = get_process("yukawa", m=2.0).perturb_with_target(x0, t, torch.Generator().manual_seed(3))
    kappa = ((tgt - x0) / (x - x0)).reshape(-1)
    assert torch.all((kappa > 0) & (kappa < 1))


def test_bad_arguments():
    with pytest.raises(ValueError, match="not both"):
        get_process("yukawa", m=1.0, D_eff=64.0)
    with pytest.raises(ValueError, match="target"):
        get_process("yukawa", target="weighted")
    with pytest.raises(ValueError, match="> 4"):
        get_process("yukawa", D_eff=3.0)
    with pytest.raises(ValueError, match="m must"):
        get_process("yukawa", m=-1.0)


def test_sampling_grid_is_spaced_in_the_scale_and_ends_at_zero():
    from gen3d.generate import generate
    from gen3d.samplers import get_schedule

    proc = get_process("yukawa", D_eff=128.0)
    seen = []

    def denoiser(x, sigma, cond=None):
        seen.append(float(sigma[0]))
        return torch.zeros_like(x)

    generate(denoiser, proc, (4, 3), [0], sampler="euler", steps=6)
    want = yukawa_time(get_schedule("karras", 6, proc.s_min, proc.s_max, rho=7.0), proc.m)
    assert want[-1] == 0
    torch.testing.assert_close(torch.tensor(seen, dtype=torch.float64), want[:-1], rtol=1e-6, atol=0)
    assert seen[0] == pytest.approx(proc.sigma_max) and seen[-1] == pytest.approx(proc.sigma_min)
