"""Area-weighted uniform sampling of points on a triangle mesh surface."""

from __future__ import annotations

import numpy as np

__all__ = ["sample_surface", "face_areas"]


def _mesh_arrays(vertices, faces) -> tuple[np.ndarray, np.ndarray]:
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    if v.ndim != 2 or v.shape[1] != 3:
        raise ValueError(f"vertices must have shape (V, 3), got {v.shape}")
    if f.ndim != 2 or f.shape[1] != 3:
        raise ValueError(f"faces must have shape (F, 3), got {f.shape}")
    if f.size and (f.min() < 0 or f.max() >= v.shape[0]):
        raise ValueError("face index out of range (see gen3d.geometry.check_mesh)")
    return v, f


def face_areas(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Triangle areas ``(F,)`` float64 of a mesh (``vertices (V, 3)``, ``faces (F, 3)``)."""
    v, f = _mesh_arrays(vertices, faces)
    a, b, c = v[f[:, 0]], v[f[:, 1]], v[f[:, 2]]
    return 0.5 * np.linalg.norm(np.cross(b - a, c - a), axis=1)


def sample_surface(
    vertices: np.ndarray,
    faces: np.ndarray,
    n: int,
    rng: np.random.Generator,
    with_normals: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Sample ``n`` points uniformly on the surface: ``points (n, 3) float32`` [, ``normals (n, 3) float32``].

    Step 1: pick a face with probability proportional to its area (inverse CDF of the cumulative areas).
    Step 2: a uniform point in that triangle from two uniforms ``u, v``, reflected into the triangle when
    ``u + v > 1``: ``p = a + u (b - a) + v (c - a)``. Normals are the unit face normals (orientation as the
    face winding gives it; ShapeNet windings are not consistent). All randomness comes from ``rng``.
    Raises ``ValueError`` for a mesh with zero total area (check it first with ``check_mesh``).
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError("rng must be a numpy.random.Generator (e.g. numpy.random.default_rng(seed))")
    n = int(n)
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    v, f = _mesh_arrays(vertices, faces)
    a, b, c = v[f[:, 0]], v[f[:, 1]], v[f[:, 2]]
    cross = np.cross(b - a, c - a)
    double_area = np.linalg.norm(cross, axis=1)
    cdf = np.cumsum(double_area)
    if f.shape[0] == 0 or not cdf[-1] > 0 or not np.isfinite(cdf[-1]):
        raise ValueError(
            "cannot sample a mesh with zero (or non-finite) surface area; check it with check_mesh"
        )
    # step 1: area-weighted face choice; searchsorted 'right' never picks a zero-area face
    face = np.searchsorted(cdf, rng.random(n) * cdf[-1], side="right")
    np.minimum(face, f.shape[0] - 1, out=face)
    # step 2: uniform barycentric coordinates by reflection of the unit square's upper half
    uv = rng.random((n, 2))
    flip = uv.sum(axis=1) > 1.0
    uv[flip] = 1.0 - uv[flip]
    fa = a[face]
    points = fa + uv[:, :1] * (b[face] - fa) + uv[:, 1:] * (c[face] - fa)
    if not with_normals:
        return points.astype(np.float32)
    normals = cross[face] / double_area[face, None]
    return points.astype(np.float32), normals.astype(np.float32)
