"""GenPhys' s-generative test against the closed-form dispersion relations of the textbook PDEs."""

import numpy as np
import pytest

from gen3d.physics import EXAMPLES, dispersion_roots, s_generative_test

K = np.linspace(0.0, 5.0, 11)


def test_roots_match_closed_forms():
    # heat: ω = -i k²; screened Poisson with mass m: ω = ±i sqrt(k² + m²); wave: ω = ±c k; Schrödinger: ω = k²
    heat = dispersion_roots({(1, 0): 1.0, (0, 1): -1.0}, K)
    np.testing.assert_allclose(heat[:, 0], -1j * K**2, atol=1e-12)
    m = 2.5
    yuk = dispersion_roots({(2, 0): 1.0, (0, 1): 1.0, (0, 0): -(m**2)}, K)
    np.testing.assert_allclose(yuk[:, 0], 1j * np.sqrt(K**2 + m**2), atol=1e-10)
    np.testing.assert_allclose(yuk[:, 1], -1j * np.sqrt(K**2 + m**2), atol=1e-10)
    c = 3.0
    wave = dispersion_roots({(2, 0): 1.0, (0, 1): -(c**2)}, K)
    np.testing.assert_allclose(np.sort(wave.real, axis=1), np.stack([-c * K, c * K], 1), atol=1e-9)
    np.testing.assert_allclose(wave.imag, 0.0, atol=1e-9)
    schr = dispersion_roots({(1, 0): 1j, (0, 1): 1.0}, K)
    np.testing.assert_allclose(schr[:, 0], K**2, atol=1e-12)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_textbook_verdicts(name):
    terms, expected = EXAMPLES[name]
    r = s_generative_test(terms)
    assert r.passes is expected, r.reason
    assert (r.branch is not None) is expected
    assert ("smooths" in r.reason) and (("no branch" in r.reason) is not expected)


def test_decaying_branch_of_the_screened_equation_is_the_one_selected():
    m = 1.7
    r = s_generative_test({(2, 0): 1.0, (0, 1): 1.0, (0, 0): -(m**2)})
    # the bounded branch ω = -i sqrt(k² + m²): Im ω(0) = -m
    assert r.passes and r.branch == 1
    assert r.im_omega0[1] == pytest.approx(-m)
    np.testing.assert_allclose(r.im_omega[:, 1], -np.sqrt(r.k**2 + m**2), atol=1e-9)


def test_helmholtz_fails_only_below_its_wave_number():
    # ω² = κ² - k²: real (oscillating) for k < κ, so the k < κ modes never decay; a test that only looked at
    # k > κ would pass it
    kappa = 2.0
    terms = {(2, 0): 1.0, (0, 1): 1.0, (0, 0): kappa**2}
    assert not s_generative_test(terms, k_max=10.0).passes
    high = dispersion_roots(terms, np.array([3.0, 6.0]))
    assert (high.imag[:, 1] < 0).all()


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="no time derivative"):
        dispersion_roots({(0, 1): 1.0}, K)
    with pytest.raises(ValueError, match="non-negative integers"):
        dispersion_roots({(1, -1): 1.0}, K)
    with pytest.raises(ValueError, match="empty"):
        dispersion_roots({}, K)
