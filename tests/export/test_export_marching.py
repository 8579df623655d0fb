"""Marching cubes against closed-form volumes and the grid convention (cell centre = origin + (idx+0.5)*h)."""

import numpy as np
import pytest

from gen3d.export import DegenerateShapeError, mesh_report, voxels_to_mesh


def _centres(res, origin, spacing):
    c = [origin[a] + (np.arange(res) + 0.5) * spacing for a in range(3)]
    return np.meshgrid(*c, indexing="ij")


def test_sphere_sdf_volume_and_position_with_non_default_frame():
    res, origin, h = 40, np.array([2.0, -3.0, 0.5]), 0.05
    x, y, z = _centres(res, origin, h)
    centre, r = origin + np.array([1.0, 0.9, 1.1]), 0.7
    field = r - np.sqrt((x - centre[0]) ** 2 + (y - centre[1]) ** 2 + (z - centre[2]) ** 2)
    mesh = voxels_to_mesh(field, origin=origin, spacing=h, level=0.0)
    rep = mesh_report(mesh)
    assert rep.watertight and rep.components == 1
    assert rep.volume == pytest.approx(4 / 3 * np.pi * r**3, rel=0.01)
    np.testing.assert_allclose(mesh.centroid, centre, atol=1e-3)
    # every vertex lies on the sphere up to the linear interpolation error of one cell
    np.testing.assert_allclose(np.linalg.norm(mesh.vertices - centre, axis=1), r, atol=0.2 * h)


def test_binary_box_faces_on_cell_boundaries_default_frame():
    res = 32
    occ = np.zeros((res, res, res), np.float32)
    occ[4:24, 8:20, 10:30] = 1.0  # 20 x 12 x 20 cells
    mesh = voxels_to_mesh(occ)  # default frame [-1,1]^3, h = 2/R
    h = 2.0 / res
    # the 0.5 level between a full and an empty cell centre is the cell boundary
    np.testing.assert_allclose(mesh.bounds[0], -1 + np.array([4, 8, 10]) * h, atol=1e-9)
    np.testing.assert_allclose(mesh.bounds[1], -1 + np.array([24, 20, 30]) * h, atol=1e-9)
    assert mesh.is_watertight
    # marching cubes chamfers the 12 edges: volume is within 1% of the box below it
    box = 20 * 12 * 20 * h**3
    assert box * 0.98 < mesh.volume < box


def test_shape_touching_border_is_closed_and_largest_component_filter():
    occ = np.zeros((16, 16, 16), np.float32)
    occ[:8, :8, :8] = 1  # touches the border
    occ[12:14, 12:14, 12:14] = 1  # a small second blob
    mesh = voxels_to_mesh(occ)
    assert mesh.is_watertight and mesh_report(mesh).components == 2
    big = voxels_to_mesh(occ, largest_component=True)
    assert mesh_report(big).components == 1 and big.bounds[1][0] < 0.01


def test_smoothing_keeps_volume_and_watertightness():
    res = 32
    x, y, z = _centres(res, (-1, -1, -1), 2 / res)
    occ = (x**2 + y**2 + z**2 < 0.6**2).astype(np.float32)
    raw = voxels_to_mesh(occ)
    smooth = voxels_to_mesh(occ, smooth_iterations=10)
    assert smooth.is_watertight
    assert smooth.volume == pytest.approx(raw.volume, rel=0.03)
    # smoothing moves vertices towards the true sphere (radial spread shrinks)
    assert np.linalg.norm(smooth.vertices, axis=1).std() < np.linalg.norm(raw.vertices, axis=1).std()


@pytest.mark.parametrize(
    "grid, match",
    [
        (np.zeros((8, 8, 8)), "empty"),
        (np.full((8, 8, 8), np.nan), "NaN"),
        (np.zeros((8, 8, 4)), "shape"),
    ],
)
def test_degenerate_grids_raise_clear_errors(grid, match):
    with pytest.raises(DegenerateShapeError, match=match):
        voxels_to_mesh(grid)
