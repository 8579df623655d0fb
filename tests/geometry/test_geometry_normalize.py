import json

import numpy as np
import pytest

from gen3d.geometry import Normalization, NormParams, fit_global_normalization, fit_normalization


def _cloud(seed=0, n=500):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 3)) * [3.0, 0.5, 1.2] + [10.0, -2.0, 0.3]


@pytest.mark.parametrize("kind", list(Normalization))
def test_round_trip_and_dict(kind):
    pts = _cloud()
    p = fit_normalization(kind, pts)
    np.testing.assert_allclose(p.invert(p.apply(pts)), pts, atol=1e-12)
    q = NormParams.from_dict(json.loads(json.dumps(p.to_dict())))
    assert q == p
    # float32 in, float32 out
    assert p.apply(pts.astype(np.float32)).dtype == np.float32


def test_kind_invariants():
    pts = _cloud()
    ext = lambda x: x.max(axis=0) - x.min(axis=0)  # noqa: E731
    x = fit_normalization("none", pts).apply(pts)
    np.testing.assert_array_equal(x, pts)

    x = fit_normalization("unit_sphere", pts).apply(pts)
    np.testing.assert_allclose(x.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(x, axis=1).max(), 1.0)

    x = fit_normalization(Normalization.UNIT_CUBE, pts).apply(pts)
    np.testing.assert_allclose((x.max(axis=0) + x.min(axis=0)) / 2, 0, atol=1e-12)
    np.testing.assert_allclose(ext(x).max(), 1.0)
    # isotropic: aspect ratios are kept
    np.testing.assert_allclose(ext(x) / ext(x).max(), ext(pts) / ext(pts).max())

    x = fit_normalization("bbox", pts).apply(pts)
    np.testing.assert_allclose(x[:, 0].min(), -1.0)  # x is the longest axis
    np.testing.assert_allclose(x[:, 0].max(), 1.0)
    assert np.abs(x).max() <= 1 + 1e-12
    np.testing.assert_allclose(ext(x) / ext(x).max(), ext(pts) / ext(pts).max())

    # PointFlow: mean per axis, one std over all coordinates
    x = fit_normalization("global", pts).apply(pts)
    np.testing.assert_allclose(x.mean(axis=0), 0, atol=1e-12)
    p = fit_normalization("global", pts)
    np.testing.assert_allclose(p.scale, np.full(3, pts.reshape(-1).std()))


def test_global_streams_over_shapes_like_pointflow():
    shapes = [_cloud(seed, n=200 + 50 * seed) for seed in range(5)]
    allpts = np.concatenate(shapes)
    p = fit_global_normalization(iter(shapes))
    np.testing.assert_allclose(p.shift, allpts.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(p.scale, allpts.reshape(-1).std(), rtol=1e-10)


def test_bad_input():
    with pytest.raises(ValueError, match="expected one of"):
        fit_normalization("meanstd", _cloud())
    with pytest.raises(ValueError, match="zero extent"):
        fit_normalization("bbox", np.ones((5, 3)))
    with pytest.raises(ValueError, match="NaN"):
        fit_normalization("bbox", np.full((5, 3), np.nan))
    with pytest.raises(ValueError, match="shape"):
        fit_normalization("bbox", np.ones(5))
    with pytest.raises(ValueError, match="positive"):
        NormParams(np.zeros(3), np.array([1.0, 0.0, 1.0]))
    with pytest.raises(ValueError, match="no point sets"):
        fit_global_normalization([])
