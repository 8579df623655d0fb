import numpy as np
import pytest
import trimesh

from gen3d.geometry import (
    cell_centers,
    sample_surface,
    voxelize_solid,
    voxelize_surface,
    voxelize_surface_and_solid,
)


def _box(lo, hi):
    m = trimesh.creation.box(bounds=np.array([lo, hi], dtype=np.float64))
    return np.asarray(m.vertices), np.asarray(m.faces)


def _box_reference(lo, hi, r, origin, spacing):
    """Exact cell sets of an axis-aligned box whose faces are off the grid planes: (solid, surface)."""
    a = (np.asarray(lo) - origin) / spacing
    b = (np.asarray(hi) - origin) / spacing
    idx = np.arange(r)
    # closed cell [i, i+1] meets [a, b] / lies strictly inside (a, b), per axis
    meets = [(idx + 1 >= a[d]) & (idx <= b[d]) for d in range(3)]
    inside = [(idx > a[d]) & (idx + 1 < b[d]) for d in range(3)]
    solid = meets[0][:, None, None] & meets[1][None, :, None] & meets[2][None, None, :]
    interior = inside[0][:, None, None] & inside[1][None, :, None] & inside[2][None, None, :]
    return solid, solid & ~interior


@pytest.mark.parametrize(
    "lo, hi, r, origin, spacing",
    [
        ((-0.61, -0.33, -0.9), (0.52, 0.47, 0.13), 32, (-1, -1, -1), None),
        ((0.13, 0.2, 0.31), (2.9, 1.7, 3.3), 16, (0.0, 0.0, 0.0), 0.25),  # non-default frame, clipped
    ],
)
def test_box_matches_exact_cell_sets(lo, hi, r, origin, spacing):
    v, f = _box(lo, hi)
    s = 2.0 / r if spacing is None else spacing
    solid_ref, surface_ref = _box_reference(lo, hi, r, np.asarray(origin, float), s)
    assert np.array_equal(voxelize_surface(v, f, r, origin, spacing), surface_ref)
    assert np.array_equal(voxelize_solid(v, f, r, origin, spacing), solid_ref)
    both = voxelize_surface_and_solid(v, f, r, origin, spacing)
    assert np.array_equal(both[0], surface_ref) and np.array_equal(both[1], solid_ref)


def _point_triangle_distance(points, tris):
    """Naive distance from each point to a triangle soup: min over triangles of trimesh's closest point."""
    best = np.full(points.shape[0], np.inf)
    for t in tris:
        cp = trimesh.triangles.closest_point(np.repeat(t[None], points.shape[0], axis=0), points)
        best = np.minimum(best, np.linalg.norm(cp - points, axis=1))
    return best


def test_surface_cells_bracketed_by_distance_to_a_tilted_soup():
    rng = np.random.default_rng(0)
    v = rng.uniform(-0.9, 0.9, size=(12, 3))
    f = np.arange(12).reshape(4, 3)
    r = 16
    s = 2.0 / r
    grid = voxelize_surface(v, f, r)
    centres = cell_centers(r).reshape(-1, 3)
    dist = _point_triangle_distance(centres, v[f]).reshape(r, r, r)
    # a marked cell's centre is within half a cell diagonal of the surface; a cell whose inscribed ball meets
    # the surface must be marked
    assert np.all(dist[grid] <= np.sqrt(3) / 2 * s + 1e-9)
    assert np.all(grid[dist < 0.5 * s - 1e-9])
    # every densely sampled surface point lies in a marked cell
    pts = sample_surface(v, f, 20000, rng).astype(np.float64)
    cell = np.clip(np.floor((pts + 1) / s).astype(int), 0, r - 1)
    assert grid[cell[:, 0], cell[:, 1], cell[:, 2]].all()


def test_solid_sphere_bounds_and_volume():
    radius, r = 0.7, 32
    m = trimesh.creation.icosphere(subdivisions=3, radius=radius)
    v, f = np.asarray(m.vertices), np.asarray(m.faces)
    s = 2.0 / r
    solid = voxelize_solid(v, f, r)
    surface = voxelize_surface(v, f, r)
    d = np.linalg.norm(cell_centers(r), axis=-1)
    inradius = np.abs(np.einsum("fd,fd->f", m.face_normals, v[f[:, 0]])).min()
    half_diag = np.sqrt(3) / 2 * s
    assert np.all(solid[d < inradius - half_diag])
    assert not np.any(solid[d > radius + half_diag])
    assert np.all(solid[surface])
    # the surface is a shell: no interior cell (not on the surface) touches an exterior cell
    interior = solid & ~surface
    assert interior.sum() > 0
    grown = interior.copy()
    for axis in range(3):
        grown |= np.roll(interior, 1, axis) | np.roll(interior, -1, axis)
    assert np.all(solid[grown])
    # conservative voxels over-estimate the volume by at most the shell of half-diagonal thickness
    vol = solid.sum() * s**3
    assert 4 / 3 * np.pi * inradius**3 <= vol <= 4 / 3 * np.pi * (radius + half_diag) ** 3


def test_solid_fills_overlapping_parts_and_small_holes():
    # two overlapping boxes concatenated (no boolean union) -> the union of their exact solid sets
    v1, f1 = _box((-0.71, -0.41, -0.33), (0.29, 0.38, 0.47))
    v2, f2 = _box((-0.13, -0.8, -0.2), (0.66, 0.11, 0.21))
    v = np.concatenate([v1, v2])
    f = np.concatenate([f1, f2 + len(v1)])
    r = 24
    ref = _box_reference((-0.71, -0.41, -0.33), (0.29, 0.38, 0.47), r, -np.ones(3), 2 / r)[0]
    ref |= _box_reference((-0.13, -0.8, -0.2), (0.66, 0.11, 0.21), r, -np.ones(3), 2 / r)[0]
    assert np.array_equal(voxelize_solid(v, f, r), ref)
    # an open box with a hole much smaller than a cell (one small triangle of a finely split box removed)
    fine_v, fine_f = trimesh.remesh.subdivide_to_size(v1, f1, max_edge=0.02)
    assert np.array_equal(voxelize_solid(fine_v, fine_f[1:], r), voxelize_solid(v1, f1, r))


def test_degenerate_and_outside_geometry():
    r = 8
    # a segment-like triangle still marks the cells it passes through
    seg = np.array([[-0.9, 0.05, 0.05], [0.9, 0.05, 0.05], [0.0, 0.05, 0.05]])
    g = voxelize_surface(seg, np.array([[0, 1, 2]]), r)
    assert g.sum() == r and g[:, 4, 4].all()
    # geometry entirely outside the grid, and no faces at all, give empty grids
    far = seg + 10
    assert not voxelize_surface(far, np.array([[0, 1, 2]]), r).any()
    assert not voxelize_solid(seg, np.zeros((0, 3), dtype=np.int64), r).any()
    with pytest.raises(ValueError, match="resolution"):
        voxelize_surface(seg, np.array([[0, 1, 2]]), 0)
    with pytest.raises(ValueError, match="NaN"):
        voxelize_surface(seg * np.nan, np.array([[0, 1, 2]]), r)


def test_kernel_matches_numpy_reference_on_hard_soups(monkeypatch):
    """The numba kernel and the vectorised numpy reference agree cell for cell on small triangles, slivers
    across the grid, triangles with vertices on grid planes and faces lying in a grid plane (numpy run in
    tiny chunks, so the chunking is exercised too)."""
    from gen3d.geometry import tri_box

    monkeypatch.setattr(tri_box, "_PAIRS_PER_CHUNK", 97)
    rng = np.random.default_rng(5)
    for _ in range(6):
        tri = rng.uniform(-3, 19, size=(40, 3, 3))
        tri[:10] = tri[:10, :1] + rng.normal(0, 0.3, (10, 3, 3))
        tri[10:20, 2] = tri[10:20, 0] + 0.01 * (tri[10:20, 1] - tri[10:20, 0])
        tri[20:25] = np.round(tri[20:25])
        tri[25:30, :, 1] = np.round(tri[25:30, :1, 1])
        fast = tri_box.mark_surface(tri, 16)
        assert fast.any() and np.array_equal(fast, tri_box.mark_surface_numpy(tri, 16))


def test_faces_on_grid_planes_are_kept():
    """A cube scaled exactly to [-1, 1] (bbox normalisation) has its faces on the outer grid planes."""
    v, f = _box((-1, -1, -1), (1, 1, 1))
    surface = voxelize_surface(v, f, 16)
    border = np.ones((16, 16, 16), bool)
    border[1:-1, 1:-1, 1:-1] = False
    assert np.array_equal(surface, border)
    assert voxelize_solid(v, f, 16).all()
    # an inner face on the plane x = 0 touches both neighbouring layers
    v2, f2 = _box((0, -0.5, -0.5), (0.5, 0.5, 0.5))
    g = voxelize_surface(v2, f2, 16)
    assert g[7, 4:12, 4:12].all() and g[8, 4:12, 4:12].all() and not g[6].any()


def test_far_away_and_huge_geometry():
    """Vertices far outside the grid neither overflow nor hang: a huge ground plane through y = 0 marks the
    two layers around it, a far triangle marks nothing."""
    big = 1e12
    plane = [[-big, 0, -big], [big, 0, -big], [0, 0, big]]
    v = np.array(plane + [[1e15, 1e15, 1e15], [2e15, 1e15, 1e15], [0, 2e15, 0]])
    g = voxelize_surface(v, np.array([[0, 1, 2], [3, 4, 5]]), 8)
    want = np.zeros((8, 8, 8), bool)
    want[:, 3:5, :] = True
    assert np.array_equal(g, want)
