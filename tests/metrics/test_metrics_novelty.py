import numpy as np
import pytest

from gen3d.errors import UserInputError
from gen3d.metrics import chamfer_pairwise, evaluate_point_sets, novelty_scores


def test_copies_are_flagged(rng):
    train = rng.standard_normal((12, 64, 3)).astype(np.float32)
    held = rng.standard_normal((10, 64, 3)).astype(np.float32)
    copies = train[:5] + rng.normal(0, 1e-3, (5, 64, 3)).astype(np.float32)
    novel = rng.standard_normal((5, 64, 3)).astype(np.float32)
    gen = np.concatenate([copies, novel])
    r = novelty_scores(chamfer_pairwise(gen, train), chamfer_pairwise(held, train), copy_quantile=0.1)
    assert r["copy_fraction"] == pytest.approx(0.5)
    assert max(r["ratio"][:5]) < 0.01 and min(r["ratio"][5:]) > 0.5
    assert r["expected_copy_fraction"] <= 0.1 + 1e-9


def test_evaluate_with_train_records_novelty(rng):
    train = rng.standard_normal((6, 64, 3)).astype(np.float32)
    ref = rng.standard_normal((5, 64, 3)).astype(np.float32)
    out = evaluate_point_sets(train[:4], ref, metrics=("cd",), train=train, normalize="global")
    assert out["novelty"]["copy_fraction"] == 1.0 and out["novelty"]["median_ratio"] == 0.0
    assert out["normalization"]["kind"] == "global"


def test_errors():
    with pytest.raises(UserInputError):
        novelty_scores(np.ones((2, 3)), np.ones((2, 4)))
    with pytest.raises(UserInputError, match="overlaps"):
        novelty_scores(np.ones((2, 3)), np.zeros((2, 3)))
