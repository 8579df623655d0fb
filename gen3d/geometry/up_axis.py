"""The up axis of shape data and the one rotation that shows it upright.

ShapeNet and PointFlow's PC15k are y-up; ModelNet (meshes, its point files, grids made from it) is z-up. Data
are never rotated on disk: the axis is metadata (``gen3d prepare --up``, recorded in the cache manifest and
in sample files) that pictures use. Every picture is drawn in the *view frame*, which is y-up; a shape
whose up axis is ``a`` is mapped into it by :func:`view_rotation` ``R(a)``. Rotating the shape by ``R`` is
the same as keeping it and moving the camera by ``R^T``: the camera's up vector is then the data's up axis
(:func:`up_vector`) and the camera orbits that axis.

Grids follow the same convention: index ``[i, j, k]`` is ``(x, y, z)`` (:mod:`gen3d.geometry.voxelize`),
so for z-up grids the last array axis is up.
"""

from __future__ import annotations

import numpy as np

__all__ = ["DEFAULT_UP_AXIS", "UP_AXES", "check_up_axis", "to_view_frame", "up_vector", "view_rotation"]

UP_AXES = ("x", "y", "z")
DEFAULT_UP_AXIS = "y"  # ShapeNet / PointFlow convention, and what files that record no axis are read as

# Proper rotations (det +1) taking the data's up axis to +y. z-up: a -90 degree turn about x, so the data's -y
# side (the front in z-up tools such as Blender) faces the default camera on +z; x-up: +90 degrees about z.
_ROTATIONS = {
    "x": np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]),
    "y": np.eye(3),
    "z": np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]]),
}


def check_up_axis(axis: str) -> str:
    """``axis`` if it is one of :data:`UP_AXES`, else ValueError naming them (callers turn it into a
    ``UserInputError`` where a user gave the value)."""
    if axis not in UP_AXES:
        raise ValueError(f"up axis must be one of {', '.join(UP_AXES)}, got {axis!r}")
    return axis


def up_vector(axis: str) -> np.ndarray:
    """The unit vector (3,) of ``axis`` in the data's frame: the camera's up vector for upright views."""
    return np.eye(3)[UP_AXES.index(check_up_axis(axis))]


def view_rotation(axis: str) -> np.ndarray:
    """Rotation (3,3) ``R`` with ``R @ up_vector(axis) = (0, 1, 0)``: data frame -> y-up view frame."""
    return _ROTATIONS[check_up_axis(axis)].copy()


def to_view_frame(points: np.ndarray, axis: str) -> np.ndarray:
    """Points (N,3) of data whose up axis is ``axis`` in the y-up view frame, (N,3) float64."""
    pts = np.asarray(points, dtype=np.float64)
    return pts if check_up_axis(axis) == "y" else pts @ view_rotation(axis).T
