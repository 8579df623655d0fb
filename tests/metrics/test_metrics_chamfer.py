import numpy as np
import pytest

from gen3d.errors import UserInputError
from gen3d.metrics.chamfer import _chamfer_pairwise_torch, chamfer_distance, chamfer_pairwise


def test_pairwise_matches_naive_loops_unequal_sizes(rng, naive_cd):
    X = rng.standard_normal((3, 37, 3)).astype(np.float32)
    Y = (rng.standard_normal((2, 50, 3)) * 0.5 + 0.3).astype(np.float32)
    D = chamfer_pairwise(X, Y)
    ref = np.array([[naive_cd(x, y) for y in Y] for x in X])
    assert D.shape == (3, 2)
    np.testing.assert_allclose(D, ref, rtol=1e-5)


def test_symmetric_matches_full_and_has_zero_diagonal(rng):
    X = rng.standard_normal((4, 65, 3)).astype(np.float32)
    S = chamfer_pairwise(X)
    np.testing.assert_allclose(S, chamfer_pairwise(X, X), rtol=1e-6, atol=1e-12)
    np.testing.assert_array_equal(np.diag(S), 0.0)
    np.testing.assert_allclose(S, S.T)


def test_precision_far_from_origin(rng, naive_cd):
    # expanded-form distances would cancel badly here; the direct form must stay within 1e-5
    x = (rng.standard_normal((200, 3)) * 0.01 + 50).astype(np.float32)
    y = (rng.standard_normal((180, 3)) * 0.01 + 50).astype(np.float32)
    assert chamfer_distance(x, y) == pytest.approx(naive_cd(x, y), rel=1e-5)


def test_permutation_invariance_and_identity(rng):
    x = rng.standard_normal((100, 3)).astype(np.float32)
    y = rng.standard_normal((90, 3)).astype(np.float32)
    assert chamfer_distance(x, y) == pytest.approx(
        chamfer_distance(x[::-1], y[rng.permutation(90)]), rel=1e-6
    )
    assert chamfer_distance(x, y) == pytest.approx(chamfer_distance(y, x), rel=1e-6)
    assert chamfer_distance(x, x[rng.permutation(100)]) == 0.0


@pytest.mark.parametrize("tile", [1, 3, 1024])
def test_batched_torch_path_matches_the_cpu_kernel(rng, tile):
    X = rng.standard_normal((7, 50, 3)).astype(np.float32)
    Y = rng.standard_normal((4, 50, 3)).astype(np.float32)
    np.testing.assert_allclose(
        chamfer_pairwise(X, Y, device="torch-cpu", tile=tile), chamfer_pairwise(X, Y), rtol=1e-6
    )
    sym = chamfer_pairwise(X, device="torch-cpu", tile=tile)
    np.testing.assert_allclose(sym, chamfer_pairwise(X), rtol=1e-6)
    assert np.array_equal(sym, sym.T) and (np.diag(sym) == 0).all()


def test_torch_path_matches_naive(rng, naive_cd):
    X = rng.standard_normal((2, 40, 3)).astype(np.float32)
    Y = rng.standard_normal((3, 33, 3)).astype(np.float32)
    ref = np.array([[naive_cd(x, y) for y in Y] for x in X])
    np.testing.assert_allclose(_chamfer_pairwise_torch(X, Y, "cpu", 16), ref, rtol=1e-6)


@pytest.mark.parametrize(
    "bad",
    [np.zeros((0, 3)), np.zeros((5, 2)), np.array([[0.0, np.nan, 0.0]])],
)
def test_bad_single_inputs_raise(bad):
    with pytest.raises(UserInputError):
        chamfer_distance(bad, np.zeros((4, 3)))


def test_bad_sets_raise():
    with pytest.raises(UserInputError, match="empty"):
        chamfer_pairwise(np.zeros((0, 10, 3)), np.zeros((2, 10, 3)))
    with pytest.raises(UserInputError, match="NaN"):
        chamfer_pairwise(np.full((2, 10, 3), np.inf))
