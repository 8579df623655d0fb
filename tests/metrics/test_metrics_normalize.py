import numpy as np
import pytest

from gen3d.errors import UserInputError
from gen3d.metrics import normalize_sets


def test_bbox_is_per_shape(rng):
    gen = rng.uniform(-3, 5, (3, 50, 3)).astype(np.float32)
    ref = rng.uniform(0, 0.1, (2, 40, 3)).astype(np.float32)
    g, r, rec = normalize_sets(gen, ref, "bbox")
    assert rec == {"kind": "bbox", "fitted_on": "each shape"}
    for s in (*g, *r):
        lo, hi = s.min(0), s.max(0)
        np.testing.assert_allclose((lo + hi) / 2, 0, atol=1e-5)
        assert (hi - lo).max() == pytest.approx(2.0, rel=1e-5)


def test_global_uses_reference_statistics_for_both(rng):
    gen = rng.normal(2, 3, (3, 50, 3)).astype(np.float32)
    ref = rng.normal(1, 2, (4, 60, 3)).astype(np.float32)
    g, r, rec = normalize_sets(gen, ref, "global")
    flat = ref.reshape(-1, 3).astype(np.float64)
    mean, std = flat.mean(0), flat.std()  # PointFlow: mean per axis, one std over all coordinates
    np.testing.assert_allclose(rec["params"]["shift"], mean, rtol=1e-6)
    np.testing.assert_allclose(g, (gen - mean) / rec["params"]["scale"][0], rtol=1e-4, atol=1e-5)
    assert rec["params"]["scale"] == pytest.approx([std] * 3, rel=1e-6)
    np.testing.assert_allclose(r.reshape(-1, 3).mean(0), 0, atol=1e-5)


def test_none_and_unknown(rng):
    x = rng.standard_normal((2, 5, 3)).astype(np.float32)
    g, r, rec = normalize_sets(x, x, "none")
    assert g is x and rec["kind"] == "none"
    with pytest.raises(UserInputError, match="unknown normalization"):
        normalize_sets(x, x, "zscore")
    with pytest.raises(UserInputError, match="zero extent"):
        normalize_sets(np.zeros((1, 4, 3)), x, "bbox")
