import numpy as np
import pytest

from gen3d.geometry import face_areas, sample_surface

# two disjoint triangles in different planes with areas 1/2 and 3/2 (ratio 1:3)
TWO_TRIS_V = np.array(
    [[0, 0, 0], [1, 0, 0], [0, 1, 0], [5, 0, 0], [5, 3, 0], [5, 0, 1]],
    dtype=np.float64,
)
TWO_TRIS_F = np.array([[0, 1, 2], [3, 4, 5]])


def test_face_choice_is_area_weighted():
    np.testing.assert_allclose(face_areas(TWO_TRIS_V, TWO_TRIS_F), [0.5, 1.5])
    n = 40000
    pts = sample_surface(TWO_TRIS_V, TWO_TRIS_F, n, np.random.default_rng(0))
    on_first = int((pts[:, 0] < 2.5).sum())
    # Binomial(n, 1/4): mean 10000, std ~86.6; allow 5 standard deviations
    assert abs(on_first - n / 4) < 5 * np.sqrt(n * 0.25 * 0.75)


def test_points_lie_in_their_triangle_and_are_uniform():
    rng = np.random.default_rng(1)
    tri = rng.normal(size=(3, 3))
    pts = sample_surface(tri, np.array([[0, 1, 2]]), 20000, rng).astype(np.float64)
    # barycentric coordinates by least squares: p - a = u (b - a) + v (c - a)
    m = np.stack([tri[1] - tri[0], tri[2] - tri[0]], axis=1)  # (3, 2)
    uv, *_ = np.linalg.lstsq(m, (pts - tri[0]).T, rcond=None)
    resid = np.linalg.norm(m @ uv - (pts - tri[0]).T, axis=0)
    assert resid.max() < 1e-5
    assert uv.min() > -1e-5 and uv.sum(axis=0).max() < 1 + 1e-5
    # uniform in the triangle: mean of (u, v) is (1/3, 1/3), each with variance 1/18
    tol = 5 * np.sqrt(1 / 18 / pts.shape[0])
    np.testing.assert_allclose(uv.mean(axis=1), [1 / 3, 1 / 3], atol=tol)


def test_normals_are_unit_and_perpendicular():
    pts, normals = sample_surface(TWO_TRIS_V, TWO_TRIS_F, 1000, np.random.default_rng(2), with_normals=True)
    assert pts.dtype == np.float32 and normals.dtype == np.float32 and normals.shape == (1000, 3)
    np.testing.assert_allclose(np.linalg.norm(normals, axis=1), 1.0, atol=1e-6)
    first = pts[:, 0] < 2.5
    assert np.allclose(np.abs(normals[first]), [0, 0, 1], atol=1e-6) and first.any()
    assert np.allclose(np.abs(normals[~first]), [1, 0, 0], atol=1e-6) and (~first).any()


def test_zero_area_faces_are_never_chosen_and_same_seed_repeats():
    v = np.concatenate([TWO_TRIS_V, [[9, 9, 9]]])
    f = np.array([[6, 6, 6], [0, 1, 2], [6, 6, 6], [3, 4, 5], [6, 6, 6]])
    a = sample_surface(v, f, 5000, np.random.default_rng(3))
    b = sample_surface(v, f, 5000, np.random.default_rng(3))
    assert np.array_equal(a, b)
    assert not np.any(np.all(a == 9, axis=1))


def test_sampling_rejects_bad_input():
    with pytest.raises(ValueError, match="zero"):
        sample_surface(np.zeros((3, 3)), np.array([[0, 1, 2]]), 10, np.random.default_rng(0))
    with pytest.raises(TypeError, match="Generator"):
        sample_surface(TWO_TRIS_V, TWO_TRIS_F, 10, 0)
    with pytest.raises(ValueError, match="out of range"):
        sample_surface(TWO_TRIS_V, np.array([[0, 1, 9]]), 10, np.random.default_rng(0))
