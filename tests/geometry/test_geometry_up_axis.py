"""The up axis -> view-frame rotation: the data's up axis becomes vertical, by a proper rotation, and the
camera that the y-up view frame implies sits where the conventions put it (z-up data seen from -y)."""

import numpy as np
import pytest

from gen3d.geometry.up_axis import UP_AXES, check_up_axis, to_view_frame, up_vector, view_rotation

EX, EY, EZ = np.eye(3)


@pytest.mark.parametrize("axis", UP_AXES)
def test_rotation_turns_the_up_axis_vertical_without_mirroring(axis):
    R = view_rotation(axis)
    np.testing.assert_allclose(R @ R.T, np.eye(3), atol=1e-12)  # orthonormal
    assert np.linalg.det(R) == pytest.approx(1.0)  # a rotation, not a mirror: meshes keep their winding
    np.testing.assert_allclose(R @ up_vector(axis), EY, atol=1e-12)
    # seen from the data: the view frame's camera up (+y) is the data's up axis
    np.testing.assert_allclose(R.T @ EY, {"x": EX, "y": EY, "z": EZ}[axis], atol=1e-12)


def test_where_the_default_camera_sits_in_the_data():
    """The gallery's camera at azimuth 0 looks from +z of the view frame; in the data that is R^T e_z."""
    np.testing.assert_allclose(view_rotation("y"), np.eye(3))
    # z-up: x stays to the right and the camera looks from -y (the front in z-up tools such as Blender)
    np.testing.assert_allclose(view_rotation("z").T @ EZ, -EY, atol=1e-12)
    np.testing.assert_allclose(view_rotation("z") @ EX, EX, atol=1e-12)
    # x-up: the camera keeps looking from +z
    np.testing.assert_allclose(view_rotation("x").T @ EZ, EZ, atol=1e-12)


def test_points_map_into_the_view_frame():
    tall_in_z = np.array([[0.1, 0.2, -3.0], [0.1, 0.2, 3.0]])
    v = to_view_frame(tall_in_z, "z")
    assert v[:, 1].tolist() == [-3.0, 3.0] and np.allclose(v[:, [0, 2]], [[0.1, -0.2], [0.1, -0.2]])
    np.testing.assert_array_equal(to_view_frame(tall_in_z, "y"), tall_in_z)


@pytest.mark.parametrize("bad", ["w", "Z", "", "-y"])
def test_unknown_axes_are_refused(bad):
    with pytest.raises(ValueError, match="up axis must be one of x, y, z"):
        check_up_axis(bad)
    with pytest.raises(ValueError):
        to_view_frame(np.zeros((1, 3)), bad)
