"""Noise schedules against their defining formulas (EDM Eq. 5 and Table 1)."""

import math

import numpy as np
import pytest

from gen3d.processes.vp import vp_sigma
from gen3d.samplers import get_schedule


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
    t = [1 + i / 11 * (1e-3 - 1) for i in range(12)]
    np.testing.assert_allclose(s[:-1], [vp_sigma(ti) for ti in t], rtol=1e-10)
    assert s[-1] == 0


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
