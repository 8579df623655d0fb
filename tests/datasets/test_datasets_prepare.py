"""gen3d prepare: every layout into a cache, bad input reported not fatal, resumable, re-run does no work,
parameter clashes refused, normalisation parameters recorded and invertible."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from gen3d.cli import main
from gen3d.datasets.binvox import write_binvox
from gen3d.datasets.cache import ShapeCache
from gen3d.datasets.prepare import prepare
from gen3d.errors import UserInputError

from .conftest import box, make_folder, make_modelnet, make_pc15k, make_shapenet


def _prep(root, out, layout, **kw):
    kw.setdefault("n_points", 256)
    kw.setdefault("progress", False)
    return prepare(layout, root, out, **kw)


def test_shapenet_cache_points_voxels_normals_and_denormalise(tmp_path):
    root = make_shapenet(tmp_path / "sn", n=3)
    res = _prep(root, tmp_path / "c", "shapenet", voxels=(8, 16), normals=True)
    assert res.total == 6 and res.processed == 6 and res.skipped == 0
    c = ShapeCache(tmp_path / "c")
    assert c.class_names == ["chair", "table"] and c.resolutions == [8, 16]
    pts, labels, ids = c.load_points("train")
    assert pts.shape == (len(ids), 256, 3) and pts.dtype == np.float32 and labels.dtype == np.int64
    assert [c.class_names[i] for i in labels] == [
        "chair" if k.startswith("03001627") else "table" for k in ids
    ]
    n_box = 0
    for split in c.splits:
        pts, _, ids = c.load_points(split)
        assert np.abs(pts).max() <= 1.0 + 1e-5  # bbox normalisation: inside [-1, 1]^3
        raw = c.denormalize(pts, ids)
        for p, q, k in zip(raw, pts, ids):
            if k.endswith("model0"):  # a 1 x 0.5 x 2 box: points on its faces, longest side spans [-1, 1]
                n_box += 1
                assert np.allclose(np.abs(p).max(axis=0), [0.5, 0.25, 1.0], atol=0.02)
                assert np.isclose(q[:, 2].max() - q[:, 2].min(), 2.0, atol=1e-5)
    assert n_box == 2
    vox, vl, vids = c.load_voxels("train", 16, "solid")
    assert vox.shape == (len(vids), 1, 16, 16, 16) and set(np.unique(vox)) <= {0.0, 1.0}
    surf = c.load_voxels("train", 16, "surface")[0]
    assert (surf <= vox).all() and surf.sum() < vox.sum()
    nrm = c.load_normals("train")
    assert np.allclose(np.linalg.norm(nrm, axis=2), 1, atol=1e-4)
    assert c.load_normals("train", n_points=10).shape == (len(vids), 10, 3)
    assert len(c.voxel_params(vids)) == len(c.norm_params(vids)) == len(vids)
    for lookup in (c.norm_params, c.voxel_params):
        with pytest.raises(UserInputError, match="unknown shape 'nope/none'"):
            lookup([vids[0], "nope/none"])
    m = json.loads((tmp_path / "c" / "manifest.json").read_text())
    assert m["gen3d_version"] and all(len(s["sha1"]) == 40 for s in m["shapes"])
    assert m["shapes"][0]["source"].endswith("model_normalized.obj")


def test_pc15k_global_normalisation_matches_pointflow(tmp_path):
    root = make_pc15k(tmp_path / "pc", n_points=300)
    _prep(root, tmp_path / "c", "pc15k", n_points=300, normalize="global", voxels=(8,))
    c = ShapeCache(tmp_path / "c")
    # PointFlow: mean per axis and one std over all coordinates of the training clouds
    train = np.concatenate([np.load(p) for p in sorted(root.glob("*/train/*.npy"))]).astype(np.float64)
    g = c.normalization["global"]
    assert c.normalization["kind"] == "global"
    np.testing.assert_allclose(g["shift"], train.mean(axis=0), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(g["scale"], [train.reshape(-1).std()] * 3, rtol=1e-9)
    with pytest.raises(UserInputError, match="fitted on the train split"):
        _prep(root, tmp_path / "c2", "pc15k", splits="val", normalize="global")
    assert not (tmp_path / "c2").exists()  # refused before any work
    pts, _, ids = c.load_points("val")
    raw = c.denormalize(pts)  # the global kind needs no ids
    src = np.load(root / "03001627" / "val" / "val0.npy")
    assert ids[0] == "03001627/val0"
    # all 300 points kept (a permutation): same set as the source
    np.testing.assert_allclose(np.sort(raw[0], axis=0), np.sort(src, axis=0), atol=1e-5)
    assert c.load_voxels("val", 8)[0].sum() > 0


def test_modelnet_glued_header_and_folder_layouts(tmp_path):
    _prep(make_modelnet(tmp_path / "mn"), tmp_path / "c1", "modelnet", voxels=(8,))
    c = ShapeCache(tmp_path / "c1")
    assert c.splits == ["train", "test"] and len(c) == 8
    _prep(make_folder(tmp_path / "f"), tmp_path / "c2", "folder", normalize="unit_sphere")
    c = ShapeCache(tmp_path / "c2")
    pts = c.load_points("train")[0]
    assert np.linalg.norm(pts, axis=2).max() <= 1.0 + 1e-5


def test_points_and_voxels_layouts(tmp_path):
    from gen3d.datasets.pointfiles import write_pcd

    pts_root = tmp_path / "pts" / "blob"
    pts_root.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(3):
        write_pcd(pts_root / f"p{i}.pcd", rng.normal(size=(400, 3)), binary=i % 2 == 1)
    _prep(tmp_path / "pts", tmp_path / "c1", "points", voxels=(8,))
    c = ShapeCache(tmp_path / "c1")
    assert len(c) == 3 and c.load_points("train")[0].shape[1:] == (256, 3)

    vox_root = tmp_path / "vox"
    vox_root.mkdir()
    g = np.zeros((16, 16, 16), dtype=bool)
    g[4:12, 4:8, 4:12] = True
    write_binvox(vox_root / "slab.binvox", g, translate=(0, 0, 0), scale=4.0)
    np.save(vox_root / "many.npy", np.stack([g, g[::-1]]).astype(np.float32))
    _prep(vox_root, tmp_path / "c2", "voxels", voxels=(8, 16), normalize="none")
    c = ShapeCache(tmp_path / "c2")
    assert len(c) == 3
    for split in c.splits:
        v16 = c.load_voxels(split, 16)[0]
        for v in v16:
            assert v[0].sum() == g.sum()  # stored grid == the file's grid
        v8 = c.load_voxels(split, 8)[0]
        assert (v8.sum(axis=(1, 2, 3, 4)) == g.sum() / 8).all()  # exact 2x block majority of a 2-aligned box
    found = 0
    for split in c.splits:
        raw, _, ids = c.load_points(split)
        if "default/slab" in ids:  # binvox points in the file's coordinates: cells 4..12 of 16 over [0, 4]
            found += 1
            p = c.denormalize(raw, ids)[ids.index("default/slab")]
            assert p.min() >= 1.0 - 1e-5 and p[:, 0].max() <= 3.0 + 1e-5 and p[:, 1].max() <= 2.0 + 1e-5
    assert found == 1


def _bad_tree(root):
    (root / "good").mkdir(parents=True)
    (root / "bad").mkdir()
    box().export(root / "good" / "a.obj")
    box((2, 1, 1)).export(root / "good" / "b.obj")
    box((1, 1, 3)).export(root / "bad" / "ok.obj")
    (root / "bad" / "corrupt.glb").write_bytes(b"\x00garbage" * 10)
    (root / "bad" / "empty.obj").write_text("")
    (root / "bad" / "nan.obj").write_text("v nan 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
    (root / "bad" / "zeroarea.obj").write_text("v 1 1 1\nv 1 1 1\nv 1 1 1\nf 1 2 3\n")
    (root / "bad" / "flat.obj").write_text("v 0 0 0\nv 1 0 0\nv 2 0 0\nf 1 2 3\n")
    return root


def test_bad_meshes_are_skipped_counted_and_reported(tmp_path, caplog):
    root = _bad_tree(tmp_path / "m")
    res = _prep(root, tmp_path / "c", "folder", voxels=(8,))
    assert res.total == 8 and res.skipped == 5
    rep = json.loads((tmp_path / "c" / "report.json").read_text())
    reasons = {s["model_id"]: s["reason"] for s in rep["skipped"]}
    assert reasons["empty"] == "empty" and reasons["nan"] == "nan/inf vertices"
    assert reasons["zeroarea"] == "zero surface area" and reasons["flat"].startswith("degenerate")
    assert "unreadable" in reasons["corrupt"] or reasons["corrupt"] == "empty"
    assert "5 of 8 shapes skipped" in caplog.text
    c = ShapeCache(tmp_path / "c")
    assert len(c) == 3 and all(np.isfinite(c.load_points(s)[0]).all() for s in c.splits)


def test_bad_point_files_are_skipped(tmp_path):
    d = tmp_path / "p" / "x"
    d.mkdir(parents=True)
    rng = np.random.default_rng(0)
    np.save(d / "ok.npy", rng.normal(size=(300, 3)))
    np.save(d / "ok2.npy", rng.normal(size=(300, 3)))
    bad = rng.normal(size=(300, 3))
    bad[5] = np.inf
    np.save(d / "inf.npy", bad)
    np.save(d / "few.npy", rng.normal(size=(10, 3)))
    np.save(d / "same.npy", np.ones((300, 3)))
    np.save(d / "trunc.npy", rng.normal(size=(300, 3)))
    raw = (d / "trunc.npy").read_bytes()
    (d / "trunc.npy").write_bytes(raw[:200])
    res = _prep(tmp_path / "p", tmp_path / "c", "points")
    reasons = {
        s["model_id"]: s["reason"]
        for s in json.loads((tmp_path / "c" / "report.json").read_text())["skipped"]
    }
    assert res.skipped == 4 and set(reasons) == {"inf", "few", "same", "trunc"}
    assert reasons["inf"] == "nan/inf points" and "only 10 points" in reasons["few"]
    assert "unreadable" in reasons["trunc"] and "coincide" in reasons["same"]
    # nothing usable at all: one clear error, the report still lists every shape
    for f in ("ok.npy", "ok2.npy"):
        (d / f).unlink()
    with pytest.raises(UserInputError, match=r"none of the 4 selected shapes is usable \(.*only 10 points"):
        _prep(tmp_path / "p", tmp_path / "c2", "points")
    assert len(json.loads((tmp_path / "c2" / "report.json").read_text())["skipped"]) == 4
    assert not (tmp_path / "c2" / "manifest.json").exists()


def test_rerun_does_no_work_and_interrupted_run_resumes(tmp_path, capsys):
    root = make_folder(tmp_path / "f", n=3)
    out = tmp_path / "c"
    argv = [
        "prepare",
        "folder",
        str(root),
        "--out",
        str(out),
        "--points",
        "128",
        "--voxels",
        "8",
        "--workers",
        "1",
        "--no-progress",
    ]
    assert main(argv) == 0
    files = sorted((out / "shapes").rglob("*.npz"))
    assert len(files) == 9
    mtimes = {f: f.stat().st_mtime_ns for f in files}
    assert main(argv) == 0
    assert "up to date" in capsys.readouterr().out
    assert all(f.stat().st_mtime_ns == t for f, t in mtimes.items())
    # simulate an interrupted run: no completion mark, a third of the shape files missing
    (out / "manifest.json").unlink()
    for f in files[::3]:
        f.unlink()
    res = prepare("folder", root, out, n_points=128, voxels=(8,), progress=False)
    assert res.processed == 3 and res.reused == 6 and not res.up_to_date
    assert all(f.stat().st_mtime_ns == t for f, t in mtimes.items() if f.exists() and f not in files[::3])
    assert len(ShapeCache(out)) == 9
    # a changed source file is redone
    f0 = next(iter(sorted((root / "balls").iterdir())))
    box((3, 1, 1)).export(f0)
    os.utime(f0, ns=(1, 1))
    assert prepare("folder", root, out, n_points=128, voxels=(8,), progress=False).processed == 1


def test_a_new_selection_of_done_shapes_rewrites_the_manifest_without_work(tmp_path):
    """Every shape done but the manifest lists others (or the report is unreadable): nothing is processed,
    the manifest and the report are written for the new selection; the next identical run is up to date."""
    root = make_folder(tmp_path / "f", n=3)
    out = tmp_path / "c"
    assert _prep(root, out, "folder", n_points=64).processed == 9
    sub = _prep(root, out, "folder", n_points=64, categories="balls")
    assert sub.processed == 0 and not sub.up_to_date and sub.reused == sub.total == 3
    manifest = json.loads((out / "manifest.json").read_text())
    assert len(manifest["shapes"]) == sub.total and manifest["selection"]["categories"] == "balls"
    assert len(ShapeCache(out)) == sub.total
    assert _prep(root, out, "folder", n_points=64, categories="balls").up_to_date
    (out / "report.json").write_text("{")
    again = _prep(root, out, "folder", n_points=64, categories="balls")
    assert not again.up_to_date and again.processed == 0
    assert json.loads((out / "report.json").read_text())["total"] == sub.total


def test_parallel_workers_give_the_same_cache_as_one(tmp_path):
    root = make_folder(tmp_path / "f", n=2)
    prepare("folder", root, tmp_path / "a", n_points=64, workers=1, progress=False)
    prepare("folder", root, tmp_path / "b", n_points=64, workers=2, progress=False)
    pa, _, ia = ShapeCache(tmp_path / "a").load_points("train")
    pb, _, ib = ShapeCache(tmp_path / "b").load_points("train")
    assert ia == ib and np.array_equal(pa, pb)


def test_different_parameters_into_the_same_cache_are_refused(tmp_path):
    root = make_folder(tmp_path / "f", n=2)
    prepare("folder", root, tmp_path / "c", n_points=64, progress=False)
    with pytest.raises(UserInputError, match=r"different parameters \(n_points: 64 -> 128\)"):
        prepare("folder", root, tmp_path / "c", n_points=128, progress=False)
    # a narrower selection with the same parameters is fine and lists only what was selected
    prepare("folder", root, tmp_path / "c", n_points=64, categories="cups", progress=False)
    assert ShapeCache(tmp_path / "c").class_names == ["cups"]


def test_cli_errors_are_one_line(tmp_path, capsys):
    assert main(["prepare", "nope", str(tmp_path), "--out", str(tmp_path / "c")]) == 2
    assert "unknown layout 'nope'" in capsys.readouterr().err
    assert main(["prepare", "shapenet", str(tmp_path / "missing"), "--out", str(tmp_path / "c")]) == 2
    assert "expected ShapeNetCore layout" in capsys.readouterr().err
    with pytest.raises(UserInputError, match="no manifest.json"):
        ShapeCache(tmp_path)
    with pytest.raises(UserInputError, match="does not exist"):
        ShapeCache(tmp_path / "nowhere")


def test_cli_selection_flags(tmp_path, capsys):
    root = make_pc15k(tmp_path / "pc", n_points=300)
    argv = [
        "prepare",
        "pc15k",
        str(root),
        "--out",
        str(tmp_path / "c"),
        "--categories",
        "chair",
        "--splits",
        "train,val",
        "--max-count",
        "2",
        "--points",
        "300",
        "--voxels",
        "8,4",
        "--workers",
        "1",
        "--no-progress",
    ]
    assert main(argv) == 0
    c = ShapeCache(tmp_path / "c")
    assert (
        c.class_names == ["chair"]
        and c.splits == ["train", "val"]
        and len(c) == 3
        and c.resolutions == [4, 8]
    )
    assert c.n_points == 300
    assert main([*argv, "--normals"]) == 2
    assert "--normals is not available for the 'pc15k' layout" in capsys.readouterr().err


def test_shapenet_shipped_binvox_source(tmp_path):
    root = make_shapenet(tmp_path / "sn", n=3)
    g = np.zeros((16, 16, 16), dtype=bool)
    g[2:14, 2:6, 2:14] = True  # a flat slab: thin along y
    for d in sorted(root.glob("*/*/models")):
        write_binvox(d / "model_normalized.solid.binvox", g, translate=(-0.5, -0.5, -0.5), scale=1.0)
    (next(iter(sorted(root.glob("*/*/models")))) / "model_normalized.solid.binvox").unlink()
    res = _prep(root, tmp_path / "c", "shapenet", binvox="solid", voxels=(16,), normalize="none")
    assert res.total == 5  # the model without a .binvox is left out
    c = ShapeCache(tmp_path / "c")
    assert c.params["layout"] == "shapenet:solid.binvox"
    for split in c.splits:
        v = c.load_voxels(split, 16)[0]
        assert (v[:, 0] == g).all()
        p = c.load_points(split)[0]  # boundary points in the file's frame: y spans cells 2..6 of [-0.5, 0.5]
        assert p[:, :, 1].min() >= -0.5 + 2 / 16 - 1e-6 and p[:, :, 1].max() <= -0.5 + 6 / 16 + 1e-6
    with pytest.raises(UserInputError, match="does not take binvox"):
        _prep(root, tmp_path / "c2", "modelnet", binvox="solid")


def test_modelnet_layout_of_point_files_through_the_cli(tmp_path):
    # ModelNet as binary PCD point clouds in original units (the form of ModelNet10-pcd): the points are read,
    # not re-sampled from a mesh, and each is mapped to the unit sphere by its own centre and radius
    from gen3d.cli import main
    from gen3d.datasets.pointfiles import write_pcd

    rng = np.random.default_rng(0)
    raw = {}
    for cls in ("sofa", "table"):
        for split, ks in (("train", range(3)), ("test", range(3, 5))):  # ModelNet numbers across splits
            d = tmp_path / "mn" / cls / split
            d.mkdir(parents=True)
            for i in ks:
                pts = rng.normal(size=(64, 3)) * rng.uniform(5, 50) + rng.uniform(-100, 100, 3)
                pts = pts.astype(np.float32)
                write_pcd(d / f"{cls}_{i + 1:04d}.pcd", pts, binary=True)
                raw[f"{cls}/{cls}_{i + 1:04d}"] = pts.astype(np.float64)
    out = tmp_path / "c"
    args = ["prepare", "modelnet", str(tmp_path / "mn"), "--out", str(out), "--points", "64"]
    assert main(args + ["--normalize", "unit_sphere", "--categories", "sofa,table"]) == 0
    c = ShapeCache(out)
    assert c.splits == ["train", "test"] and len(c) == 10 and c.class_names == ["sofa", "table"]
    pts, labels, ids = c.load_points("test")
    assert len(ids) == 4
    for p, k in zip(pts, ids):
        src = raw[k]
        # the same cloud (in some order) up to a per-shape similarity: the sorted distances to the centroid
        # scale by one factor
        d_src = np.sort(np.linalg.norm(src - src.mean(0), axis=1))
        q = p.astype(np.float64)
        d_out = np.sort(np.linalg.norm(q - q.mean(0), axis=1))
        np.testing.assert_allclose(d_out, d_src * (d_out[-1] / d_src[-1]), rtol=1e-4, atol=1e-6)
        assert np.linalg.norm(p, axis=1).max() == pytest.approx(1.0, abs=1e-5)
