import numpy as np
import pytest

from gen3d.errors import UserInputError
from gen3d.metrics import jsd_divergence, occupancy_counts, point_set_jsd


def test_counts_against_loops(rng):
    pts = rng.uniform(-1.2, 1.2, (3, 50, 3)).astype(np.float32)
    counts, n_out = occupancy_counts(pts, resolution=4)
    ref = np.zeros((4, 4, 4), int)
    out = 0
    for p in pts.reshape(-1, 3).astype(np.float64):
        if (p < -1).any() or (p > 1).any():
            out += 1
        i, j, k = (min(max(int(np.floor((c + 1) / 0.5)), 0), 3) for c in p)
        ref[i, j, k] += 1
    np.testing.assert_array_equal(counts, ref.ravel())
    assert n_out == out


def test_upper_face_is_inside():
    counts, n_out = occupancy_counts(np.ones((1, 1, 3)), resolution=28)
    assert n_out == 0 and counts[-1] == 1


def test_jsd_values():
    p = np.array([1.0, 0, 0, 0])
    q = np.array([0, 1.0, 0, 0])
    assert jsd_divergence(p, p) == 0.0
    assert jsd_divergence(p, q) == pytest.approx(1.0)  # disjoint supports: 1 bit
    assert jsd_divergence(p, q, base=np.e) == pytest.approx(np.log(2))
    a, b = np.array([3.0, 1, 0, 2]), np.array([1.0, 1, 1, 1])
    m = (a / 6 + b / 4) / 2
    h = lambda x: -(x[x > 0] * np.log2(x[x > 0])).sum()  # noqa: E731
    assert jsd_divergence(a, b) == pytest.approx(h(m) - (h(a / 6) + h(b / 4)) / 2)
    assert jsd_divergence(a, b) == pytest.approx(jsd_divergence(b, a))


def test_point_set_jsd_identical_and_in_sphere(rng):
    X = rng.uniform(-1, 1, (4, 100, 3)).astype(np.float32)
    r = point_set_jsd(X, X[::-1])
    assert r["jsd"] == 0.0 and r["base"] == 2.0
    corner = np.full((1, 10, 3), 0.99, np.float32)
    centre = np.zeros((1, 10, 3), np.float32)
    counts, n_out = occupancy_counts(np.concatenate([corner, centre], 1), in_sphere=True)
    assert n_out == 10 and counts.sum() == 10


def test_errors():
    with pytest.raises(UserInputError):
        jsd_divergence(np.zeros(4), np.ones(4))
    with pytest.raises(UserInputError):
        occupancy_counts(np.zeros((1, 3, 3)), bounds=(1, -1))
