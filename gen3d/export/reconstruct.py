"""Point cloud -> triangle mesh with Open3D: screened Poisson, ball pivoting, alpha shapes."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from gen3d.export.checks import DegenerateShapeError, check_points

__all__ = ["METHODS", "points_to_mesh"]

METHODS = ("poisson", "ball_pivoting", "alpha")


def _median_spacing(points: np.ndarray) -> float:
    """Median distance from each point to its nearest neighbour (the sampling density of the cloud)."""
    from scipy.spatial import cKDTree

    d, _ = cKDTree(points).query(points, k=2)
    return float(np.median(d[:, 1]))


def _oriented_cloud(o3d, points: np.ndarray, normals: np.ndarray | None, knn: int):
    """Open3D cloud with unit normals: given ones, or PCA normals made consistent over a Riemannian graph
    (minimum spanning tree propagation) and flipped so that they point away from the centroid on average."""
    pcd = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(points))
    if normals is not None:
        n = np.asarray(normals, dtype=np.float64)
        if n.shape != points.shape or not np.isfinite(n).all():
            raise DegenerateShapeError(f"normals must be finite with shape {points.shape}, got {n.shape}")
        pcd.normals = o3d.utility.Vector3dVector(
            n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
        )
        return pcd
    k = int(min(knn, len(points) - 1))
    pcd.estimate_normals(o3d.geometry.KDTreeSearchParamKNN(knn=k))
    pcd.orient_normals_consistent_tangent_plane(k)
    n = np.asarray(pcd.normals)
    # the propagation fixes orientation up to one global sign: choose the outward one
    if float(np.sum(n * (points - points.mean(0)))) < 0:
        pcd.normals = o3d.utility.Vector3dVector(-n)
    return pcd


def points_to_mesh(
    points: np.ndarray,
    method: str = "poisson",
    *,
    normals: np.ndarray | None = None,
    knn: int = 20,
    depth: int = 8,
    density_quantile: float = 0.02,
    radii: Sequence[float] | None = None,
    alpha: float | None = None,
):
    """Reconstruct a surface from one point cloud (N,3).

    Args:
        method: ``"poisson"`` (screened Poisson, Kazhdan & Hoppe 2013; needs oriented normals),
            ``"ball_pivoting"`` (Bernardini et al. 1999), or ``"alpha"`` (alpha shape).
        normals: (N,3) oriented normals; estimated from ``knn`` neighbours and oriented consistently if None.
        depth: Poisson octree depth (resolution 2^depth).
        density_quantile: Poisson density trimming: drop vertices whose sampling density is below this
            quantile (removes the surface Poisson invents far from the points); 0 = keep all.
        radii: ball radii for ball pivoting; default (1, 2, 4) x 1.5 x median nearest-neighbour spacing.
        alpha: alpha-shape radius; default 12 x median nearest-neighbour spacing (alpha shapes are sensitive
            to it: too small leaves holes and fragments).

    Returns:
        ``trimesh.Trimesh`` (vertices (V,3) float64, faces (F,3) int64).

    Raises:
        DegenerateShapeError: too few / NaN / flat points, or a reconstruction that produced no faces.
    """
    import open3d as o3d
    import trimesh

    if method not in METHODS:
        raise ValueError(f"unknown reconstruction method {method!r}; choose one of {', '.join(METHODS)}")
    p = check_points(points, min_points=max(4, min(knn, 10)))
    spacing = _median_spacing(p)
    if method == "poisson":
        pcd = _oriented_cloud(o3d, p, normals, knn)
        o3d_mesh, densities = o3d.geometry.TriangleMesh.create_from_point_cloud_poisson(pcd, depth=int(depth))
        if density_quantile > 0 and len(o3d_mesh.vertices):
            dens = np.asarray(densities)
            o3d_mesh.remove_vertices_by_mask(dens < np.quantile(dens, density_quantile))
    elif method == "ball_pivoting":
        pcd = _oriented_cloud(o3d, p, normals, knn)
        r = [1.5 * spacing * m for m in (1.0, 2.0, 4.0)] if radii is None else [float(v) for v in radii]
        o3d_mesh = o3d.geometry.TriangleMesh.create_from_point_cloud_ball_pivoting(
            pcd, o3d.utility.DoubleVector(r)
        )
    else:
        pcd = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(p))
        a = 12.0 * spacing if alpha is None else float(alpha)
        with o3d.utility.VerbosityContextManager(o3d.utility.VerbosityLevel.Error):
            o3d_mesh = o3d.geometry.TriangleMesh.create_from_point_cloud_alpha_shape(pcd, a)
    verts = np.asarray(o3d_mesh.vertices, dtype=np.float64)
    faces = np.asarray(o3d_mesh.triangles, dtype=np.int64)
    if len(faces) == 0:
        raise DegenerateShapeError(f"{method} reconstruction produced no faces (points too sparse or noisy?)")
    mesh = trimesh.Trimesh(vertices=verts, faces=faces, process=True)
    mesh.remove_unreferenced_vertices()
    return mesh
