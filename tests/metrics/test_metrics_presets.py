"""``evaluate --protocol``: one flag fixes normalisation, points, split, metrics and JSD binning, records
them, prints the papers' units; conflicting flags are refused."""

import json

import numpy as np
import pytest

from gen3d.cli import main
from gen3d.commands import evaluate as cmd
from gen3d.datasets.cache import ShapeCache
from gen3d.metrics import chamfer_pairwise
from gen3d.metrics.evaluation import PAIRS
from gen3d.metrics.jsd import JSD_MODES
from gen3d.metrics.presets import PROTOCOLS
from gen3d.metrics.subsets import UNEQUAL_POLICIES
from gen3d.sample_file import SampleFile, save_samples


def test_cli_choices_are_the_modules_names():
    assert set(cmd.PROTOCOL_CHOICES) == set(PROTOCOLS)
    assert set(cmd.JSD_MODE_CHOICES) == set(JSD_MODES)
    assert set(cmd.UNEQUAL_CHOICES) == set(UNEQUAL_POLICIES)
    assert set(cmd.PAIRS_CHOICES) == set(PAIRS)


@pytest.fixture
def global_cache(make_cache):
    return make_cache(normalize="global", n_points=2048, per_category=6)


def _val_shapes(cache):
    """The cache's val shapes (the presets' reference split) as 'generated' samples in its normalised units
    (as `gen3d sample` writes them)."""
    c = ShapeCache(cache)
    pts, labels, ids = c.load_points("val")
    assert len(pts) >= 2
    return c, pts, ids


def test_pointflow_scores_raw_units_in_the_papers_units(tmp_path, global_cache, capsys):
    c, pts, _ = _val_shapes(global_cache)
    gen = save_samples(tmp_path / "g.npz", SampleFile(points=pts, meta={"denormalized": False}))
    out = tmp_path / "r.json"
    argv = ["evaluate", str(gen), str(global_cache), "--protocol", "pointflow"]
    assert main([*argv, "--bootstrap", "20", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    res = json.loads(out.read_text())
    p = res["protocol"]
    assert p["name"] == "pointflow" and p["normalize"] == "none" and p["points"] == 2048
    assert res["options"]["jsd_mode"] == "pointflow" and res["jsd"]["mode"] == "pointflow"
    assert res["normalization"]["kind"] == "none" and set(res["metrics"]) == {"cd", "emd"}
    assert res["n_points"] == [2048, 2048]
    # raw units: the normalised samples were mapped back with the cache's global map, as was the reference;
    # MMD-CD against an independent computation on raw points
    raw = c.denormalize(pts)
    d = chamfer_pairwise(raw, raw)
    assert res["metrics"]["cd"]["mmd"] == pytest.approx(d.min(0).mean(), abs=1e-9)  # a set against itself
    other, _, _ = c.load_points("train")
    gen2 = save_samples(tmp_path / "g2.npz", SampleFile(points=other, meta={"denormalized": False}))
    assert main(["evaluate", str(gen2), str(global_cache), "--protocol", "pointflow",
                 "--bootstrap", "0", "--out", str(out)]) == 0  # fmt: skip
    res = json.loads(out.read_text())
    d_gr = chamfer_pairwise(c.denormalize(other), raw)
    n = min(len(other), len(raw))
    assert res["n_scored"] == [n, n]
    kept = np.asarray(res["equal_sizes"].get("kept_indices", np.arange(n)))
    gi = kept if res["equal_sizes"]["subsampled"] == "gen" else np.arange(n)
    ri = kept if res["equal_sizes"]["subsampled"] == "ref" else np.arange(len(raw))
    assert res["metrics"]["cd"]["mmd"] == pytest.approx(d_gr[np.ix_(gi, ri)].min(0).mean(), rel=1e-6)
    # printed in the papers' units: MMD-CD x10^3, COV and 1-NNA in %, with the EMD caveat
    text = capsys.readouterr().out
    cd = res["metrics"]["cd"]
    assert "CD x10^3" in text and "EMD x10^2" in text
    assert f"{1e3 * cd['mmd']:.3f}" in text and f"{100 * cd['1nna']:.2f}" in text
    assert "near-exact" in text and "over-estimates" in text
    assert "de-normalised here with the cache's global mean/std" in text


def test_shapegf_bbox_normalises_each_shape(tmp_path, global_cache):
    _, pts, _ = _val_shapes(global_cache)
    gen = save_samples(tmp_path / "g.npz", SampleFile(points=pts * 3.0 + 1.0))  # scale and shift: removed
    out = tmp_path / "r.json"
    argv = ["evaluate", str(gen), str(global_cache), "--protocol", "shapegf_bbox"]
    assert main([*argv, "--bootstrap", "0", "--out", str(out)]) == 0
    res = json.loads(out.read_text())
    assert res["protocol"]["name"] == "shapegf_bbox" and res["normalization"]["kind"] == "bbox"
    assert res["metrics"]["cd"]["mmd"] == pytest.approx(0.0, abs=1e-9) and res["metrics"]["cd"]["cov"] == 1.0


def test_conflicting_flags_are_refused(tmp_path, global_cache, capsys):
    _, pts, _ = _val_shapes(global_cache)
    gen = save_samples(tmp_path / "g.npz", SampleFile(points=pts))
    base = ["evaluate", str(gen), str(global_cache), "--protocol", "pointflow"]
    for extra in (["--normalize", "bbox"], ["--metrics", "cd"], ["--jsd-mode", "cells"], ["--points", "1024"],
                  ["--no-jsd"], ["--split", "test"]):  # fmt: skip
        assert main([*base, *extra]) == 2
        err = capsys.readouterr().err
        assert "--protocol pointflow fixes" in err and extra[0] in err
    # values that agree with the preset are accepted
    out = tmp_path / "r.json"
    agree = ["--normalize", "none", "--metrics", "emd,cd", "--split", "val", "--bootstrap", "0"]
    assert main([*base, *agree, "--out", str(out)]) == 0


def test_pointflow_refuses_units_it_cannot_undo(tmp_path, make_cache, capsys):
    bbox_cache = make_cache(normalize="bbox", n_points=2048, name="bbox")
    pts, _, _ = ShapeCache(bbox_cache).load_points("val")
    gen = save_samples(tmp_path / "g.npz", SampleFile(points=pts, meta={"denormalized": False}))
    assert main(["evaluate", str(gen), str(bbox_cache), "--protocol", "pointflow"]) == 2
    assert "normalised per shape" in capsys.readouterr().err
    # two sample files, the samples recorded as normalised: refused too
    assert main(["evaluate", str(gen), str(gen), "--protocol", "pointflow"]) == 2
    # points per shape: the preset's 2048, and a file with fewer is an error
    few = save_samples(tmp_path / "few.npz", SampleFile(points=pts[:, :100]))
    assert (
        main(["evaluate", str(few), str(bbox_cache), "--protocol", "shapegf_bbox", "--split", "train"]) == 2
    )


def test_pointflow_on_two_sample_files_prints_units_and_intervals(tmp_path, rng, capsys):
    def shapes(s, scale):
        return SampleFile(points=(rng.standard_normal((s, 2048, 3)) * scale).astype(np.float32))

    gen = save_samples(tmp_path / "g.npz", shapes(5, 0.3))
    ref = save_samples(tmp_path / "r.npz", shapes(5, 0.25))
    out = tmp_path / "r.json"
    argv = ["evaluate", str(gen), str(ref), "--protocol", "pointflow", "--bootstrap", "50", "--out", str(out)]
    assert main(argv) == 0
    text = capsys.readouterr().out
    res = json.loads(out.read_text())
    for name, factor in (("cd", 1e3), ("emd", 1e2)):
        r = res["metrics"][name]
        ci = r["ci"]["mmd"]
        assert f"{factor * r['mmd']:.3f} [{factor * ci['lo']:.3f}, {factor * ci['hi']:.3f}]" in text
        assert f"{100 * r['1nna']:.2f} [{100 * r['ci']['1nna']['lo']:.2f}" in text
    assert "JSD (PointFlow binning) x10^2" in text and "protocol pointflow" in text
    assert "units not recorded" in text and res["inputs"]["units"].startswith("units not recorded")
