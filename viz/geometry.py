"""What can be drawn: a :class:`Drawable` (points or a triangle mesh) built from any input shape.

Inputs accepted everywhere in gen3d.viz:
point cloud ``np.ndarray (N,3)``; voxel grid ``np.ndarray (R,R,R)`` or ``(1,R,R,R)`` (occupancy, inside
> 0.5); ``trimesh.Trimesh``; or a ``(vertices (V,3), faces (F,3))`` tuple.
Representations: ``"points"``, ``"mesh"`` (reconstruction / marching cubes), ``"voxels"`` (cubes).
Pictures are drawn in a y-up view frame: :func:`upright` maps a drawable of data whose up axis is x, y or z
into it (grids: index [i,j,k] is (x,y,z), so a z-up grid's last array axis ends up vertical).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["REPRESENTATIONS", "Drawable", "kind_of", "to_drawable", "upright", "voxel_block_mesh"]

REPRESENTATIONS = ("points", "mesh", "voxels")


@dataclass
class Drawable:
    """``vertices`` (V,3) float64; ``faces`` (F,3) int64 for a mesh, None for points; ``observed``: how many
    leading vertices of a point drawable are a completion's observed points (0: none; colour mode
    ``"observed"``)."""

    vertices: np.ndarray
    faces: np.ndarray | None = None
    observed: int = 0

    @property
    def is_mesh(self) -> bool:
        return self.faces is not None


def kind_of(shape) -> str:
    """``"points"``, ``"voxels"`` or ``"mesh"`` for an input shape; TypeError for anything else."""
    if isinstance(shape, tuple) and len(shape) == 2:
        return "mesh"
    if hasattr(shape, "vertices") and hasattr(shape, "faces"):
        return "mesh"
    a = np.asarray(shape)
    if a.ndim == 2 and a.shape[1] == 3:
        return "points"
    if (a.ndim == 3 and a.shape[0] == a.shape[1] == a.shape[2]) or (a.ndim == 4 and a.shape[0] == 1):
        return "voxels"
    raise TypeError(
        f"cannot draw an array of shape {a.shape}: expected points (N,3), a grid (R,R,R) or a mesh"
    )


def _grid(shape) -> np.ndarray:
    g = np.asarray(shape, dtype=np.float32)
    return g[0] if g.ndim == 4 else g


def voxel_block_mesh(grid: np.ndarray, origin=(-1.0, -1.0, -1.0), spacing: float | None = None) -> Drawable:
    """The exposed faces of the occupied cells (> 0.5) of a grid (R,R,R), as a mesh of axis-aligned quads
    (two triangles each), wound outward. Cell [i,j,k] spans origin + [idx, idx+1] * spacing."""
    occ = _grid(grid) > 0.5
    res = occ.shape[0]
    h = 2.0 / res if spacing is None else float(spacing)
    padded = np.pad(occ, 1)
    unit = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]], dtype=np.float64)  # a quad in the xy plane
    verts, faces = [], []
    for axis in range(3):
        for sign in (-1, 1):
            # occupied cell whose neighbour along (axis, sign) is empty -> exposed face
            nb = np.roll(padded, -sign, axis=axis)[1:-1, 1:-1, 1:-1]
            idx = np.argwhere(occ & ~nb).astype(np.float64)
            if not len(idx):
                continue
            # quad corners: permute the xy-plane quad onto the plane normal to `axis`
            perm = [(axis + 1) % 3, (axis + 2) % 3, axis]
            q = np.zeros((4, 3))
            q[:, perm[0]], q[:, perm[1]] = unit[:, 0], unit[:, 1]
            q[:, axis] = 1.0 if sign > 0 else 0.0
            corners = idx[:, None, :] + q[None]
            base = sum(len(v) for v in verts) * 4 if verts else 0
            n0 = base + 4 * np.arange(len(idx))[:, None]
            tri = np.array([[0, 1, 2], [0, 2, 3]]) if sign > 0 else np.array([[0, 2, 1], [0, 3, 2]])
            faces.append((n0[:, None, :] + tri[None]).reshape(-1, 3))
            verts.append(corners.reshape(-1, 4, 3))
    if not verts:
        return Drawable(np.zeros((0, 3)), np.zeros((0, 3), np.int64))
    v = np.asarray(origin, dtype=np.float64) + np.concatenate(verts).reshape(-1, 3) * h
    return Drawable(v, np.concatenate(faces).astype(np.int64))


def upright(d: Drawable, up: str = "y") -> Drawable:
    """``d`` in the y-up view frame, for data whose up axis is ``up`` ("x" | "y" | "z"): rotated by
    :func:`gen3d.geometry.up_axis.view_rotation` (a proper rotation: faces keep their outward winding).
    ValueError for another axis."""
    from gen3d.geometry.up_axis import check_up_axis, to_view_frame

    if check_up_axis(up) == "y":
        return d
    return Drawable(to_view_frame(d.vertices, up), d.faces, d.observed)


def _mesh_arrays(shape) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(shape, tuple):
        v, f = shape
    else:
        v, f = shape.vertices, shape.faces
    return np.asarray(v, dtype=np.float64), np.asarray(f, dtype=np.int64)


def to_drawable(shape, representation: str | None = None, n_points: int = 2048) -> Drawable:
    """Turn an input shape into a :class:`Drawable` in the asked representation (default: its own).

    points -> mesh uses ball pivoting (fast, faithful; see gen3d.export); voxels -> mesh uses marching cubes;
    mesh -> points samples ``n_points`` surface points (fixed seed 0, so views are reproducible);
    anything -> voxels voxelises the points/mesh surface on a 32^3 grid over its bounding cube.
    """
    kind = kind_of(shape)
    rep = representation or kind
    if rep not in REPRESENTATIONS:
        raise ValueError(f"unknown representation {rep!r}; choose one of {', '.join(REPRESENTATIONS)}")
    if kind == "points":
        pts = np.asarray(shape, dtype=np.float64)
        if rep == "points":
            return Drawable(pts)
        if rep == "mesh":
            from gen3d.export import points_to_mesh

            m = points_to_mesh(pts, "ball_pivoting")
            return Drawable(np.asarray(m.vertices), np.asarray(m.faces))
        return voxel_block_mesh(*_voxelize_points(pts))
    if kind == "voxels":
        g = _grid(shape)
        if rep == "voxels":
            return voxel_block_mesh(g)
        if rep == "mesh":
            from gen3d.export import voxels_to_mesh

            m = voxels_to_mesh(g)
            return Drawable(np.asarray(m.vertices), np.asarray(m.faces))
        res = g.shape[0]
        return Drawable(-1.0 + (np.argwhere(g > 0.5) + 0.5) * (2.0 / res))
    v, f = _mesh_arrays(shape)
    if rep == "mesh":
        return Drawable(v, f)
    import trimesh

    pts = trimesh.sample.sample_surface(trimesh.Trimesh(v, f, process=False), n_points, seed=0)[0]
    return Drawable(np.asarray(pts)) if rep == "points" else voxel_block_mesh(*_voxelize_points(pts))


def _voxelize_points(pts: np.ndarray, res: int = 32):
    """Occupancy (res,res,res) of cells holding a point, over the points' bounding cube; (grid, origin, h)."""
    lo, hi = pts.min(0), pts.max(0)
    size = float((hi - lo).max()) * 1.02 + 1e-9
    origin = (lo + hi) / 2 - size / 2
    h = size / res
    idx = np.clip(((pts - origin) / h).astype(int), 0, res - 1)
    g = np.zeros((res,) * 3, np.float32)
    g[idx[:, 0], idx[:, 1], idx[:, 2]] = 1
    return g, origin, h
