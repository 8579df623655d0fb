import json

import numpy as np
import pytest

from gen3d.cli import main
from gen3d.sample_file import SampleFile, save_samples


@pytest.fixture
def files(tmp_path, rng):
    def clouds(s, shift=0.0):
        return (rng.standard_normal((s, 64, 3)) * 0.3 + shift).astype(np.float32)

    paths = {}
    for name, arr in [("gen", clouds(5)), ("ref", clouds(4)), ("train", clouds(6)), ("far", clouds(4, 5.0))]:
        paths[name] = save_samples(tmp_path / f"{name}.npz", SampleFile(points=arr))
    vox = (rng.random((3, 1, 8, 8, 8)) > 0.6).astype(np.float32)
    paths["vox"] = save_samples(tmp_path / "vox.npz", SampleFile(voxels=vox))
    return paths


def test_points_json_table_and_plot(files, tmp_path, capsys):
    out = tmp_path / "r.json"
    rc = main(
        [
            "evaluate",
            str(files["gen"]),
            str(files["ref"]),
            "--normalize",
            "bbox",
            "--train",
            str(files["train"]),
            "--out",
            str(out),
            "--emd-tol",
            "0.005",
        ]
    )
    assert rc == 0
    res = json.loads(out.read_text())
    assert res["n_gen"] == 5 and res["n_ref"] == 4 and res["normalization"]["kind"] == "bbox"
    assert set(res["metrics"]) == {"cd", "emd"} and res["metrics"]["emd"]["emd_tol"] == 0.005
    assert 0 <= res["metrics"]["cd"]["1nna"] <= 1 and "jsd" in res and "novelty" in res
    assert res["version"] and res["timings_s"]["cd"] >= 0
    assert "1-NNA" in capsys.readouterr().out


def test_plot_histogram(files, tmp_path):
    png = tmp_path / "h.png"
    assert (
        main(
            [
                "evaluate",
                str(files["gen"]),
                str(files["ref"]),
                "--train",
                str(files["train"]),
                "--plot",
                str(png),
            ]
        )
        == 0
    )
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 1000


def test_disjoint_reference_and_max_shapes(files, tmp_path):
    out = tmp_path / "r.json"
    assert (
        main(
            [
                "evaluate",
                str(files["gen"]),
                str(files["far"]),
                "--metrics",
                "cd",
                "--max-shapes",
                "3",
                "--no-jsd",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    res = json.loads(out.read_text())
    assert res["n_gen"] == 3 and res["metrics"]["cd"]["1nna"] == 1.0 and "jsd" not in res


def test_voxels_and_voxels_against_points(files, tmp_path):
    out = tmp_path / "v.json"
    assert main(["evaluate", str(files["vox"]), str(files["vox"]), "--out", str(out)]) == 0
    res = json.loads(out.read_text())
    assert res["kind"] == "voxels" and res["metrics"]["iou"]["cov"] == 1.0
    assert main(["evaluate", str(files["vox"]), str(files["ref"]), "--metrics", "cd", "--out", str(out)]) == 0
    assert json.loads(out.read_text())["converted_from_voxels"] == ["gen"]
    # point-set options are refused for grid-vs-grid scoring instead of being ignored
    vv = ["evaluate", str(files["vox"]), str(files["vox"])]
    assert main([*vv, "--normalize", "bbox"]) == 2
    assert main([*vv, "--train", str(files["train"])]) == 2


def test_user_errors(files, tmp_path, capsys):
    assert main(["evaluate", str(files["gen"]), str(tmp_path / "missing.npz")]) == 2
    assert main(["evaluate", str(files["gen"]), str(files["ref"]), "--metrics", "cd,foo"]) == 2
    assert main(["evaluate", str(files["gen"]), str(files["ref"]), "--max-shapes", "0"]) == 2
    err = capsys.readouterr().err
    assert "gen3d evaluate: error:" in err and "foo" in err


def test_reference_from_a_prepared_cache(files, tmp_path):
    import trimesh

    from gen3d.datasets.cache import ShapeCache
    from gen3d.datasets.prepare import prepare

    root = tmp_path / "meshes"
    for cat in ("boxes", "balls"):
        (root / cat).mkdir(parents=True)
        for i in range(4):
            if cat == "boxes":
                m = trimesh.creation.box(extents=(1 + 0.2 * i, 0.5, 1))
            else:
                m = trimesh.creation.icosphere(1, radius=1 + 0.1 * i)
            m.export(root / cat / f"{cat}{i}.obj")
    cache = tmp_path / "cache"
    prepare("folder", root, cache, n_points=64, progress=False)
    out = tmp_path / "c.json"
    n_boxes = len(ShapeCache(cache).load_points("train", categories=["boxes"])[0])
    argv = ["evaluate", str(files["gen"]), str(cache), "--split", "train", "--categories", "boxes"]
    assert main([*argv, "--metrics", "cd", "--out", str(out)]) == 0
    res = json.loads(out.read_text())
    assert res["n_ref"] == n_boxes >= 1
    info = res["inputs"]["reference_cache"]
    assert info["split"] == "train" and info["categories"] == ["boxes"] and "kind" in info["normalization"]
    # held-out split as reference, the cache's train split for the novelty score
    n_val = len(ShapeCache(cache).load_points("val")[0])
    argv = [
        "evaluate",
        str(files["gen"]),
        str(cache),
        "--split",
        "val",
        "--train",
        "cache",
        "--out",
        str(out),
    ]
    assert main([*argv, "--metrics", "cd"]) == 0
    res = json.loads(out.read_text())
    assert res["n_ref"] == n_val and res["novelty"]["n_train"] == len(
        ShapeCache(cache).load_points("train")[0]
    )
    # fewer generated points than the cache holds: the reference is subsampled to the same count (recorded)
    few = save_samples(
        tmp_path / "few.npz", SampleFile(points=np.asarray(np.load(files["gen"])["points"][:, :32]))
    )
    assert (
        main(["evaluate", str(few), str(cache), "--split", "val", "--metrics", "cd", "--out", str(out)]) == 0
    )
    res = json.loads(out.read_text())
    assert res["n_points"] == [32, 32] and res["inputs"]["reference_cache"]["points_per_shape"] == 32
    # more generated points than the cache holds: a clear error, no resampling up
    many = save_samples(tmp_path / "many.npz", SampleFile(points=np.zeros((2, 128, 3), np.float32)))
    assert main(["evaluate", str(many), str(cache), "--split", "val", "--metrics", "cd"]) == 2


@pytest.mark.parametrize("cache_norm", ["global", "bbox"])
def test_denormalized_samples_are_scored_in_raw_units_against_a_cache(tmp_path, cache_norm):
    # `gen3d sample --denormalize` writes raw units (meta "denormalized"); the cache holds normalised points,
    # so the reference must be brought to raw units too, else every distance mixes two unit systems
    import trimesh

    from gen3d.datasets.cache import ShapeCache
    from gen3d.datasets.prepare import prepare

    root = tmp_path / "meshes" / "boxes"
    root.mkdir(parents=True)
    for i in range(6):
        trimesh.creation.box(extents=(3 + i, 2.0, 4.0)).apply_translation((5.0, 0, 0)).export(
            root / f"b{i}.obj"
        )
    cache = tmp_path / "cache"
    prepare("folder", root.parent, cache, n_points=64, progress=False, normalize=cache_norm)
    c = ShapeCache(cache)
    pts, _, ids = c.load_points("train")
    raw = np.asarray(c.denormalize(pts, ids), dtype=np.float32)
    assert np.abs(raw - pts).max() > 0.5  # the two unit systems really differ
    out = tmp_path / "r.json"
    for arr, denorm in ((raw, True), (pts, False)):
        f = save_samples(tmp_path / "s.npz", SampleFile(points=arr, meta={"denormalized": denorm}))
        argv = ["evaluate", str(f), str(cache), "--split", "train", "--metrics", "cd", "--no-jsd"]
        assert main([*argv, "--out", str(out)]) == 0
        res = json.loads(out.read_text())
        assert res["metrics"]["cd"]["mmd"] == pytest.approx(0.0, abs=1e-9)
        assert res["metrics"]["cd"]["cov"] == 1.0
        assert res["inputs"]["reference_cache"]["denormalized"] is denorm
    # two sample files that disagree about their units: an error, not a number
    a = save_samples(tmp_path / "a.npz", SampleFile(points=raw, meta={"denormalized": True}))
    b = save_samples(tmp_path / "b.npz", SampleFile(points=pts, meta={"denormalized": False}))
    assert main(["evaluate", str(a), str(b), "--metrics", "cd"]) == 2
