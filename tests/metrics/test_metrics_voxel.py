import numpy as np
import pytest

from gen3d.errors import UserInputError
from gen3d.metrics import evaluate_voxel_sets, iou_distance_pairwise, voxel_jsd, voxels_to_surface_points


def test_iou_against_loops(rng):
    A = rng.random((3, 1, 5, 5, 5)) > 0.5
    B = rng.random((2, 5, 5, 5)) > 0.6
    D = iou_distance_pairwise(A.astype(np.float32), B)
    for i in range(3):
        for j in range(2):
            inter = union = 0
            for idx in np.ndindex(5, 5, 5):
                a, b = A[i, 0][idx], B[j][idx]
                inter += a and b
                union += a or b
            assert D[i, j] == pytest.approx(1 - inter / union)


def test_identical_voxel_sets(rng):
    V = (rng.random((4, 1, 6, 6, 6)) > 0.5).astype(np.float32)
    r = evaluate_voxel_sets(V, V.copy())
    assert r["metrics"]["iou"]["mmd"] == 0.0 and r["metrics"]["iou"]["cov"] == 1.0
    assert r["jsd"]["jsd"] == 0.0
    assert voxel_jsd(V[:1], 1 - V[:1]) == pytest.approx(1.0)  # disjoint occupied cells: 1 bit


def test_surface_points_of_a_solid_cube(rng):
    R = 8
    v = np.zeros((1, 1, R, R, R), np.float32)
    v[0, 0, 2:6, 2:6, 2:6] = 1  # occupies [-0.5, 0.5]^3; interior cells [3:5]^3 = [-0.25, 0.25]^3
    pts = voxels_to_surface_points(v, 500, rng)
    assert pts.shape == (1, 500, 3) and pts.dtype == np.float32
    assert (np.abs(pts) <= 0.5 + 1e-6).all()
    assert (np.abs(pts).max(axis=2) >= 0.25 - 1e-6).all()  # never in an interior cell


def test_surface_points_respect_origin_and_spacing(rng):
    v = np.ones((1, 2, 2, 2), np.float32)
    pts = voxels_to_surface_points(v, 100, rng, origin=(10, 0, 0), spacing=0.5)
    assert (pts[..., 0] >= 10).all() and (pts[..., 0] <= 11).all()


def test_errors(rng):
    with pytest.raises(UserInputError, match="empty"):
        voxels_to_surface_points(np.zeros((2, 1, 4, 4, 4)), 10, rng)
    with pytest.raises(UserInputError, match="resolution"):
        iou_distance_pairwise(np.zeros((1, 4, 4, 4)), np.zeros((1, 5, 5, 5)))
    with pytest.raises(UserInputError):
        iou_distance_pairwise(np.zeros((1, 4, 4, 5)))
