"""Drawable -> Open3D geometry with colours and normals (shared by the offscreen renderer and the viewer)."""

from __future__ import annotations

import numpy as np

from gen3d.viz.colors import height_colors, observed_colors, sample_color
from gen3d.viz.geometry import Drawable

__all__ = ["o3d_geometry", "shape_colours"]

_UNIFORM = np.array([0.55, 0.6, 0.68])


def shape_colours(d: Drawable, index: int, color_by: str) -> np.ndarray:
    """Per-vertex colours (V,3) in [0,1]: ``"height"`` ramp along y, ``"sample"`` palette colour of ``index``,
    ``"uniform"`` grey-blue, or ``"observed"``: the first ``d.observed`` vertices dark grey, the others by
    height (a drawable with ``observed == 0`` is coloured by height)."""
    if color_by == "height":
        return height_colors(d.vertices)
    if color_by == "observed":
        return observed_colors(d.vertices, d.observed)
    base = sample_color(index) if color_by == "sample" else _UNIFORM
    return np.tile(base, (len(d.vertices), 1))


def o3d_geometry(d: Drawable, colours: np.ndarray, eye_dir: np.ndarray | None = None):
    """``open3d.geometry.TriangleMesh`` (vertex normals) or ``PointCloud`` (PCA normals from 12 neighbours,
    turned towards ``eye_dir`` so lit points face the camera)."""
    import open3d as o3d

    if d.is_mesh:
        g = o3d.geometry.TriangleMesh(
            o3d.utility.Vector3dVector(d.vertices), o3d.utility.Vector3iVector(d.faces)
        )
        g.vertex_colors = o3d.utility.Vector3dVector(colours)
        g.compute_vertex_normals()
        return g
    g = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(d.vertices))
    g.colors = o3d.utility.Vector3dVector(colours)
    if len(d.vertices) >= 8:
        g.estimate_normals(o3d.geometry.KDTreeSearchParamKNN(knn=12))
        eye = np.array([0.0, 0.0, 1.0]) if eye_dir is None else np.asarray(eye_dir, dtype=np.float64)
        g.orient_normals_towards_camera_location(d.vertices.mean(0) + 100.0 * eye)
    return g
