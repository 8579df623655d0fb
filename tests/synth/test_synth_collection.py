import json

import numpy as np
import pytest
import trimesh

from gen3d.cli import main
from gen3d.datasets.synth import CATEGORIES, build_shape, model_id, write_collection
from gen3d.datasets.synth_shapes import BUILDERS
from gen3d.errors import UserInputError
from gen3d.geometry import check_mesh, load_mesh, sample_surface, voxelize_solid


def _tree_bytes(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_gives_byte_identical_tree(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    write_collection(a, per_category=2, seed=7, categories=["chair", "mug"])
    write_collection(b, per_category=2, seed=7, categories=["chair", "mug"])
    write_collection(c, per_category=2, seed=8, categories=["chair", "mug"])
    ta, tb, tc = _tree_bytes(a), _tree_bytes(b), _tree_bytes(c)
    assert len(ta) == 2 * 2 * 3 + 2 and ta == tb
    assert set(ta) != set(tc)  # another seed, other model ids
    # no temporary files left behind by the atomic writes
    assert not [k for k in ta if k.rsplit("/", 1)[-1].startswith(".")]


def test_tree_is_a_readable_shapenet_v2_collection(tmp_path):
    root = tmp_path / "synth"
    counts = write_collection(root, per_category=2, seed=0)
    assert counts == {c: 2 for c in CATEGORIES}
    taxonomy = json.loads((root / "taxonomy.json").read_text())
    by_synset = {t["synsetId"]: t for t in taxonomy}
    assert by_synset["03001627"]["name"] == "chair" and by_synset["02691156"]["name"].startswith("airplane")
    assert set(by_synset) == {BUILDERS[c][0] for c in CATEGORIES}
    for synset in by_synset:
        models = sorted((root / synset).iterdir())
        assert len(models) == 2
        for m in models:
            assert len(m.name) == 32 and int(m.name, 16) >= 0
            v, f = load_mesh(m / "models" / "model_normalized.obj")
            assert check_mesh(v, f) is None
            info = json.loads((m / "models" / "model_normalized.json").read_text())
            assert info["id"] == m.name and info["numVertices"] == len(v)
            np.testing.assert_allclose(info["min"], v.min(axis=0), atol=1e-6)
            np.testing.assert_allclose(info["max"], v.max(axis=0), atol=1e-6)
            # ShapeNetCore v2 normalisation: bbox centred, diagonal 1
            np.testing.assert_allclose((v.min(axis=0) + v.max(axis=0)) / 2, 0, atol=2e-6)
            np.testing.assert_allclose(np.linalg.norm(v.max(axis=0) - v.min(axis=0)), 1.0, atol=1e-5)


def test_shapenet_adapter_reads_the_tree(tmp_path):
    from gen3d import datasets

    write_collection(tmp_path, per_category=3, seed=0, categories=["airplane", "table"])
    records = list(datasets.open_dataset("shapenet", tmp_path))
    # category = the collection's own id (synset), name = the human name from taxonomy.json
    pairs = sorted({(r.category, r.name) for r in records})
    assert pairs == [("02691156", "airplane"), ("04379243", "table")]
    assert len(records) == 6 and all(r.kind == "mesh" and r.path.is_file() for r in records)


@pytest.mark.parametrize("category", CATEGORIES)
def test_parts_are_closed_and_outward(category):
    for i in range(4):
        for part in BUILDERS[category][2](np.random.default_rng([3, i])):
            m = trimesh.Trimesh(part.vertices, part.faces)
            assert m.is_watertight and m.is_winding_consistent, (category, i, part.material)
            assert m.volume > 0, (category, i, part.material)


def _features(shape, rng):
    """Shape descriptor: bbox proportions, per-axis spread of surface points, solid fill of a 16^3 grid."""
    v = shape.vertices
    ext = v.max(axis=0) - v.min(axis=0)
    pts = sample_surface(v, shape.faces, 512, rng)
    solid = voxelize_solid(v * 2, shape.faces, 16).mean()  # v in [-0.5, 0.5]^3 -> grid over [-1, 1]^3
    upper = (pts[:, 1] > 0).mean()
    return np.concatenate([ext / ext.max(), pts.std(axis=0) / ext.max(), [solid, upper]])


def test_categories_are_distinct_and_varied():
    """A nearest-centroid classifier on simple geometry features separates the categories on held-out
    shapes, and every category varies from shape to shape."""
    rng = np.random.default_rng(0)
    feats = {c: np.array([_features(build_shape(c, 0, i), rng) for i in range(16)]) for c in CATEGORIES}
    scale = np.concatenate(list(feats.values())).std(axis=0)
    centroids = np.array([feats[c][:8].mean(axis=0) / scale for c in CATEGORIES])
    correct = 0
    for k, c in enumerate(CATEGORIES):
        test = feats[c][8:] / scale
        pred = np.argmin(((test[:, None, :] - centroids[None]) ** 2).sum(-1), axis=1)
        correct += int((pred == k).sum())
        # intra-class variation: the proportions are not all the same
        assert feats[c][:, :3].std(axis=0).max() > 0.03, c
    assert correct / (8 * len(CATEGORIES)) >= 0.9


def test_model_ids_and_shapes_depend_only_on_seed_category_index():
    a = build_shape("lamp", 5, 3)
    b = build_shape("lamp", 5, 3)
    c = build_shape("lamp", 5, 4)
    assert a.model_id == b.model_id == model_id(5, "lamp", 3) != c.model_id
    assert np.array_equal(a.vertices, b.vertices) and not np.array_equal(a.vertices[:10], c.vertices[:10])
    with pytest.raises(UserInputError, match="unknown synthetic category"):
        build_shape("sofa", 0, 0)


def test_cli_synth(tmp_path, capsys):
    out = tmp_path / "tree"
    assert main(["synth", str(out), "--per-category", "1", "--categories", "mug,chair", "--seed", "3"]) == 0
    assert "wrote 2 meshes" in capsys.readouterr().out
    assert len(list(out.glob("*/*/models/model_normalized.obj"))) == 2
    # a non-empty folder is refused unless --overwrite; bad categories and counts are user errors
    assert main(["synth", str(out), "--per-category", "1"]) == 2
    assert "not empty" in capsys.readouterr().err
    assert main(["synth", str(out), "--per-category", "1", "--categories", "mug", "--overwrite"]) == 0
    assert main(["synth", str(tmp_path / "x"), "--categories", "sofa"]) == 2
    assert main(["synth", str(tmp_path / "y"), "--per-category", "0"]) == 2
