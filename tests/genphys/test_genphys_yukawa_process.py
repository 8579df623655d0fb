"""The Yukawa process in the process contract: preconditioning, training density, prior, config, errors."""

import math

import pytest
import torch

from gen3d.processes import get_process
from gen3d.processes.yukawa import yukawa_time


def test_effective_weight_on_the_network_output_is_one():
    proc = get_process("yukawa", m=3.0)
    s = torch.logspace(-3, 2, 50, dtype=torch.float64)
    _, c_out, _, _ = proc.preconditioning(s)
    torch.testing.assert_close(proc.loss_weight(s) * c_out**2, torch.ones_like(s), rtol=1e-12, atol=0)


def test_preconditioning_is_edm_at_the_scale():
    sd = 0.5
    proc = get_process("yukawa", m=2.0, sigma_data=sd)
    s = torch.tensor([0.01, 0.5, 20.0], dtype=torch.float64)
    c_skip, c_out, c_in, c_noise = proc.preconditioning(s)
    torch.testing.assert_close(c_skip, sd**2 / (s**2 + sd**2))
    torch.testing.assert_close(c_out, s * sd / torch.sqrt(s**2 + sd**2))
    torch.testing.assert_close(c_in, 1 / torch.sqrt(s**2 + sd**2))
    torch.testing.assert_close(c_noise, torch.log(s) / 4)


def test_network_target_has_unit_scale_at_every_noise_level():
    # EDM's design rule: for data of scale sigma_data the regression target of the raw network,
    # (target - c_skip x) / c_out, has about unit variance at every noise level. In the t-frame (target
    # y + κ (x - y), EDM's coefficients at s) it grows like (s / sigma_data)² (~6400 at s = 80)
    proc = get_process("yukawa", D_eff=128.0, sigma_data=0.5)
    g = torch.Generator().manual_seed(0)
    n, count = 512, 400
    for s in (0.1, 0.5, 2.0, 10.0, 80.0):
        sig = torch.full((count,), s, dtype=torch.float64)
        y = 0.5 * torch.randn(count, n, generator=g, dtype=torch.float64)
        x, target = proc.perturb_with_target(y, sig, g)
        c_skip, c_out, _, _ = proc.preconditioning(sig)
        f = (target - c_skip[:, None] * x) / c_out[:, None]
        assert 0.3 < float(f.square().mean()) < 1.5, s


def test_training_density_is_lognormal_in_the_scale():
    from scipy import stats

    proc = get_process("yukawa", D_eff=128.0, P_mean=-1.0, P_std=0.8)
    s = proc.sample_sigma(20000, torch.Generator().manual_seed(0)).double()
    assert stats.kstest(torch.log(s).numpy(), stats.norm(-1.0, 0.8).cdf).pvalue > 1e-3


def test_range_and_prior():
    proc = get_process("yukawa", m=2.0, sigma_min=0.01, sigma_max=40.0)
    assert (proc.sigma_min, proc.sigma_max) == (0.01, 40.0)
    x = proc.prior((2000, 16), torch.Generator().manual_seed(1))
    assert x.shape == (2000, 16)
    # E|x|² = n t_max / m for the kernel around 0, t_max = s_max sqrt(3 + m² s_max²)
    t_max = 40.0 * math.sqrt(3 + 4 * 40.0**2)
    assert float((x.double() ** 2).sum(1).mean()) == pytest.approx(16 * t_max / 2.0, rel=0.05)


def test_config_round_trip_and_effective_dimension():
    proc = get_process("yukawa", D_eff=256.0, s_pivot=0.4, target="naive")
    again = get_process(**proc.config())
    assert again.m == pytest.approx(proc.m) and again.target == "naive" and again.D_eff == 256.0
    t_p = float(yukawa_time(torch.tensor(0.4, dtype=torch.float64), proc.m))
    assert 2 * proc.m * t_p + 4 == pytest.approx(256.0)
    assert get_process("yukawa").D_eff == 128.0  # the default


def test_target_shares():
    # naive: κ = 0, so κ_s = 1 - g(s); conservative: κ_s = 1 - g(s)(1 - κ) with 0 < κ < 1
    m = 2.0
    x0 = torch.randn(8, 5, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    s = torch.full((8,), 0.3, dtype=torch.float64)
    g = (3 + 2 * (m * 0.3) ** 2) / (3 + (m * 0.3) ** 2)
    x, tgt = get_process("yukawa", m=m, target="naive").perturb_with_target(x0, s, None)
    torch.testing.assert_close((tgt - x0) / (x - x0), torch.full_like(x0, 1 - g))
    x, tgt = get_process("yukawa", m=m).perturb_with_target(x0, s, torch.Generator().manual_seed(3))
    share = ((tgt - x0) / (x - x0)).reshape(-1)
    assert torch.all((share > 1 - g) & (share < 1))


def test_bad_arguments():
    with pytest.raises(ValueError, match="not both"):
        get_process("yukawa", m=1.0, D_eff=64.0)
    with pytest.raises(ValueError, match="target"):
        get_process("yukawa", target="weighted")
    with pytest.raises(ValueError, match="> 4"):
        get_process("yukawa", D_eff=3.0)
    with pytest.raises(ValueError, match="m must"):
        get_process("yukawa", m=-1.0)
