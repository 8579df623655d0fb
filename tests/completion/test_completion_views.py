"""Partial views: hidden-point removal and depth scans against closed forms, determinism, degenerate views."""

from __future__ import annotations

import numpy as np
import pytest

from gen3d.completion.cameras import Camera, look_at, sample_cameras
from gen3d.completion.hpr import hidden_point_removal
from gen3d.completion.views import ViewOptions, partial_views


def _sphere(n: int, seed: int = 0) -> np.ndarray:
    p = np.random.default_rng(seed).standard_normal((n, 3))
    return p / np.linalg.norm(p, axis=1, keepdims=True)


@pytest.mark.parametrize("distance", [1.5, 3.0, 10.0, 100.0])
def test_hpr_on_a_sphere_keeps_exactly_the_cap_the_camera_sees(distance):
    """From a point at distance d of the unit sphere's centre exactly the cap ``p . c_hat >= 1/d`` is visible
    (the near hemisphere as d grows); HPR must agree away from the horizon."""
    p = _sphere(4000)
    direction = np.array([2.0, -1.0, 0.5]) / np.linalg.norm([2.0, -1.0, 0.5])
    vis = np.zeros(len(p), bool)
    vis[hidden_point_removal(p, distance * direction)] = True
    cos = p @ direction
    assert not np.any(~vis & (cos > 1 / distance + 0.02)), "a point in the visible cap was removed"
    assert not np.any(
        vis & (cos < 1 / distance - 0.1)
    )  # 0.1: two point spacings, "a point behind the horizon was kept"
    assert vis.sum() > 0.9 * (cos > 1 / distance).sum()


def test_hpr_hides_the_far_wall_behind_a_near_one():
    """Two parallel square grids: from the side of the first, the second is hidden except near the rim."""
    g = np.stack(np.meshgrid(np.linspace(-1, 1, 30), np.linspace(-1, 1, 30)), -1).reshape(-1, 2)
    near = np.column_stack([np.full(len(g), 1.0), g])
    far = np.column_stack([np.full(len(g), -1.0), g * 0.5])  # smaller: completely behind the near wall
    p = np.vstack([near, far])
    vis = hidden_point_removal(p, np.array([5.0, 0.0, 0.0]))
    assert (vis >= len(near)).sum() == 0
    assert (vis < len(near)).sum() > 0.5 * len(near)


def test_hpr_degenerate_inputs():
    assert hidden_point_removal(np.zeros((3, 3)), np.ones(3)).size == 0
    flat = np.column_stack([np.random.default_rng(0).random((50, 2)), np.zeros(50)])
    assert hidden_point_removal(flat, np.array([0.5, 0.5, 2.0])).size >= 45  # a flat square seen from above
    line = np.column_stack([np.linspace(0, 1, 20), np.zeros(20), np.zeros(20)])
    assert hidden_point_removal(line, np.array([-1.0, 0.0, 0.0])).size == 0  # no 3-D hull at all
    with pytest.raises(ValueError, match="finite"):
        hidden_point_removal(np.full((5, 3), np.nan), np.ones(3))


def test_look_at_axes_and_camera_round_trip():
    r = look_at(np.array([3.0, 0, 0]), np.zeros(3), np.array([0, 0, 1.0]))
    np.testing.assert_allclose(r @ np.array([-1.0, 0, 0]), [0, 0, 1], atol=1e-12)  # forward is +z
    np.testing.assert_allclose(r @ np.array([0, 0, 1.0]), [0, -1, 0], atol=1e-12)  # world up is image -y
    np.testing.assert_allclose(r @ r.T, np.eye(3), atol=1e-12)
    cam = Camera((3.0, 1.0, 0.5), (0.0, 0.0, 0.0), width=40, height=30, fov_deg=70)
    back = Camera.from_dict(cam.to_dict())
    assert back == cam
    e = cam.extrinsic()
    np.testing.assert_allclose(e[:3, :3] @ np.array(cam.center) + e[:3, 3], 0, atol=1e-12)
    moved = cam.transformed(np.array([1.0, 1.0, 1.0]), np.full(3, 2.0))
    np.testing.assert_allclose(moved.center, [1.0, 0.0, -0.25])
    with pytest.raises(ValueError, match="up"):
        Camera((0.0, 0.0, 2.0), (0.0, 0.0, 0.0), up=(0.0, 0.0, 1.0))


def test_sample_cameras_are_deterministic_and_at_the_asked_distance():
    a = sample_cameras(5, np.ones(3), 2.0, np.random.default_rng(3), distance=3.0)
    b = sample_cameras(5, np.ones(3), 2.0, np.random.default_rng(3), distance=3.0)
    assert a == b
    for c in a:
        assert np.linalg.norm(np.array(c.center) - 1.0) == pytest.approx(6.0)


def test_depth_scan_of_a_cube_face_has_the_exact_depth():
    """A unit cube seen head-on from (3, 0, 0) with a narrow field of view: every ray hits the face x = 0.5,
    so every depth is 2.5 and every point lies on that face."""
    import trimesh

    from gen3d.completion.raycast import depth_scan

    m = trimesh.creation.box(extents=(1.0, 1.0, 1.0))
    cam = Camera((3.0, 0.0, 0.0), (0.0, 0.0, 0.0), width=16, height=12, fov_deg=10.0)
    pts = depth_scan(m.vertices, m.faces, cam)
    assert pts.shape == (16 * 12, 3)
    np.testing.assert_allclose(pts[:, 0], 0.5, atol=1e-5)
    assert np.abs(pts[:, 1:]).max() < 0.5
    # facing -x with +z up, the right hand points to +y: the first (top-left) pixel sees -y, +z
    assert pts[0, 1] < 0 and pts[0, 2] > 0


def test_depth_scan_of_a_sphere_lies_on_the_visible_cap_and_noise_is_seeded():
    import trimesh

    from gen3d.completion.raycast import depth_scan

    m = trimesh.creation.icosphere(subdivisions=4)
    cam = Camera((0.0, -3.0, 0.0), (0.0, 0.0, 0.0), width=32, height=32, fov_deg=50.0)
    pts = depth_scan(m.vertices, m.faces, cam)
    assert len(pts) > 300
    np.testing.assert_allclose(np.linalg.norm(pts, axis=1), 1.0, atol=2e-3)
    assert (pts @ np.array([0.0, -1.0, 0.0])).min() > 1 / 3 - 0.02
    a = depth_scan(m.vertices, m.faces, cam, np.random.default_rng(1), depth_noise=0.01, dropout=0.5)
    b = depth_scan(m.vertices, m.faces, cam, np.random.default_rng(1), depth_noise=0.01, dropout=0.5)
    np.testing.assert_array_equal(a, b)
    assert 0.35 * len(pts) < len(a) < 0.65 * len(pts)
    assert np.abs(np.linalg.norm(a, axis=1) - 1.0).max() > 5e-3  # noisy now


def test_partial_views_count_and_skip_degenerate_views():
    import trimesh

    m = trimesh.creation.icosphere(subdivisions=2)
    opts = ViewOptions(k=3, width=2, height=2, min_points=10)  # a 2x2 image holds at most 4 points
    vs = partial_views(np.random.default_rng(0), opts, mesh=(m.vertices, m.faces))
    assert vs.views == [] and vs.skipped == {"fewer than 10 points": 3}
    tri = np.array([[0.0, 0, 0], [1, 0, 0], [0, 1, 0]])  # three points: no hull, nothing visible
    vs = partial_views(np.random.default_rng(0), ViewOptions(k=2, min_points=1), points=tri)
    assert vs.views == [] and vs.skipped == {"nothing visible": 2}
    pts = np.array(m.vertices)
    pts[0] = np.nan
    vs = partial_views(np.random.default_rng(0), ViewOptions(k=2), points=pts)
    assert vs.views == [] and sum(vs.skipped.values()) == 2
    vs = partial_views(np.random.default_rng(0), ViewOptions(k=2), points=np.zeros((20, 3)))
    assert vs.views == [] and sum(vs.skipped.values()) == 2


def test_partial_views_are_deterministic_and_subsampled():
    p = _sphere(2000, seed=1).astype(np.float32)
    opts = ViewOptions(k=4, max_points=200)
    a = partial_views(np.random.default_rng(5), opts, points=p)
    b = partial_views(np.random.default_rng(5), opts, points=p)
    assert len(a.views) == 4
    for va, vb in zip(a.views, b.views):
        assert va.camera == vb.camera and va.sensor == "hpr"
        np.testing.assert_array_equal(va.points, vb.points)
        assert va.points.shape == (200, 3)
        c = np.array(va.camera.center)
        assert (va.points @ (c / np.linalg.norm(c))).min() > 1 / np.linalg.norm(c) - 0.15
