"""Noise schedules against their defining formulas (EDM Eq. 5 and Table 1)."""

import inspect
import math

import numpy as np
import pytest

from gen3d.processes import VPProcess, get_process
from gen3d.samplers import get_schedule
from gen3d.samplers.schedules import vp_schedule


def edm_vp_grid(n, beta_d=19.9, beta_min=0.1, eps_s=1e-3):
    """EDM Table 1, VP: t_i = 1 + i / (N - 1) (eps_s - 1) and sigma(t) = sqrt(exp(beta_d t^2 / 2 + beta_min t)
    - 1)."""
    t = 1 + np.arange(n) / (n - 1) * (eps_s - 1)
    return np.sqrt(np.expm1(0.5 * beta_d * t**2 + beta_min * t))


def test_karras_matches_eq5():
    s = get_schedule("karras", 18, sigma_min=0.002, sigma_max=80.0, rho=7.0).numpy()
    assert s.shape == (19,) and s[-1] == 0.0
    ref = [(80.0 ** (1 / 7) + i / 17 * (0.002 ** (1 / 7) - 80.0 ** (1 / 7))) ** 7 for i in range(18)]
    np.testing.assert_allclose(s[:-1], ref, rtol=1e-12)
    assert s[0] == pytest.approx(80.0) and s[-2] == pytest.approx(0.002)


def test_loguniform_is_geometric():
    s = get_schedule("loguniform", 10, sigma_min=0.01, sigma_max=100.0).numpy()
    ratios = s[1:-1] / s[:-2]
    np.testing.assert_allclose(ratios, ratios[0], rtol=1e-12)
    assert s[0] == pytest.approx(100.0) and s[-2] == pytest.approx(0.01) and s[-1] == 0
    np.testing.assert_array_equal(s, get_schedule("ve", 10, sigma_min=0.01, sigma_max=100.0).numpy())


def test_vp_defaults_match_edm_table1():
    s = get_schedule("vp", 12, sigma_min=None, sigma_max=None).numpy()
    np.testing.assert_allclose(s[:-1], edm_vp_grid(12), rtol=1e-10)
    assert s[-1] == 0


def test_vp_schedule_without_sigma_arguments_is_edm_vp_grid():
    """get_schedule's generic sigma defaults (0.002, 80) must not override VP's sigma(eps_s), sigma(1)."""
    np.testing.assert_allclose(get_schedule("vp", 12).numpy()[:-1], edm_vp_grid(12), rtol=1e-10)


def test_vp_schedule_on_the_vp_process_range_is_edm_vp_grid():
    proc = get_process("vp")
    s = get_schedule("vp", 18, proc.sigma_min, proc.sigma_max).numpy()
    np.testing.assert_allclose(s[:-1], edm_vp_grid(18), rtol=1e-10)
    proc = get_process("vp", beta_d=12.0, beta_min=0.3)
    s = get_schedule("vp", 18, proc.sigma_min, proc.sigma_max, beta_d=12.0, beta_min=0.3).numpy()
    np.testing.assert_allclose(s[:-1], edm_vp_grid(18, beta_d=12.0, beta_min=0.3), rtol=1e-10)


def test_vp_schedule_defaults_are_the_vp_process_and_edm_table1_defaults():
    sched = {k: p.default for k, p in inspect.signature(vp_schedule).parameters.items()}
    proc = {k: p.default for k, p in inspect.signature(VPProcess).parameters.items()}
    assert sched["beta_d"] == proc["beta_d"] == 19.9
    assert sched["beta_min"] == proc["beta_min"] == 0.1
    assert sched["eps_s"] == 1e-3
    assert get_process("vp").sigma_min == pytest.approx(edm_vp_grid(2)[-1], rel=1e-12)  # sigma(eps_s)


def test_generic_schedules_keep_their_defaults():
    s = get_schedule("karras", 4).numpy()
    assert s[0] == pytest.approx(80.0) and s[-2] == pytest.approx(0.002)
    s = get_schedule("loguniform", 4).numpy()
    assert s[0] == pytest.approx(80.0) and s[-2] == pytest.approx(0.002)


def test_single_step_schedule():
    s = get_schedule("karras", 1, sigma_min=0.002, sigma_max=80.0).tolist()
    assert s == [pytest.approx(80.0), 0.0]


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"n_steps": 0}, "n_steps"),
        ({"n_steps": 2.5}, "n_steps"),
        ({"n_steps": 5, "sigma_min": -1.0}, "sigma_min"),
        ({"n_steps": 5, "sigma_min": 10.0, "sigma_max": 1.0}, "smaller"),
        ({"n_steps": 5, "sigma_max": math.inf}, "sigma_max"),
        ({"n_steps": 5, "rho": 0.0}, "rho"),
    ],
)
def test_bad_schedule_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        get_schedule("karras", **kwargs)


def test_unknown_schedule():
    with pytest.raises(ValueError, match="unknown schedule"):
        get_schedule("cosine", 10)


def test_rho_only_affects_karras():
    a = get_schedule("loguniform", 6, sigma_min=0.01, sigma_max=10.0, rho=3.0)
    b = get_schedule("loguniform", 6, sigma_min=0.01, sigma_max=10.0)
    assert np.array_equal(a.numpy(), b.numpy())
    assert not np.allclose(get_schedule("karras", 6, rho=3.0).numpy(), get_schedule("karras", 6).numpy())
    with pytest.raises(ValueError, match="bad arguments"):
        get_schedule("karras", 6, beta_d=1.0)
