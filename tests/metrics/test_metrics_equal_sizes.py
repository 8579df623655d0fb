"""1-NNA on equal-size sets (the larger set subsampled, seeded, recorded, or refused) and its chance level."""

import itertools
import json

import numpy as np
import pytest

from gen3d.cli import main
from gen3d.metrics.protocol import one_nna, one_nna_chance
from gen3d.sample_file import SampleFile, save_samples


def test_chance_level_is_the_mean_over_all_labelings(rng):
    # with the distances fixed, 1-NNA averaged over every way to label G of the G+R shapes "generated" is the
    # expected accuracy of two sets from one distribution: the closed form must match it exactly
    for g, r in ((3, 4), (2, 5), (4, 4)):
        n = g + r
        pts = rng.standard_normal((n, 2))
        d = np.sqrt(((pts[:, None] - pts[None]) ** 2).sum(-1))
        accs = []
        for gen in itertools.combinations(range(n), g):
            ref = [i for i in range(n) if i not in gen]
            accs.append(one_nna(d[np.ix_(gen, gen)], d[np.ix_(ref, ref)], d[np.ix_(gen, ref)])["acc"])
        assert np.mean(accs) == pytest.approx(one_nna_chance(g, r), abs=1e-12)
    assert one_nna_chance(8, 8) == pytest.approx(7 / 15)  # the 46.7% of 1-NNA averaged over batches of 8


def _clouds(rng, s):
    return SampleFile(points=(rng.standard_normal((s, 32, 3)) * 0.3).astype(np.float32))


def test_unequal_sets_are_subsampled_to_equal_size(tmp_path, rng):
    gen = save_samples(tmp_path / "g.npz", _clouds(rng, 9))
    ref = save_samples(tmp_path / "r.npz", _clouds(rng, 5))
    out = tmp_path / "r.json"
    argv = ["evaluate", str(gen), str(ref), "--metrics", "cd", "--bootstrap", "0", "--out", str(out)]
    assert main(argv) == 0
    res = json.loads(out.read_text())
    eq = res["equal_sizes"]
    assert res["n_gen"] == 9 and res["n_ref"] == 5 and res["n_scored"] == [5, 5]
    assert eq["subsampled"] == "gen" and eq["seed"] == 0 and len(set(eq["kept_indices"])) == 5
    cd = res["metrics"]["cd"]
    assert cd["1nna_chance"] == pytest.approx(4 / 9)  # (n - 1) / (2n - 1) for 5 vs 5
    # the number is the protocol on exactly the recorded subset (scored independently from a file of it)
    sub = save_samples(tmp_path / "sub.npz", SampleFile(points=np.load(gen)["points"][eq["kept_indices"]]))
    assert (
        main(["evaluate", str(sub), str(ref), "--metrics", "cd", "--bootstrap", "0", "--out", str(out)]) == 0
    )
    same = json.loads(out.read_text())["metrics"]["cd"]
    assert same["1nna"] == cd["1nna"] and same["mmd"] == cd["mmd"] and same["cov"] == cd["cov"]
    # another seed, another subset
    assert main([*argv, "--seed", "3"]) == 0
    assert json.loads(out.read_text())["equal_sizes"]["kept_indices"] != eq["kept_indices"]


def test_unequal_sets_can_be_refused(tmp_path, rng, capsys):
    gen = save_samples(tmp_path / "g.npz", _clouds(rng, 6))
    ref = save_samples(tmp_path / "r.npz", _clouds(rng, 4))
    assert main(["evaluate", str(gen), str(ref), "--metrics", "cd", "--unequal", "refuse"]) == 2
    assert "equal sizes" in capsys.readouterr().err
    assert (
        main(["evaluate", str(gen), str(gen), "--metrics", "cd", "--unequal", "refuse", "--bootstrap", "0"])
        == 0
    )
