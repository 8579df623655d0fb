"""Adapters enumerate every layout, select by category/split/count, and reject wrong roots clearly."""

from __future__ import annotations

import numpy as np
import pytest

from gen3d.datasets import LAYOUTS, open_dataset
from gen3d.datasets.records import assign_seeded_splits
from gen3d.datasets.taxonomy import SHAPENET_SYNSETS
from gen3d.errors import UserInputError

from .conftest import CHAIR, TABLE, make_shapenet


def test_taxonomy_table_has_the_55_shapenetcore_synsets():
    assert len(SHAPENET_SYNSETS) == 55 and len(set(SHAPENET_SYNSETS.values())) == 55
    assert SHAPENET_SYNSETS["02691156"] == "airplane" and SHAPENET_SYNSETS["02958343"] == "car"
    assert SHAPENET_SYNSETS[CHAIR] == "chair" and SHAPENET_SYNSETS[TABLE] == "table"


@pytest.mark.parametrize("version", [1, 2])
def test_shapenet_v1_and_v2_detected(tmp_path, version):
    root = make_shapenet(tmp_path / f"v{version}", version=version, taxonomy=False)
    ds = open_dataset("shapenet", root)
    assert len(ds) == 8 and ds.notes["versions"] == [f"v{version}"]
    assert {r.name for r in ds} == {"chair", "table"}  # built-in table without taxonomy.json
    r = ds[0]
    assert r.kind == "mesh" and r.path.name == ("model_normalized.obj" if version == 2 else "model.obj")


def test_shapenet_taxonomy_json_names_and_selection_by_name_or_synset(shapenet_root):
    (shapenet_root / "taxonomy.json").write_text(
        '[{"synsetId": "03001627", "name": "Swivel Chair,seat"}, {"synsetId": "04379243", "name": "table"}]'
    )
    ds = open_dataset("shapenet", shapenet_root, categories="swivel_chair")
    assert {r.category for r in ds} == {CHAIR} and {r.name for r in ds} == {"swivel_chair"}
    assert len(open_dataset("shapenet", shapenet_root, categories=[TABLE])) == 4


def test_shapenet_official_split_csv(shapenet_root):
    rows = ["id,synsetId,subSynsetId,modelId,split"]
    for i in range(4):
        rows.append(f"{i},{CHAIR},{CHAIR},627model{i},{'train' if i < 2 else 'test'}")
    rows.append(f"9,{TABLE},{TABLE},243model0,val")
    (shapenet_root / "all.csv").write_text("\n".join(rows) + "\n")
    ds = open_dataset("shapenet", shapenet_root)
    got = {(r.category, r.model_id): r.split for r in ds}
    assert got[(CHAIR, "627model0")] == "train" and got[(CHAIR, "627model3")] == "test"
    assert got[(TABLE, "243model0")] == "val"
    assert len(ds) == 5 and ds.notes["excluded_not_in_split_file"] == 3  # unlisted tables are excluded


def test_seeded_split_is_deterministic_and_independent_of_selection(shapenet_root):
    a = {r.key: r.split for r in open_dataset("shapenet", shapenet_root, seed=3)}
    b = {r.key: r.split for r in open_dataset("shapenet", shapenet_root, categories="chair", seed=3)}
    assert all(a[k] == v for k, v in b.items())
    ids = [f"m{i}" for i in range(100)]
    split = assign_seeded_splits(ids, "cat", seed=0)
    counts = {s: list(split.values()).count(s) for s in ("train", "val", "test")}
    assert counts == {"train": 80, "val": 10, "test": 10}
    assert split != assign_seeded_splits(ids, "cat", seed=1)
    assert set(assign_seeded_splits(["a", "b", "c"], "x", 0).values()) == {"train", "val", "test"}


def test_selection_splits_and_max_count_per_category_and_split(pc15k_root):
    ds = open_dataset("pc15k", pc15k_root, splits="train,val", max_count=2)
    per = {}
    for r in ds:
        per[(r.name, r.split)] = per.get((r.name, r.split), 0) + 1
    assert per == {("chair", "train"): 2, ("chair", "val"): 1, ("table", "train"): 2, ("table", "val"): 1}
    # the first ones in model-id order: a smaller selection is a prefix
    assert [r.model_id for r in ds if r.split == "train" and r.name == "chair"] == ["train0", "train1"]


def test_pc15k_splits_from_folders(pc15k_root):
    ds = open_dataset("pc15k", pc15k_root)
    assert len(ds) == 10 and {r.kind for r in ds} == {"points"}
    assert {r.split for r in ds} == {"train", "val", "test"}


def test_modelnet_layout(modelnet_root):
    ds = open_dataset("modelnet", modelnet_root)
    assert len(ds) == 8 and ds.categories == ["bed", "desk"] and {r.split for r in ds} == {"train", "test"}
    assert {r.model_id for r in ds if r.category == "bed"} == {"bed_0001", "bed_0002"}


def test_folder_layout_all_mesh_suffixes(folder_root):
    ds = open_dataset("folder", folder_root, seed=0)
    assert len(ds) == 9 and ds.class_names == ["balls", "boxes", "cups"]
    assert {r.path.suffix for r in ds} == {".obj", ".stl", ".ply"}


def test_points_and_voxels_layouts_flat_and_by_category(tmp_path):
    pts = tmp_path / "pts"
    (pts / "a").mkdir(parents=True)
    np.save(pts / "a" / "x.npy", np.zeros((10, 3)))
    np.savetxt(pts / "loose.xyz", np.zeros((10, 3)))
    ds = open_dataset("points", pts)
    assert {(r.category, r.model_id) for r in ds} == {("a", "x"), ("default", "loose")}
    vox = tmp_path / "vox"
    vox.mkdir()
    np.save(vox / "grids.npy", np.zeros((3, 1, 8, 8, 8), dtype=np.float32))
    ds = open_dataset("voxels", vox)
    assert sorted((r.model_id, r.index) for r in ds) == [("grids_0", 0), ("grids_1", 1), ("grids_2", 2)]


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_wrong_root_says_what_was_expected(tmp_path, layout):
    (tmp_path / "empty").mkdir()
    for root in (tmp_path / "missing", tmp_path / "empty"):
        with pytest.raises(UserInputError, match="expected"):
            open_dataset(layout, root)


def test_unknown_layout_and_unknown_selection(shapenet_root):
    with pytest.raises(UserInputError, match="unknown layout 'shapenet3'; expected one of: shapenet, pc15k"):
        open_dataset("shapenet3", shapenet_root)
    with pytest.raises(UserInputError, match="unknown category.*available: chair"):
        open_dataset("shapenet", shapenet_root, categories="sofa")
    with pytest.raises(UserInputError, match="unknown split"):
        open_dataset("shapenet", shapenet_root, splits="training")
