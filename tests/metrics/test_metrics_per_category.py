"""Per-category results for class-conditional sample files, and several sample files (sampling seeds)."""

import json

import numpy as np
import pytest

from gen3d.cli import main
from gen3d.datasets.cache import ShapeCache
from gen3d.sample_file import SampleFile, save_samples


def _score(argv, out):
    assert main([*argv, "--metrics", "cd", "--bootstrap", "30", "--out", str(out)]) == 0
    return json.loads(out.read_text())


def test_each_category_against_the_same_category_of_a_cache(tmp_path, make_cache, rng):
    cache = make_cache(per_category=6)
    c = ShapeCache(cache)
    pts, labels, _ = c.load_points("train")
    noisy = (pts + rng.normal(0, 0.02, pts.shape)).astype(np.float32)
    # labels index the sample file's own class list, in another order than the cache's
    names = ["boxes", "balls"]
    own = np.array([names.index(c.class_names[k]) for k in labels])
    gen = save_samples(tmp_path / "g.npz", SampleFile(points=noisy, labels=own, meta={"class_names": names}))
    res = _score(["evaluate", str(gen), str(cache), "--split", "train"], tmp_path / "r.json")
    per = res["per_category"]
    assert set(per) == {"boxes", "balls"}
    for cat in names:
        # independently: only that category's samples against `--categories cat` of the cache
        mine = save_samples(tmp_path / f"{cat}.npz", SampleFile(points=noisy[own == names.index(cat)]))
        alone = _score(
            ["evaluate", str(mine), str(cache), "--split", "train", "--categories", cat], tmp_path / "a.json"
        )
        assert per[cat]["n_gen"] == alone["n_gen"] and per[cat]["n_ref"] == alone["n_ref"]
        for stat in ("mmd", "cov", "1nna"):
            assert per[cat]["metrics"]["cd"][stat] == pytest.approx(alone["metrics"]["cd"][stat], rel=1e-6)
        assert per[cat]["jsd"]["jsd"] == pytest.approx(alone["jsd"]["jsd"], rel=1e-9)
        assert "ci" in per[cat]["metrics"]["cd"]


def test_a_category_missing_from_the_reference_is_an_error(tmp_path, make_cache, rng, capsys):
    cache = make_cache()
    pts = rng.standard_normal((4, 64, 3)).astype(np.float32)
    gen = save_samples(
        tmp_path / "g.npz",
        SampleFile(points=pts, labels=np.array([0, 0, 1, 1]), meta={"class_names": ["boxes", "cars"]}),
    )
    assert main(["evaluate", str(gen), str(cache), "--split", "train", "--metrics", "cd"]) == 2
    assert "cars" in capsys.readouterr().err


def test_several_sample_files_mean_and_spread(tmp_path, rng, capsys):
    ref = save_samples(
        tmp_path / "ref.npz", SampleFile(points=rng.standard_normal((6, 32, 3)).astype(np.float32))
    )
    files = []
    for k in range(3):
        arr = (rng.standard_normal((6, 32, 3)) * (1 + 0.2 * k)).astype(np.float32)
        files.append(save_samples(tmp_path / f"s{k}.npz", SampleFile(points=arr)))
    singles = [_score(["evaluate", str(f), str(ref)], tmp_path / "one.json") for f in files]
    res = _score(["evaluate", *map(str, files), str(ref)], tmp_path / "all.json")
    assert len(res["per_file"]) == 3 and res["across_files"]["n_files"] == 3
    for stat in ("mmd", "cov", "1nna"):
        values = [s["metrics"]["cd"][stat] for s in singles]
        summary = res["across_files"]["metrics"]["cd"][stat]
        assert summary["values"] == pytest.approx(values)
        assert summary["mean"] == pytest.approx(np.mean(values))
        assert summary["std"] == pytest.approx(np.std(values, ddof=1))
    assert "over 3 sample files" in capsys.readouterr().out
    # files that are not one experiment: an error
    vox = save_samples(tmp_path / "v.npz", SampleFile(voxels=np.ones((2, 1, 4, 4, 4), np.float32)))
    assert main(["evaluate", str(files[0]), str(vox), str(ref), "--metrics", "cd"]) == 2
