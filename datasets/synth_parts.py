"""Closed parametric mesh parts for the synthetic collection: boxes, frusta, surfaces of revolution, tori,
prisms.

Every constructor returns a :class:`Part`: vertices ``(V, 3)`` float64 and faces ``(F, 3)`` int64 forming a
closed, outward-oriented triangle surface (every edge shared by exactly two faces). Shapes are assembled by
plain concatenation (:func:`merge`); overlapping parts are allowed, as in ShapeNet. Coordinates: y is up.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Part", "box", "frustum", "lathe", "sphere", "torus", "prism", "merge", "rotation"]


@dataclass(frozen=True)
class Part:
    """One closed surface: ``vertices (V, 3)`` float64, ``faces (F, 3)`` int64, and a material name."""

    vertices: np.ndarray
    faces: np.ndarray
    material: str = "default"

    def transformed(self, rot: np.ndarray | None = None, shift=(0.0, 0.0, 0.0)) -> Part:
        """``v @ rot.T + shift``; a reflection (det < 0) flips the winding to keep faces outward."""
        v = self.vertices if rot is None else self.vertices @ np.asarray(rot).T
        f = self.faces if rot is None or np.linalg.det(rot) > 0 else self.faces[:, ::-1]
        return Part(v + np.asarray(shift, dtype=np.float64), f, self.material)

    def with_material(self, material: str) -> Part:
        return Part(self.vertices, self.faces, material)


def rotation(axis: str, angle: float) -> np.ndarray:
    """Right-handed rotation matrix (3, 3) by ``angle`` radians about ``"x"``, ``"y"`` or ``"z"``."""
    c, s = np.cos(angle), np.sin(angle)
    i = "xyz".index(axis)
    j, k = (i + 1) % 3, (i + 2) % 3
    m = np.eye(3)
    m[j, j], m[j, k], m[k, j], m[k, k] = c, -s, s, c
    return m


def _frame(direction: np.ndarray) -> np.ndarray:
    """Rotation (3, 3) whose columns (u, w, d) are an orthonormal frame with d along ``direction``."""
    d = direction / np.linalg.norm(direction)
    ref = np.array([1.0, 0.0, 0.0]) if abs(d[0]) < 0.9 else np.array([0.0, 0.0, 1.0])  # not parallel to d
    u = np.cross(ref, d)
    u /= np.linalg.norm(u)
    w = np.cross(d, u)
    return np.stack([u, w, d], axis=1)


def box(center, size, material: str = "default") -> Part:
    """Axis-aligned box with the given centre (3,) and full side lengths (3,)."""
    c = np.asarray(center, dtype=np.float64)
    h = np.asarray(size, dtype=np.float64) / 2
    corners = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], dtype=np.float64)
    # corner index = 4*ix + 2*iy + iz; two outward triangles per side
    faces = np.array(
        [
            [0, 1, 3], [0, 3, 2],  # x-
            [4, 6, 7], [4, 7, 5],  # x+
            [0, 4, 5], [0, 5, 1],  # y-
            [2, 3, 7], [2, 7, 6],  # y+
            [0, 2, 6], [0, 6, 4],  # z-
            [1, 5, 7], [1, 7, 3],  # z+
        ],
        dtype=np.int64,
    )  # fmt: skip
    return Part(c + corners * h, faces, material)


def lathe(profile, segments: int = 24, material: str = "default") -> Part:
    """Surface of revolution about the y axis of a profile polyline ``(K, 2)`` of ``(radius, y)`` points.

    The profile runs from a point on the axis (radius 0) to another point on the axis, counter-clockwise in
    the (radius, y) half-plane (e.g. bottom pole -> outer wall upwards -> top pole), so the surface is closed
    and outward. Interior profile points must have radius > 0.
    """
    p = np.asarray(profile, dtype=np.float64)
    if p.shape[0] < 3 or p[0, 0] != 0 or p[-1, 0] != 0 or np.any(p[1:-1, 0] <= 0):
        raise ValueError(
            "lathe profile must start and end on the axis (radius 0) with positive radii between"
        )
    ring = p[1:-1]
    k = ring.shape[0]
    theta = 2 * np.pi * np.arange(segments) / segments
    # ring vertex (i, s) at index 2 + i * segments + s; poles at 0 (start) and 1 (end)
    rv = np.stack(
        [
            ring[:, None, 0] * np.cos(theta),
            np.repeat(ring[:, None, 1], segments, 1),
            -ring[:, None, 0] * np.sin(theta),
        ],
        axis=-1,
    ).reshape(-1, 3)
    v = np.concatenate([[[0.0, p[0, 1], 0.0], [0.0, p[-1, 1], 0.0]], rv])
    s = np.arange(segments)
    s1 = (s + 1) % segments
    idx = lambda i, t: 2 + i * segments + t  # noqa: E731
    faces = [np.stack([np.zeros(segments, np.int64), idx(0, s1), idx(0, s)], axis=1)]
    for i in range(k - 1):
        a, b, c, d = idx(i, s), idx(i, s1), idx(i + 1, s1), idx(i + 1, s)
        faces += [np.stack([a, b, c], 1), np.stack([a, c, d], 1)]
    faces.append(np.stack([np.ones(segments, np.int64), idx(k - 1, s), idx(k - 1, s1)], axis=1))
    return Part(v, np.concatenate(faces).astype(np.int64), material)


def frustum(p0, p1, r0: float, r1: float, segments: int = 16, material: str = "default") -> Part:
    """Closed truncated cone (a cylinder when ``r0 == r1``, a cone when ``r1 == 0``) from ``p0`` to ``p1``."""
    p0, p1 = np.asarray(p0, dtype=np.float64), np.asarray(p1, dtype=np.float64)
    length = float(np.linalg.norm(p1 - p0))
    profile = [(0.0, 0.0), (r0, 0.0)] + ([(r1, length)] if r1 > 0 else []) + [(0.0, length)]
    part = lathe(profile, segments, material)
    # lathe axis y -> frame axis d; (x, y, z) -> columns (u, d, w) keeps the orientation right-handed
    frame = _frame(p1 - p0)
    rot = np.stack([frame[:, 0], frame[:, 2], -frame[:, 1]], axis=1)
    return part.transformed(rot, p0)


def sphere(center, radius: float, segments: int = 16, rings: int = 8, material: str = "default") -> Part:
    """UV sphere (or ellipsoid when ``radius`` is a (3,) of semi-axes) around ``center``."""
    phi = np.linspace(-np.pi / 2, np.pi / 2, rings + 1)
    profile = np.stack([np.cos(phi), np.sin(phi)], axis=1)
    profile[0, 0] = profile[-1, 0] = 0.0
    part = lathe(profile, segments, material)
    return Part(
        part.vertices * np.asarray(radius, dtype=np.float64) + np.asarray(center, float), part.faces, material
    )


def torus(
    center,
    major: float,
    minor: float,
    arc: float = 2 * np.pi,
    segments: int = 24,
    tube_segments: int = 10,
    material: str = "default",
) -> Part:
    """Torus in the x-y plane around ``center`` (axis z); ``arc < 2 pi`` gives a capped arc from angle
    ``-arc/2`` to ``+arc/2`` measured from +x."""
    full = arc >= 2 * np.pi - 1e-9
    n = segments if full else segments + 1
    theta = np.linspace(-arc / 2, arc / 2, n, endpoint=not full) if not full else np.arange(n) * 2 * np.pi / n
    phi = np.arange(tube_segments) * 2 * np.pi / tube_segments
    ct, st = np.cos(theta)[:, None], np.sin(theta)[:, None]
    rad = major + minor * np.cos(phi)[None, :]
    z = np.broadcast_to(minor * np.sin(phi)[None, :], (n, tube_segments))
    v = np.stack([rad * ct, rad * st, z], -1).reshape(-1, 3)
    i = np.arange(n if full else n - 1)[:, None]
    j = np.arange(tube_segments)[None, :]
    i1, j1 = (i + 1) % n, (j + 1) % tube_segments
    a, b, c, d = (
        i * tube_segments + j,
        i1 * tube_segments + j,
        i1 * tube_segments + j1,
        i * tube_segments + j1,
    )
    faces = np.concatenate([np.stack([a, b, c], -1).reshape(-1, 3), np.stack([a, c, d], -1).reshape(-1, 3)])
    if not full:  # cap both ends with a fan around the tube centre
        centres = np.array([[major * np.cos(t), major * np.sin(t), 0.0] for t in (theta[0], theta[-1])])
        c0, c1 = v.shape[0], v.shape[0] + 1
        v = np.concatenate([v, centres])
        jj = np.arange(tube_segments)
        jn = (jj + 1) % tube_segments
        last = (n - 1) * tube_segments
        cap0 = np.stack([np.full(tube_segments, c0), jj, jn], 1)
        cap1 = np.stack([np.full(tube_segments, c1), last + jn, last + jj], 1)
        faces = np.concatenate([faces, cap0, cap1])
    return Part(v + np.asarray(center, dtype=np.float64), faces.astype(np.int64), material)


def prism(polygon, thickness: float, material: str = "default") -> Part:
    """Convex polygon ``(K, 2)`` in the x-z plane (counter-clockwise seen from +y), extruded symmetrically
    along y to the given thickness. Transform it into place with :meth:`Part.transformed`."""
    p = np.asarray(polygon, dtype=np.float64)
    k = p.shape[0]
    # counter-clockwise seen from +y means the signed area in (z, x) is positive
    if np.sum(p[:, 1] * np.roll(p[:, 0], -1) - np.roll(p[:, 1], -1) * p[:, 0]) < 0:
        p = p[::-1]
    h = thickness / 2
    bottom = np.stack([p[:, 0], np.full(k, -h), p[:, 1]], axis=1)
    top = np.stack([p[:, 0], np.full(k, h), p[:, 1]], axis=1)
    v = np.concatenate([bottom, top])
    i = np.arange(k)
    i1 = (i + 1) % k
    fan = np.arange(1, k - 1)
    faces = np.concatenate(
        [
            np.stack([np.zeros(k - 2, np.int64), fan + 1, fan], 1),  # bottom, facing -y
            np.stack([np.full(k - 2, k), k + fan, k + fan + 1], 1),  # top, facing +y
            np.stack([i, i1, k + i1], 1),
            np.stack([i, k + i1, k + i], 1),
        ]
    )
    return Part(v, faces.astype(np.int64), material)


def merge(parts: list[Part]) -> tuple[np.ndarray, np.ndarray, list[tuple[str, int, int]]]:
    """Concatenate parts: ``(vertices (V, 3), faces (F, 3), groups)`` with ``groups`` = (material, first face,
    face count) per part, in order."""
    offsets = np.cumsum([0] + [p.vertices.shape[0] for p in parts[:-1]])
    vertices = np.concatenate([p.vertices for p in parts])
    faces = np.concatenate([p.faces + o for p, o in zip(parts, offsets)])
    firsts = np.cumsum([0] + [p.faces.shape[0] for p in parts[:-1]])
    groups = [(p.material, int(s), int(p.faces.shape[0])) for p, s in zip(parts, firsts)]
    return vertices, faces, groups
