import itertools

import numpy as np
import pytest

from gen3d.errors import UserInputError
from gen3d.metrics.emd import emd, emd_exact, emd_pairwise


def brute_force_emd(x, y):
    """Minimum over all bijections, float64 (reference; tiny n only)."""
    c = np.linalg.norm(np.asarray(x, np.float64)[:, None] - np.asarray(y, np.float64)[None], axis=-1)
    n = len(x)
    return min(c[np.arange(n), list(p)].mean() for p in itertools.permutations(range(n)))


def test_exact_matches_brute_force(rng):
    for _ in range(3):
        x = rng.standard_normal((6, 3)).astype(np.float32)
        y = rng.standard_normal((6, 3)).astype(np.float32)
        assert emd_exact(x, y) == pytest.approx(brute_force_emd(x, y), rel=1e-7)
        r = emd(x, y)
        assert r.exact and r.value == pytest.approx(brute_force_emd(x, y), rel=1e-7)


def test_approx_on_tiny_sets_matches_brute_force(rng):
    x = rng.standard_normal((6, 3)).astype(np.float32)
    y = rng.standard_normal((6, 3)).astype(np.float32)
    r = emd(x, y, method="approx", tol=1e-3)
    exact = brute_force_emd(x, y)
    assert r.lower_bound - 1e-6 <= exact <= r.value + 1e-6
    assert r.value <= exact * (1 + 1e-3) + 1e-6


def _surface_cloud(rng, n):
    u = rng.standard_normal((n, 3))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    return (u * rng.uniform(0.3, 1.0, 3) + rng.normal(0, 0.02, (n, 3))).astype(np.float32)


@pytest.mark.parametrize("tol", [0.01, 0.001])
def test_approx_is_certified_against_exact_random(rng, tol):
    for _ in range(2):
        x, y = _surface_cloud(rng, 400), _surface_cloud(rng, 400)
        exact = emd_exact(x, y)
        r = emd(x, y, method="approx", tol=tol)
        assert not r.exact
        assert r.value >= exact * (1 - 1e-6)  # cost of an actual bijection
        assert r.lower_bound <= exact * (1 + 1e-6)  # dual bound
        assert r.rel_gap <= tol
        assert (r.value - exact) / exact <= tol


def test_approx_structured_translation_is_exact_shift(rng):
    # for a pure translation t the optimum is the identity bijection with mean cost |t| (Jensen)
    g = np.stack(np.meshgrid(*[np.linspace(-1, 1, 7)] * 3, indexing="ij"), -1).reshape(-1, 3)
    x = g.astype(np.float32)
    t = np.array([0.05, -0.02, 0.01])
    y = (g + t).astype(np.float32)[rng.permutation(len(g))]
    r = emd(x, y, method="approx", tol=1e-3)
    assert r.value == pytest.approx(np.linalg.norm(t), rel=1e-3)
    assert emd_exact(x, y) == pytest.approx(np.linalg.norm(t), rel=1e-5)


def test_identical_and_permuted_sets_give_zero(rng):
    x = rng.standard_normal((300, 3)).astype(np.float32)
    r = emd(x, x[rng.permutation(300)], method="approx")
    assert r.value == pytest.approx(0.0, abs=1e-6)
    assert np.isfinite(r.rel_gap)


def test_pairwise_matches_single_and_is_symmetric(rng):
    X = np.stack([_surface_cloud(rng, 300) for _ in range(3)])
    V, G = emd_pairwise(X, tol=0.01)
    assert V.shape == G.shape == (3, 3)
    np.testing.assert_array_equal(np.diag(V), 0)
    np.testing.assert_allclose(V, V.T)
    for i, j in [(0, 1), (1, 2)]:
        exact = emd_exact(X[i], X[j])
        assert exact * (1 - 1e-6) <= V[i, j] <= exact * 1.01
        assert G[i, j] <= 0.01
    Ve, Ge = emd_pairwise(X[:2], X[1:], method="exact")
    assert Ve[1, 0] == 0 and (Ge == 0).all()


def test_errors_for_mismatched_or_bad_inputs():
    with pytest.raises(UserInputError, match="equal point counts"):
        emd(np.zeros((5, 3)), np.zeros((6, 3)))
    with pytest.raises(UserInputError, match="equal point counts"):
        emd_pairwise(np.zeros((2, 5, 3)), np.zeros((2, 6, 3)))
    with pytest.raises(UserInputError):
        emd(np.zeros((0, 3)), np.zeros((0, 3)))
    with pytest.raises(UserInputError):
        emd(np.full((4, 3), np.nan), np.zeros((4, 3)))
    with pytest.raises(UserInputError, match="tol"):
        emd(np.zeros((4, 3)), np.ones((4, 3)), tol=0)
