"""``evaluate --max-shapes N``: one meaning (at most N shapes per set, in total), and never the train set."""

import json

import numpy as np

from gen3d.cli import main
from gen3d.datasets.cache import ShapeCache
from gen3d.sample_file import SampleFile, save_samples


def _run(argv, out):
    assert main([*argv, "--metrics", "cd", "--no-jsd", "--bootstrap", "0", "--out", str(out)]) == 0
    return json.loads(out.read_text())


def test_max_shapes_is_a_total_for_a_cache_too(tmp_path, make_cache, rng):
    cache = make_cache(per_category=6)
    n_train = len(ShapeCache(cache).entries("train"))
    assert n_train >= 6  # two categories, several shapes each: a per-category cap of 3 would keep 6
    gen = save_samples(
        tmp_path / "g.npz", SampleFile(points=rng.standard_normal((8, 64, 3)).astype(np.float32))
    )
    res = _run(
        ["evaluate", str(gen), str(cache), "--split", "train", "--max-shapes", "3"], tmp_path / "r.json"
    )
    assert res["n_gen"] == 3 and res["n_ref"] == 3
    info = res["inputs"]["reference_cache"]
    assert info["n_shapes"] == 3 and info["max_shapes"] == 3 and "seed 0" in info["selection"]
    # the subset is drawn across categories, seeded: the same seed gives the same shapes
    again = _run(
        ["evaluate", str(gen), str(cache), "--split", "train", "--max-shapes", "3"], tmp_path / "s.json"
    )
    assert again["metrics"]["cd"]["mmd"] == res["metrics"]["cd"]["mmd"]


def test_max_shapes_keeps_the_whole_train_split_for_novelty(tmp_path, make_cache, rng):
    cache = make_cache(per_category=6)
    n_train = len(ShapeCache(cache).entries("train"))
    gen = save_samples(
        tmp_path / "g.npz", SampleFile(points=rng.standard_normal((8, 64, 3)).astype(np.float32))
    )
    argv = ["evaluate", str(gen), str(cache), "--split", "val", "--train", "cache", "--max-shapes", "2"]
    res = _run(argv, tmp_path / "r.json")
    assert res["n_gen"] == 2 and res["novelty"]["n_train"] == n_train > 2
    # a training file is not truncated either
    train = save_samples(
        tmp_path / "t.npz", SampleFile(points=rng.standard_normal((7, 64, 3)).astype(np.float32))
    )
    argv = ["evaluate", str(gen), str(gen), "--train", str(train), "--max-shapes", "4"]
    res = _run(argv, tmp_path / "r.json")
    assert res["n_gen"] == res["n_ref"] == 4 and res["novelty"]["n_train"] == 7


def test_max_shapes_is_documented_as_a_total(capsys):
    import pytest

    with pytest.raises(SystemExit):
        main(["evaluate", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "a total per set, not per category" in text and "--train set is always used whole" in text
