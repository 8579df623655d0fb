"""The completion path through the CLI: gen3d prepare --partial-views, gen3d complete, gen3d evaluate --task
completion; every option of gen3d complete and the partial-view options of gen3d prepare."""

from __future__ import annotations

import json

import numpy as np
import pytest

from gen3d.cli import main


def test_prepare_stores_partial_views_in_each_shapes_frame(mesh_cache, capsys):
    from gen3d.datasets.cache import ShapeCache

    report = json.loads((mesh_cache / "report.json").read_text())
    assert report["partial_views"] == {"stored": 18, "skipped": 0, "reasons": {}}
    cache = ShapeCache(mesh_cache)
    assert cache.params["partial_views"] == 3 and cache.params["partial_points"] == 40
    for split in cache.splits:
        views = cache.load_partials(split, view=2)
        for key, pts, cam in zip(views.keys, views.partials, views.cameras):
            assert pts.shape == (40, 3)
            centre = np.asarray(cam["center"])
            if key.startswith("sphere"):  # unit sphere frame: the scan lies on the sphere, on the near side
                np.testing.assert_allclose(np.linalg.norm(pts, axis=1), 1.0, atol=0.02)
                assert (pts @ centre / np.linalg.norm(centre)).min() > 1 / np.linalg.norm(centre) - 0.05
                assert np.linalg.norm(centre) == pytest.approx(2.5, rel=1e-6)  # 2.5 bounding radii
    assert main(["prepare", "folder", str(mesh_cache.parent), "--out", str(mesh_cache), "--points", "64",
                 "--normalize", "unit_sphere", "--partial-views", "3", "--partial-points", "40",
                 "--partial-noise", "0.001", "--partial-dropout", "0.2", "--workers", "1",
                 "--no-progress"]) == 0  # fmt: skip
    assert "up to date" in capsys.readouterr().out


def test_prepare_counts_degenerate_views_of_point_files(tmp_path, capsys):
    """A point file whose points lie on a line has no visible hull: its views are skipped and counted."""
    from gen3d.datasets.pointfiles import write_pcd

    (tmp_path / "pts" / "a").mkdir(parents=True)
    line = np.column_stack([np.linspace(0, 1, 40), np.zeros(40), np.zeros(40)])
    write_pcd(tmp_path / "pts" / "a" / "line.pcd", line)
    ball = np.random.default_rng(0).standard_normal((200, 3))
    write_pcd(tmp_path / "pts" / "a" / "ball.pcd", ball / np.linalg.norm(ball, axis=1, keepdims=True))
    args = ["prepare", "points", str(tmp_path / "pts"), "--out", str(tmp_path / "c"), "--points", "32"]
    assert main([*args, "--partial-views", "2", "--workers", "1", "--no-progress"]) == 0
    assert (
        "partial views: 2 stored, 2 degenerate ones skipped (nothing visible: 2)" in capsys.readouterr().out
    )
    assert main([*args, "--partial-views", "-1"]) == 2
    assert main([*args, "--partial-points", "8", "--partial-views", "1"]) == 2


def test_prepare_without_views_keeps_the_parameter_key():
    from gen3d.datasets.prepare import PrepareParams

    d = PrepareParams("folder", "/x").to_dict()
    assert not any(k.startswith("partial") for k in d)
    assert "partial_views" in PrepareParams("folder", "/x", partial_views=2).to_dict()


def _complete(tiny_ckpt, out, *extra) -> int:
    return main(["complete", "--ckpt", str(tiny_ckpt), "--out", str(out), "--device", "cpu", *extra])


def test_complete_files_keeps_the_partial_and_records_frames(tiny_ckpt, tmp_path, capsys):
    """A 16-point model; two raw scans (npy, xyz) in metres far from the origin. With every point observed
    (a complete shape given as its own partial), the completion is the input itself."""
    from gen3d.completion.completion_file import load_completions

    rng = np.random.default_rng(0)
    a = rng.standard_normal((16, 3)) * 3 + 10
    b = rng.standard_normal((30, 3)) + np.array([0.0, -5.0, 2.0])
    np.save(tmp_path / "a.npy", a)
    np.savetxt(tmp_path / "b.xyz", b)
    files = [str(tmp_path / "a.npy"), str(tmp_path / "b.xyz")]
    out = tmp_path / "c.npz"
    flags = ["--n", "3", "--seed", "5", "--steps", "3", "--normalize", "unit_sphere", "--observed", "16"]
    flags += ["--frame", "refine", "--frame-iterations", "1"]
    assert _complete(tiny_ckpt, out, *files, *flags, "--batch-size", "2") == 0
    assert "2 inputs x 3 completions of 16 points" in capsys.readouterr().out
    c = load_completions(out)
    assert c.completions.shape == (2, 3, 16, 3) and c.seeds.tolist() == [[5, 6, 7], [8, 9, 10]]
    np.testing.assert_allclose(c.completions[0], np.broadcast_to(a, (3, 16, 3)), atol=1e-4)
    np.testing.assert_allclose(c.partials[1], b, atol=1e-5)
    for comp in c.completions[1]:  # all 16 slots observed: 16 distinct points of b, in b's order
        d = np.linalg.norm(comp[:, None] - b[None], axis=2)
        idx = d.argmin(axis=1)
        assert d.min(axis=1).max() < 1e-4 and len(set(idx)) == 16 and (np.diff(idx) > 0).all()
    assert c.meta["frame_mode"] == "refine" and c.meta["frame_iterations"] == 1 and c.meta["units"] == "input"
    assert len(c.meta["frames"]) == 2 and c.meta["normalization"] == "unit_sphere"
    again = tmp_path / "again.npz"
    assert _complete(tiny_ckpt, again, *files, *flags) == 0
    np.testing.assert_array_equal(load_completions(again).completions, c.completions)


def test_complete_generates_free_slots_deterministically_per_seed(tiny_ckpt, tmp_path):
    from gen3d.completion.completion_file import load_completions

    np.save(tmp_path / "p.npy", np.random.default_rng(1).standard_normal((40, 3)))
    base = [str(tmp_path / "p.npy"), "--steps", "2", "--normalize", "unit_sphere"]  # files: frame partial
    assert _complete(tiny_ckpt, tmp_path / "1.npz", *base, "--n", "2", "--observed", "4") == 0
    assert _complete(tiny_ckpt, tmp_path / "2.npz", *base, "--n", "1", "--observed", "4", "--seed", "1") == 0
    one, two = load_completions(tmp_path / "1.npz"), load_completions(tmp_path / "2.npz")
    assert (
        (one.observed == 4).all()
        and one.meta["frame_mode"] == "partial"
        and one.meta["frame_iterations"] == 0
    )
    np.testing.assert_allclose(one.completions[0, 1], two.completions[0, 0], atol=3e-4)  # seed 1 twice
    assert not np.allclose(one.completions[0, 0], one.completions[0, 1])
    assert _complete(tiny_ckpt, tmp_path / "3.npz", *base, "--points", "8", "--sampler", "euler") == 0
    three = load_completions(tmp_path / "3.npz")
    assert three.completions.shape[2] == 8 and three.meta["sampler"] == "euler"
    from gen3d.sample_file import load_samples

    assert (
        _complete(tiny_ckpt, tmp_path / "4.npz", *base, "--n", "2", "--sample-file", str(tmp_path / "s.npz"))
        == 0
    )
    sf = load_samples(tmp_path / "s.npz")  # what gen3d render / view / export read
    np.testing.assert_array_equal(
        sf.points, load_completions(tmp_path / "4.npz").completions.reshape(2, 16, 3)
    )
    assert sf.seeds.tolist() == [0, 1] and sf.meta["completions_per_input"] == 2
    assert three.meta["nfe"] == 2 and three.meta["n_observed"] == 4 and (three.observed == 4).all()  # half


def test_complete_a_cache_split_and_evaluate_it(tiny_ckpt, mesh_cache, tmp_path, capsys):
    out = tmp_path / "cache_completions.npz"
    flags = ["--split", "train", "--view", "1", "--max-shapes", "1", "--categories", "sphere", "--n", "2"]
    assert _complete(tiny_ckpt, out, str(mesh_cache), *flags, "--steps", "2") == 0
    from gen3d.completion.completion_file import load_completions

    c = load_completions(out)
    assert c.num_inputs == 1 and c.meta["units"] == "cache" and c.meta["frame_mode"] == "given"
    assert c.meta["inputs"][0]["key"].startswith("sphere/") and c.meta["inputs"][0]["view"] == 1
    assert c.truth.shape == (1, 64, 3)
    capsys.readouterr()
    res = tmp_path / "res.json"
    assert main(["evaluate", "--task", "completion", str(out), str(mesh_cache), "--out", str(res),
                 "--emd-tol", "0.05", "--seed", "1"]) == 0  # fmt: skip
    printed = capsys.readouterr().out
    assert "completion: 1 inputs x 2 completions of 16 points" in printed and "EMD" in printed
    r = json.loads(res.read_text())
    assert r["options"] == {"metrics": ["cd", "emd"], "emd_tol": 0.05, "seed": 1} and r["emd_points"] == 16
    from gen3d.metrics import chamfer_distance

    want = np.mean([chamfer_distance(x, c.truth[0]) for x in c.completions[0]])
    assert r["cd"]["mean_of_k"] == pytest.approx(want, rel=1e-5)
    assert main(["evaluate", "--task", "completion", str(out), str(out), "--metrics", "cd"]) == 0
    assert "EMD" not in capsys.readouterr().out
    np.save(tmp_path / "truth.npy", c.truth)
    assert main(["evaluate", "--task", "completion", str(out), str(tmp_path / "truth.npy")]) == 0
    assert (
        main(["evaluate", "--task", "completion", str(out), str(mesh_cache), "--protocol", "pointflow"]) == 2
    )
    assert _complete(tiny_ckpt, tmp_path / "x.npz", str(mesh_cache), "--split", "train", "--view", "7") == 2


def test_complete_refuses_bad_input(tiny_ckpt, tmp_path, capsys):
    np.save(tmp_path / "few.npy", np.zeros((2, 3)))
    np.save(tmp_path / "ok.npy", np.random.default_rng(0).standard_normal((20, 3)))
    ok = str(tmp_path / "ok.npy")
    assert _complete(tiny_ckpt, tmp_path / "o.npz", str(tmp_path / "few.npy"), "--normalize", "bbox") == 2
    assert "fewer than" in capsys.readouterr().err
    assert _complete(tiny_ckpt, tmp_path / "o.npz", ok) == 2  # no training cache here: normalisation unknown
    assert "--normalize" in capsys.readouterr().err
    assert _complete(tiny_ckpt, tmp_path / "o.npz", ok, "--normalize", "bbox", "--observed", "17") == 2
    assert _complete(tiny_ckpt, tmp_path / "o.npz", ok, "--normalize", "bbox", "--n", "0") == 2
    assert _complete(tiny_ckpt, tmp_path / "o.npz", ok, "--frame", "given", "--sampler", "nope") == 2
    assert _complete(tiny_ckpt, tmp_path / "o.npz", ok, "--frame", "given", "--class", "chair") == 2
    assert not (tmp_path / "o.npz").exists()


def test_frame_choices_match_the_library():
    from gen3d.commands.complete import FRAME_CHOICES
    from gen3d.completion.frame import FRAME_MODES

    assert FRAME_CHOICES == FRAME_MODES


def test_complete_with_a_class_conditional_model(tmp_path, capsys):
    """A class-conditional model completes with its null class by default and with --class when given."""
    import torch

    from gen3d.completion.completion_file import load_completions
    from gen3d.config import load_config
    from gen3d.training.components import build_module

    torch.manual_seed(0)
    sets = ["experiment.class_cond=true", "experiment.class_names=[chair,table]", "data.n_points=16"]
    module, _ = build_module(load_config("demo_points", [*sets, "net.size=tiny"]))
    for key, value in module.ema.shadow.items():  # untrained: zero output layer and class table; perturb
        if value.is_floating_point():
            value.add_(torch.randn_like(value) if "class_emb" in key else 0.01)
    ckpt = {"state_dict": module.state_dict(), "global_step": 0}
    module.on_save_checkpoint(ckpt)
    torch.save(ckpt, tmp_path / "cls.ckpt")
    np.save(tmp_path / "p.npy", np.random.default_rng(0).standard_normal((20, 3)))
    base = [str(tmp_path / "p.npy"), "--normalize", "bbox", "--steps", "2", "--n", "2"]
    outs = {}
    for name, extra in (("null", []), ("table", ["--class", "table"]), ("one", ["--class", "1"])):
        outs[name] = tmp_path / f"{name}.npz"
        assert _complete(tmp_path / "cls.ckpt", outs[name], *base, *extra) == 0
    got = {k: load_completions(v) for k, v in outs.items()}
    assert got["null"].meta["label"] is None and got["table"].meta["label"] == 1
    np.testing.assert_array_equal(got["table"].completions, got["one"].completions)
    assert not np.allclose(got["null"].completions, got["table"].completions)
    assert _complete(tmp_path / "cls.ckpt", tmp_path / "x.npz", *base, "--class", "sofa") == 2
    assert "classes: ['chair', 'table']" in capsys.readouterr().err
