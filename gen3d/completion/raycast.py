"""Depth scans of meshes by ray casting (Open3D's ``RaycastingScene``), back-projected to points.

One ray per pixel of a :class:`~gen3d.completion.cameras.Camera`: in camera coordinates the ray of pixel
``(u, v)`` has direction ``d = ((u + 0.5 - cx) / fx, (v + 0.5 - cy) / fy, 1)``, so the hit distance ``t``
along it is the pixel's depth ``z`` and the point is ``c + t R^T d``. A sensor model adds Gaussian depth
noise (standard deviation ``depth_noise`` in the mesh's units, along each ray) and drops each valid pixel
with probability ``dropout``. Open3D is imported inside :func:`depth_scan` only (the ``viz`` extra; it is
not a core dependency).
"""

from __future__ import annotations

import numpy as np

from gen3d.completion.cameras import Camera

__all__ = ["camera_rays", "depth_scan"]


def camera_rays(camera: Camera) -> tuple[np.ndarray, np.ndarray]:
    """``(origins (H*W, 3), directions (H*W, 3))`` float64 in world coordinates, row-major over pixels, each
    direction with unit z-component in camera coordinates (so the hit distance is the depth)."""
    k = camera.intrinsic()
    u, v = np.meshgrid(np.arange(camera.width) + 0.5, np.arange(camera.height) + 0.5)
    d_cam = np.stack([(u - k[0, 2]) / k[0, 0], (v - k[1, 2]) / k[1, 1], np.ones_like(u)], axis=-1)
    d_world = d_cam.reshape(-1, 3) @ camera.rotation()  # R^T d for each row
    origins = np.broadcast_to(np.asarray(camera.center), d_world.shape).copy()
    return origins, d_world


def depth_scan(
    vertices: np.ndarray,
    faces: np.ndarray,
    camera: Camera,
    rng: np.random.Generator | None = None,
    *,
    depth_noise: float = 0.0,
    dropout: float = 0.0,
) -> np.ndarray:
    """The points (M, 3) float64 of ``vertices`` (V, 3) / ``faces`` (F, 3) that ``camera`` sees, one per
    pixel whose ray hits the mesh (M = 0 when none does); noise and dropout as in the module docstring, drawn
    from ``rng`` (required when either is non-zero)."""
    import open3d as o3d

    if depth_noise < 0 or not 0.0 <= dropout < 1.0:
        raise ValueError(f"need depth_noise >= 0 and dropout in [0, 1), got {depth_noise}, {dropout}")
    if (depth_noise > 0 or dropout > 0) and rng is None:
        raise ValueError("sensor noise and dropout need a numpy Generator (rng)")
    scene = o3d.t.geometry.RaycastingScene()
    scene.add_triangles(
        o3d.core.Tensor.from_numpy(np.ascontiguousarray(vertices, dtype=np.float32)),
        o3d.core.Tensor.from_numpy(np.ascontiguousarray(faces, dtype=np.uint32)),
    )
    origins, dirs = camera_rays(camera)
    rays = o3d.core.Tensor.from_numpy(np.ascontiguousarray(np.hstack([origins, dirs]), dtype=np.float32))
    t = scene.cast_rays(rays)["t_hit"].numpy().astype(np.float64)
    hit = np.isfinite(t)
    if rng is not None and dropout > 0:
        hit &= rng.random(len(t)) >= dropout
    depth = t[hit]
    if rng is not None and depth_noise > 0:
        depth = depth + rng.normal(0.0, depth_noise, size=depth.shape)
    return origins[hit] + depth[:, None] * dirs[hit]
