import numpy as np
import pytest
import trimesh

from gen3d.errors import UserInputError
from gen3d.geometry import check_mesh, load_mesh

TRI_V = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], dtype=np.float64)
TRI_F = np.array([[0, 1, 2], [0, 1, 3]])


@pytest.mark.parametrize(
    "text",
    [
        "OFF4 3 0\n",  # ModelNet's glued header
        "OFF\n4 3 0\n",
        "OFF\n# comment line\n\n4 3 0\n",
    ],
)
def test_off_headers_and_polygons(tmp_path, text):
    body = "0 0 0\n1 0 0\n1 1 0\n0 1 0  # trailing comment\n4 0 1 2 3\n3 0 1 3 255 0 0\n3 1 2 3\n"
    p = tmp_path / "m.off"
    p.write_text(text + body)
    v, f = load_mesh(p)
    np.testing.assert_array_equal(v, [[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]])
    # the quad is fan-triangulated, the coloured triangle keeps its three indices
    np.testing.assert_array_equal(f, [[0, 1, 2], [0, 2, 3], [0, 1, 3], [1, 2, 3]])
    assert v.dtype == np.float64 and f.dtype == np.int64


def test_modelnet_style_off_matches_trimesh(tmp_path):
    m = trimesh.creation.icosphere(subdivisions=1)
    lines = [f"OFF{len(m.vertices)} {len(m.faces)} 0"]
    lines += [" ".join(f"{c:.6f}" for c in row) for row in m.vertices]
    lines += ["3 " + " ".join(str(i) for i in row) for row in m.faces]
    p = tmp_path / "chair_0001.off"
    p.write_text("\n".join(lines) + "\n")
    v, f = load_mesh(p)
    np.testing.assert_allclose(v, m.vertices, atol=1e-6)
    np.testing.assert_array_equal(f, m.faces)


def test_shapenet_style_obj_scene_with_missing_mtl(tmp_path):
    """Several groups and materials, texture coordinates, an absent .mtl and absent textures."""
    text = """# exported
mtllib model_normalized.mtl
v 0 0 0
v 1 0 0
v 0 1 0
v 0 0 1
v 2 0 0
v 3 0 0
v 2 1 0
vt 0 0
vt 1 0
vt 0 1
vn 0 0 1
g seat
usemtl wood
f 1/1/1 2/2/1 3/3/1
f 1/1 2/2 4/3
g legs
usemtl metal_texture
f 5/1 6/2 7/3
g back
usemtl missing
f 5 6 7 4
"""
    d = tmp_path / "03001627" / "abc" / "models"
    d.mkdir(parents=True)
    (d / "model_normalized.obj").write_text(text)
    v, f = load_mesh(d / "model_normalized.obj")
    assert check_mesh(v, f) is None
    # 3 triangles + one quad (2 triangles) from all groups survive, whatever the vertex splitting
    assert f.shape == (5, 3)
    want = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], [2, 0, 0], [3, 0, 0], [2, 1, 0]], float)
    assert {tuple(p) for p in v[f].reshape(-1, 3)} == {tuple(p) for p in want}


@pytest.mark.parametrize("suffix", [".ply", ".stl", ".glb", ".gltf", ".obj"])
def test_other_formats_round_trip_with_scene_transforms(tmp_path, suffix):
    a = trimesh.creation.box(extents=(1, 2, 3))
    b = trimesh.creation.icosphere(subdivisions=1, radius=0.5)
    shift = np.eye(4)
    shift[:3, 3] = [4, 0, 0]
    scene = trimesh.Scene()
    scene.add_geometry(a)
    scene.add_geometry(b, transform=shift)
    p = tmp_path / f"m{suffix}"
    if suffix in (".ply", ".stl"):
        scene.dump(concatenate=True).export(p)
    else:
        scene.export(p)
    v, f = load_mesh(p)
    assert check_mesh(v, f) is None
    assert f.shape[0] == len(a.faces) + len(b.faces)
    area = 0.5 * np.linalg.norm(np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]]), axis=1).sum()
    np.testing.assert_allclose(area, a.area + b.area, rtol=1e-5)
    # the sphere's node transform was applied
    np.testing.assert_allclose(v.max(axis=0)[0], 4.5, atol=1e-5)


def test_unreadable_and_missing_files(tmp_path):
    with pytest.raises(UserInputError, match="not found"):
        load_mesh(tmp_path / "nope.obj")
    bad = tmp_path / "bad.off"
    bad.write_text("OFF\n3 1 0\n0 0 0\n")
    with pytest.raises(UserInputError, match="unreadable"):
        load_mesh(bad)
    junk = tmp_path / "junk.glb"
    junk.write_bytes(b"\x00\x01garbage")
    with pytest.raises(UserInputError, match="unreadable"):
        load_mesh(junk)
    with pytest.raises(UserInputError, match="unsupported"):
        load_mesh(tmp_path / "x.fbx")
    empty = tmp_path / "empty.obj"
    empty.write_text("# nothing\n")
    v, f = load_mesh(empty)
    assert check_mesh(v, f) == "empty"


def test_check_mesh_reasons():
    assert check_mesh(TRI_V, TRI_F) is None
    assert check_mesh(np.zeros((0, 3)), np.zeros((0, 3), int)) == "empty"
    assert check_mesh(np.where(TRI_V == 1, np.nan, TRI_V), TRI_F) == "nan/inf vertices"
    assert check_mesh(np.where(TRI_V == 1, np.inf, TRI_V), TRI_F) == "nan/inf vertices"
    assert check_mesh(TRI_V, np.zeros((0, 3), int)) == "no faces"
    assert check_mesh(TRI_V, np.array([[0, 1, 4]])) == "face index out of range"
    assert check_mesh(TRI_V, np.array([[0, -1, 2]])) == "face index out of range"
    assert check_mesh(np.ones((4, 3)), TRI_F) == "zero surface area"
    assert check_mesh(TRI_V, np.array([[1, 1, 1], [2, 2, 2]])) == "zero surface area"
    line = np.array([[0, 0, 0], [1, 1, 1], [2, 2, 2], [5, 5, 5]], dtype=np.float64)
    assert check_mesh(line, TRI_F) == "degenerate (all faces collinear)"
    # the tolerance is relative: a tiny but real mesh (micrometres) is fine
    assert check_mesh(TRI_V * 1e-6, TRI_F) is None


def test_import_is_light():
    """Importing gen3d.geometry pulls in neither trimesh, numba nor scipy (they load on first use)."""
    import subprocess
    import sys

    code = (
        "import sys, gen3d.geometry; "
        "print(sorted(m for m in ('trimesh', 'numba', 'scipy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_off_with_vertex_colours_and_bad_counts(tmp_path):
    p = tmp_path / "c.off"
    p.write_text("COFF\n3 1 0\n0 0 0 255 0 0 255\n1 0 0 0 255 0 255\n0 1 0 0 0 255 255\n3 0 1 2\n")
    v, f = load_mesh(p)
    np.testing.assert_array_equal(v, [[0, 0, 0], [1, 0, 0], [0, 1, 0]])
    np.testing.assert_array_equal(f, [[0, 1, 2]])
    ragged = tmp_path / "r.off"
    ragged.write_text("OFF\n2 0 0\n0 0\n1 0 0 5\n")
    with pytest.raises(UserInputError, match="unreadable"):
        load_mesh(ragged)


def test_point_only_ply_has_no_faces(tmp_path):
    p = tmp_path / "cloud.ply"
    trimesh.PointCloud(np.random.default_rng(0).normal(size=(50, 3))).export(p)
    v, f = load_mesh(p)
    assert v.shape == (50, 3) and f.shape == (0, 3)
    assert check_mesh(v, f) == "no faces"
