"""Voxel grid -> triangle mesh by marching cubes at the grid's true origin and spacing."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from gen3d.export.checks import check_grid

__all__ = ["voxels_to_mesh"]


def voxels_to_mesh(
    grid: np.ndarray,
    origin: Sequence[float] | None = None,
    spacing: float | None = None,
    level: float = 0.5,
    smooth_iterations: int = 0,
    largest_component: bool = False,
):
    """Extract the ``level`` iso-surface of one grid as a closed, outward-facing ``trimesh.Trimesh``.

    Args:
        grid: (R,R,R) or (1,R,R,R); values above ``level`` are inside (occupancy in [0,1], or a negated SDF
            with ``level=0``). Index [i,j,k] is (x,y,z).
        origin, spacing: the grid convention of gen3d: cell centre = ``origin + (idx + 0.5) * spacing``;
            defaults cover [-1,1]^3 (origin (-1,-1,-1), spacing 2/R).
        smooth_iterations: Taubin (lambda|mu) smoothing passes; volume-preserving, 0 = off.
        largest_component: keep only the connected component with the most faces.

    Returns:
        ``trimesh.Trimesh`` with vertices (V,3) float64 in world units, faces (F,3) int64.

    Raises:
        DegenerateShapeError: wrong shape, NaN/inf, or an empty grid.
    """
    import trimesh
    from skimage.measure import marching_cubes

    g = check_grid(grid, level)
    res = g.shape[0]
    origin = np.array((-1.0, -1.0, -1.0) if origin is None else origin, dtype=np.float64).reshape(3)
    spacing = 2.0 / res if spacing is None else float(spacing)
    if not spacing > 0:
        raise ValueError(f"spacing must be positive, got {spacing}")
    # pad one cell of "outside" so shapes touching the border still give a closed surface
    outside = min(float(g.min()), level) - 1.0
    padded = np.pad(g, 1, mode="constant", constant_values=outside)
    # 'descent': values decrease from inside (> level) to outside, so faces wind outward
    verts, faces, _, _ = marching_cubes(padded, level=level, gradient_direction="descent")
    # padded index v -> grid index v - 1 -> world: cell centre origin + (idx + 0.5) * spacing
    verts = origin + (verts.astype(np.float64) - 1.0 + 0.5) * spacing
    mesh = trimesh.Trimesh(vertices=verts, faces=faces.astype(np.int64), process=True)
    if largest_component and len(mesh.faces):
        parts = mesh.split(only_watertight=False)
        if len(parts) > 1:
            mesh = max(parts, key=lambda m: len(m.faces))
    if smooth_iterations > 0:
        trimesh.smoothing.filter_taubin(mesh, iterations=int(smooth_iterations))
    if mesh.is_watertight and mesh.volume < 0:
        mesh.invert()
    return mesh
