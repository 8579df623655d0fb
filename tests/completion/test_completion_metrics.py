"""PVD's completion metrics against brute-force numpy references and known answers."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from gen3d.completion.metrics import completion_metrics, total_mutual_difference, unidirectional_hausdorff


def _d2(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return ((a[:, None, :].astype(np.float64) - b[None, :, :]) ** 2).sum(-1)


def _cd(a, b) -> float:
    d = _d2(a, b)
    return float(d.min(1).mean() + d.min(0).mean())


def _emd(a, b) -> float:
    c = np.sqrt(_d2(a, b))
    r, k = linear_sum_assignment(c)
    return float(c[r, k].mean())


def _uhd(p, c) -> float:
    return float(np.sqrt(_d2(p, c).min(1)).max())


@pytest.fixture(scope="module")
def case():
    rng = np.random.default_rng(0)
    comps = rng.standard_normal((3, 4, 40, 3)).astype(np.float32)
    truth = rng.standard_normal((3, 40, 3)).astype(np.float32)
    partials = [rng.standard_normal((m, 3)).astype(np.float32) for m in (5, 12, 30)]
    return comps, partials, truth


def test_metrics_match_brute_force(case):
    comps, partials, truth = case
    r = completion_metrics(comps, partials, truth)
    cd = np.array([[_cd(c, t) for c in cs] for cs, t in zip(comps, truth)])
    emd = np.array([[_emd(c, t) for c in cs] for cs, t in zip(comps, truth)])
    assert r["cd"]["best_of_k"] == pytest.approx(cd.min(1).mean(), rel=1e-5)
    assert r["cd"]["mean_of_k"] == pytest.approx(cd.mean(1).mean(), rel=1e-5)
    assert r["emd"]["best_of_k"] == pytest.approx(emd.min(1).mean(), rel=1e-6)  # exact at 40 points
    assert r["emd"]["mean_of_k"] == pytest.approx(emd.mean(1).mean(), rel=1e-6)
    uhd = np.mean([[_uhd(p, c) for c in cs] for p, cs in zip(partials, comps)])
    assert r["fidelity_uhd"] == pytest.approx(uhd, rel=1e-6)
    tmd = np.mean([sum(np.mean([_cd(cs[k], cs[j]) for j in range(4) if j != k]) for k in range(4))
                   for cs in comps])  # fmt: skip
    assert r["diversity_tmd"] == pytest.approx(tmd, rel=1e-5)
    assert (r["n_inputs"], r["k"], r["n_points"]) == (3, 4, 40)


def test_known_answers():
    """A completion equal to the truth scores 0; K identical completions have no diversity; a partial that is
    a subset of the completion is perfectly faithful; a shifted completion's UHD is the shift."""
    rng = np.random.default_rng(1)
    t = rng.standard_normal((50, 3)).astype(np.float32)
    comps = np.stack([np.stack([t, t + 0.5])])
    r = completion_metrics(comps, [t[:10]], t[None])
    assert r["cd"]["best_of_k"] == 0.0 and r["emd"]["best_of_k"] == 0.0
    assert r["cd"]["mean_of_k"] == pytest.approx(0.5 * _cd(t + 0.5, t), rel=1e-5)
    assert unidirectional_hausdorff(t[:10], t) == 0.0
    assert unidirectional_hausdorff(t[:10], t + np.float32([0.3, 0.0, 0.0])) == pytest.approx(0.3, abs=1e-6)
    assert total_mutual_difference(np.stack([t, t, t])) == 0.0
    assert total_mutual_difference(t[None]) == 0.0
    only = completion_metrics(comps[:, :1], [t[:10]])
    assert only["diversity_tmd"] is None and "cd" not in only


def test_unequal_counts_subsample_for_emd_only():
    rng = np.random.default_rng(2)
    comps = rng.standard_normal((1, 2, 30, 3)).astype(np.float32)
    truth = rng.standard_normal((1, 45, 3)).astype(np.float32)
    r = completion_metrics(comps, [comps[0, 0, :5]], truth, seed=3)
    assert r["emd_points"] == 30
    assert r["cd"]["mean_of_k"] == pytest.approx(np.mean([_cd(c, truth[0]) for c in comps[0]]), rel=1e-5)
    sub = truth[0][np.random.default_rng(3).choice(45, 30, replace=False)]
    assert r["emd"]["per_input_best"][0] == pytest.approx(min(_emd(c, sub) for c in comps[0]), rel=1e-6)


def test_bad_input():
    from gen3d.errors import UserInputError

    with pytest.raises(UserInputError, match="unknown completion metrics"):
        completion_metrics(np.zeros((1, 1, 4, 3)), [np.zeros((2, 3))], np.zeros((1, 4, 3)), metrics=("iou",))
    with pytest.raises(UserInputError, match="one partial per input"):
        completion_metrics(np.zeros((2, 1, 4, 3)), [np.zeros((2, 3))])
