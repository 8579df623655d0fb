"""Grid operations checked against closed-form answers on boxes."""

from __future__ import annotations

import numpy as np

from gen3d.datasets.gridops import grid_surface_points, points_to_grid, resample_grid, solid_and_surface


def _hollow_box(r=8):
    g = np.zeros((r, r, r), dtype=bool)
    g[2:6, 2:6, 2:6] = True
    g[3:5, 3:5, 3:5] = False  # enclosed cavity
    return g


def test_solid_fills_cavities_and_surface_is_the_shell():
    solid, surface = solid_and_surface(_hollow_box())
    want = np.zeros((8, 8, 8), dtype=bool)
    want[2:6, 2:6, 2:6] = True
    assert np.array_equal(solid, want)
    assert surface.sum() == 4**3 - 2**3 and not surface[3:5, 3:5, 3:5].any()


def test_resample_block_majority_and_nearest():
    g = np.zeros((8, 8, 8), dtype=bool)
    g[:4, :4, :4] = True
    small = resample_grid(g, 2)
    assert small[0, 0, 0] and small.sum() == 1
    up = resample_grid(small, 4)  # nearest when upsampling
    assert up[:2, :2, :2].all() and up.sum() == 8
    assert resample_grid(g, 3).shape == (3, 3, 3)


def test_boundary_points_lie_on_the_box_faces_uniformly():
    g = np.zeros((8, 8, 8), dtype=bool)
    g[2:6, 2:4, 2:6] = True  # box [-0.5,0.5] x [-0.5,0] x [-0.5,0.5] in [-1,1]^3
    pts, nrm = grid_surface_points(g, 6000, np.random.default_rng(0), with_normals=True)
    lo, hi = np.array([-0.5, -0.5, -0.5]), np.array([0.5, 0.0, 0.5])
    assert (pts >= lo - 1e-6).all() and (pts <= hi + 1e-6).all()
    on_face = np.isclose(pts, lo, atol=1e-6) | np.isclose(pts, hi, atol=1e-6)
    assert on_face.any(axis=1).all()
    # the +y face (area 1) carries 1/4 of the total area 4 (1 + 1 + 0.5 * 4)
    frac = np.mean(np.isclose(pts[:, 1], 0.0) & (nrm[:, 1] == 1))
    assert abs(frac - 0.25) < 0.03


def test_points_to_grid_marks_cells_with_points():
    pts = np.array([[-0.99, -0.99, -0.99], [0.1, 0.1, 0.1], [5.0, 0, 0]])
    g = points_to_grid(pts, 4)
    assert g.sum() == 2 and g[0, 0, 0] and g[2, 2, 2]
