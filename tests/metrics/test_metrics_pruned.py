"""``pairs="pruned"`` (the default) and ``pairs="all"`` give identical evaluations, through the Python API and
the CLI, on sets with exact copies, near-ties, per-category subsets, unequal sizes and bootstrap intervals;
the auction's early stop leaves every value it does not stop bit-identical."""

import json

import numpy as np
import pytest

from gen3d.cli import main
from gen3d.metrics.emd import auction_pairs, emd_exact
from gen3d.metrics.evaluation import evaluate_point_sets
from gen3d.sample_file import SampleFile, save_samples

N_POINTS = 300  # above EMD_EXACT_MAX_POINTS: the auction (and its early stop) is what runs


def _shapes(rng, n, k=N_POINTS):
    u = rng.standard_normal((n, k, 3))
    u /= np.linalg.norm(u, axis=2, keepdims=True)
    return (u * rng.uniform(0.3, 1.0, (n, 1, 3)) + rng.normal(0, 0.05, (n, 1, 3))).astype(np.float32)


@pytest.fixture
def sets(rng):
    ref = _shapes(rng, 14)
    gen = _shapes(rng, 17)
    gen[0] = ref[3]  # an exact copy: distance 0, ties in 1-NNA
    gen[1] = ref[5][rng.permutation(N_POINTS)] + rng.normal(0, 1e-4, (N_POINTS, 3)).astype(np.float32)
    gen[2] = gen[1]  # two identical generated shapes
    groups_g = ["a" if i % 3 else "b" for i in range(len(gen))]
    groups_r = ["a" if i % 3 else "b" for i in range(len(ref))]
    return gen, ref, groups_g, groups_r


def _comparable(res: dict) -> dict:
    res = json.loads(json.dumps(res))
    res.pop("timings_s")
    for m in res["metrics"].values():
        m.pop("search")
        m.pop("emd_max_rel_gap", None)
    return res


def test_pruned_equals_all_pairs(sets):
    gen, ref, gg, rg = sets
    kw = dict(n_boot=60, seed=3, gen_groups=gg, ref_groups=rg, normalize="bbox")
    full = evaluate_point_sets(gen, ref, pairs="all", **kw)
    pruned = evaluate_point_sets(gen, ref, pairs="pruned", **kw)
    assert _comparable(pruned) == _comparable(full)
    for name in ("cd", "emd"):
        sr = pruned["metrics"][name]["search"]
        assert (
            sr["pairs"] == "pruned"
            and sr["pairs_solved"] + sr["pairs_decided_by_bounds"] == sr["pairs_total"]
        )
        assert sr["pairs_total"] == (17 + 14) * (17 + 14 - 1) // 2
    assert (
        pruned["metrics"]["cd"]["search"]["pairs_solved"] < pruned["metrics"]["cd"]["search"]["pairs_total"]
    )
    assert pruned["metrics"]["emd"]["emd_max_rel_gap"] <= 0.01


def test_unequal_point_counts_fall_back_to_all_pairs(rng):
    gen, ref = _shapes(rng, 6, 40), _shapes(rng, 5, 50)
    res = evaluate_point_sets(gen, ref, metrics=("cd",), pairs="pruned")
    assert (
        res["metrics"]["cd"]["search"]["pairs"] == "all"
        and "unequal" in res["metrics"]["cd"]["search"]["why"]
    )
    assert _comparable(res) == _comparable(evaluate_point_sets(gen, ref, metrics=("cd",), pairs="all"))


def test_auction_early_stop(rng):
    x = _shapes(rng, 6)
    xs = np.ascontiguousarray(x.transpose(0, 2, 1))
    ia, ib = np.array([0, 1, 2, 3]), np.array([1, 2, 3, 4])
    full = auction_pairs(xs, xs, ia, ib, tol=0.01)
    same = auction_pairs(xs, xs, ia, ib, tol=0.01, stop_above=np.full(4, np.inf))
    assert np.array_equal(full, same)
    exact = np.array([emd_exact(x[i], x[j]) for i, j in zip(ia, ib)])
    stop = np.array([0.5, 0.9, 1.2, 10.0]) * exact  # pairs 0 and 1 are farther than their threshold
    res = auction_pairs(xs, xs, ia, ib, tol=0.01, stop_above=stop)
    stopped = np.isnan(res[:, 0])
    assert stopped[:2].all() and not stopped[3]
    assert (res[stopped, 1] > stop[stopped]).all() and (res[stopped, 1] <= exact[stopped] * (1 + 1e-6)).all()
    assert np.array_equal(res[~stopped], full[~stopped])  # a pair not stopped is the full solve, bit for bit


def test_cli_pairs_option(sets, tmp_path, capsys):
    gen, ref, _, _ = sets
    g = save_samples(tmp_path / "g.npz", SampleFile(points=gen))
    r = save_samples(tmp_path / "r.npz", SampleFile(points=ref))
    outs = {}
    for pairs in ("pruned", "all"):
        out = tmp_path / f"{pairs}.json"
        argv = ["evaluate", str(g), str(r), "--bootstrap", "40", "--pairs", pairs, "--out", str(out)]
        assert main(argv) == 0
        outs[pairs] = json.loads(out.read_text())
    printed = capsys.readouterr().out
    assert "pairs computed" in printed and "identical to all pairs" in printed
    assert outs["pruned"]["metrics"]["emd"]["search"]["pairs"] == "pruned"
    assert outs["all"]["metrics"]["emd"]["search"]["pairs"] == "all"
    assert outs["pruned"]["options"]["pairs"] == "pruned" and outs["all"]["options"]["pairs"] == "all"
    a, b = (
        _comparable({k: v for k, v in o.items() if k != "options"}) for o in (outs["all"], outs["pruned"])
    )
    assert a == b


def test_cli_refuses_unknown_pairs_mode(sets, tmp_path):
    gen, ref, _, _ = sets
    g = save_samples(tmp_path / "g.npz", SampleFile(points=gen))
    with pytest.raises(SystemExit):
        main(["evaluate", str(g), str(g), "--pairs", "some"])


@pytest.mark.parametrize("pairs", ["pruned", "all"])
def test_nan_or_empty_clouds_are_refused_in_both_modes(rng, pairs):
    from gen3d.errors import UserInputError

    gen, ref = _shapes(rng, 5, 40), _shapes(rng, 5, 40)
    gen[1, 3, 0] = np.nan
    with pytest.raises(UserInputError, match="NaN"):
        evaluate_point_sets(gen, ref, metrics=("cd",), pairs=pairs)
    with pytest.raises(UserInputError, match="empty"):
        evaluate_point_sets(ref[:, :0], ref[:, :0], metrics=("cd",), pairs=pairs)
