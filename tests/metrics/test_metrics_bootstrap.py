"""Bootstrap intervals of MMD / COV / 1-NNA from the distance matrices, copies handled."""

import json

import numpy as np
import pytest

from gen3d.cli import main
from gen3d.metrics.bootstrap import bootstrap_intervals, bootstrap_replicates
from gen3d.metrics.protocol import one_nna
from gen3d.sample_file import SampleFile, save_samples


def _dist(a, b):
    return np.sqrt(((a[:, None] - b[None]) ** 2).sum(-1))


def _sets(rng, g, r, dim=3, shift=0.0):
    x, y = rng.standard_normal((g, dim)) + shift, rng.standard_normal((r, dim))
    return _dist(x, x), _dist(y, y), _dist(x, y)


def naive_replicates(d_gg, d_rr, d_gr, n_boot, seed):
    """The same draws (generated indices first, then reference, per replicate), scored by loops over the
    distinct original shapes drawn: a shape's leave-one-out neighbour is never a copy of itself."""
    rng = np.random.default_rng(seed)
    g, r = d_gr.shape
    out = []
    for _ in range(n_boot):
        gs = sorted(set(rng.integers(0, g, g).tolist()))
        rs = sorted(set(rng.integers(0, r, r).tolist()))
        mmd = sum(min(d_gr[i, j] for i in gs) for j in rs) / len(rs)
        covered = {min(rs, key=lambda j: (d_gr[i, j], j)) for i in gs}
        score = 0.0
        for i in gs:
            same = min((d_gg[i, k] for k in gs if k != i), default=np.inf)
            other = min(d_gr[i, j] for j in rs)
            score += 1.0 if same < other else 0.5 if same == other else 0.0
        for j in rs:
            same = min((d_rr[j, k] for k in rs if k != j), default=np.inf)
            other = min(d_gr[i, j] for i in gs)
            score += 1.0 if same < other else 0.5 if same == other else 0.0
        out.append((mmd, len(covered) / len(rs), score / (len(gs) + len(rs))))
    return np.array(out)


def test_replicates_against_naive_loops(rng):
    d = _sets(rng, 7, 6)
    reps = bootstrap_replicates(*d, n_boot=25, seed=5)
    naive = naive_replicates(*d, n_boot=25, seed=5)
    for k, name in enumerate(("mmd", "cov", "1nna")):
        np.testing.assert_allclose(reps[name], naive[:, k], rtol=1e-12)


def test_copies_do_not_make_1nna_degenerate(rng):
    # two sets from one distribution: 1-NNA is at its chance level. Counting a copy as a neighbour (distance
    # 0, same set) would score every duplicated shape "correct" and push the replicates far above it.
    d = _sets(rng, 60, 60)
    est = one_nna(*d)
    reps = bootstrap_replicates(*d, n_boot=200, seed=1)["1nna"]
    assert abs(reps.mean() - est["chance"]) < 0.05
    # the degenerate version, for contrast: the leave-one-out search over the resampled multiset itself
    rng2 = np.random.default_rng(1)
    bad = []
    for _ in range(50):
        ig, ir = rng2.integers(0, 60, 60), rng2.integers(0, 60, 60)
        bad.append(one_nna(d[0][np.ix_(ig, ig)], d[1][np.ix_(ir, ir)], d[2][np.ix_(ig, ir)])["acc"])
    assert np.mean(bad) > est["chance"] + 0.2


def test_intervals_contain_the_estimate_and_are_seeded(rng):
    d = _sets(rng, 30, 30, shift=0.3)
    est = {"mmd": float(d[2].min(0).mean()), "cov": 0.5, "1nna": one_nna(*d)["acc"]}
    a = bootstrap_intervals(*d, est, n_boot=200, level=0.9, seed=3)
    b = bootstrap_intervals(*d, est, n_boot=200, level=0.9, seed=3)
    assert a == b and a["level"] == 0.9 and a["n_boot"] == 200
    for s in ("mmd", "1nna"):
        assert a[s]["lo"] < est[s] < a[s]["hi"] and a[s]["std"] > 0
    wide = bootstrap_intervals(*d, est, n_boot=200, level=0.99, seed=3)
    assert wide["1nna"]["hi"] - wide["1nna"]["lo"] > a["1nna"]["hi"] - a["1nna"]["lo"]


def test_intervals_of_a_saturated_1nna_stay_in_range(rng):
    # 1-NNA is 1 on the full sets, and a few resamples score lower: six generated shapes far from the rest
    # are classified right only while two of them are drawn (1.2% of the resamples miss that). The
    # replicates' 2.5% quantile is then 1 while their mean is below 1, so the re-centred lower end lands
    # above 1 unless it is clipped.
    gen = np.r_[100 + rng.random(24), 0.1 * np.arange(6)]
    ref = -60 - rng.random(30)
    pad = lambda a: np.c_[a, np.zeros((len(a), 2))]  # noqa: E731
    x, y = pad(gen), pad(ref)
    d = (_dist(x, x), _dist(y, y), _dist(x, y))
    est = {"mmd": float(d[2].min(0).mean()), "cov": 1 / 30, "1nna": one_nna(*d)["acc"]}
    assert est["1nna"] == 1.0
    reps = bootstrap_replicates(*d, n_boot=1000, seed=0)["1nna"]
    assert reps.min() < 1.0 and np.quantile(reps, 0.025) == 1.0  # the case described above
    out = bootstrap_intervals(*d, est, n_boot=1000, level=0.95, seed=0)
    for s in ("cov", "1nna"):
        assert 0.0 <= out[s]["lo"] <= out[s]["hi"] <= 1.0
    assert out["1nna"]["lo"] == out["1nna"]["hi"] == 1.0


def test_cli_intervals_in_json_and_table(tmp_path, rng, capsys):
    pts = (rng.standard_normal((12, 32, 3)) * 0.3).astype(np.float32)
    gen = save_samples(tmp_path / "g.npz", SampleFile(points=pts[:6]))
    ref = save_samples(tmp_path / "r.npz", SampleFile(points=pts[6:]))
    out = tmp_path / "r.json"
    argv = ["evaluate", str(gen), str(ref), "--metrics", "cd", "--out", str(out)]
    assert main([*argv, "--bootstrap", "64", "--ci", "0.8", "--seed", "2"]) == 0
    res = json.loads(out.read_text())
    ci = res["metrics"]["cd"]["ci"]
    assert (
        res["intervals"]["n_boot"] == 64
        and res["intervals"]["level"] == 0.8
        and res["intervals"]["seed"] == 2
    )
    assert set(ci) == {"mmd", "cov", "1nna"} and ci["1nna"]["lo"] <= ci["1nna"]["hi"]
    text = capsys.readouterr().out
    lo, hi = 1e3 * ci["mmd"]["lo"], 1e3 * ci["mmd"]["hi"]
    assert f"[{lo:.3f}, {hi:.3f}]" in text and "80% bootstrap intervals" in text
    assert main([*argv, "--bootstrap", "0"]) == 0
    res = json.loads(out.read_text())
    assert "ci" not in res["metrics"]["cd"] and res["intervals"] is None
    assert main([*argv, "--ci", "1.5"]) == 2 and main([*argv, "--bootstrap", "-1"]) == 2


def test_bootstrap_rejects_no_resamples(rng):
    with pytest.raises(ValueError):
        bootstrap_replicates(*_sets(rng, 4, 4), n_boot=0, seed=0)
