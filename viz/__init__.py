"""gen3d.viz: offscreen galleries and turntables, trajectory animations and an interactive Open3D viewer.

Open3D is imported lazily: importing this package loads only numpy. Public API::

    render_gallery(shapes, path, titles=None, ncols=None, size=(256, 256), color_by="height", up="y") -> Path
        # path may be an fsspec URL string (s3://b/g.png): written locally, uploaded whole, the URL returned
    render_gallery_array(shapes, ncols=None, size=(256, 256), color_by="height", up="y") -> (H, W, 3) uint8
    render_turntable(shapes, path, n_frames=36, fps=12, up="y") -> Path  # .gif / .mp4 / .png strip
    trajectory_frames(trajectory (T,S,...), sigmas=None, up="y") -> frames; save_animation(frames, path, fps)
    load_shapes(path) -> ShapeSet; Viewer(shape_set, ..., up="y").run()
    offscreen_problem() / window_problem() -> None or a one-line reason (probed in a subprocess)

Shapes are point clouds (N,3), voxel grids (R,R,R)/(1,R,R,R), trimesh meshes or (V,F) tuples. ``up``: the
data's up axis ("x" | "y" | "z"; grids index [i,j,k] = (x,y,z)), drawn vertical (see
:mod:`gen3d.geometry.up_axis`).
"""

from __future__ import annotations

import importlib

__all__ = [
    "Drawable",
    "RenderBackendError",
    "ShapeSet",
    "Viewer",
    "load_shapes",
    "offscreen_problem",
    "render_gallery",
    "render_gallery_array",
    "render_turntable",
    "save_animation",
    "to_drawable",
    "trajectory_frames",
    "turntable_frames",
    "window_problem",
]

_WHERE = {
    "Drawable": "geometry",
    "to_drawable": "geometry",
    "RenderBackendError": "backend",
    "offscreen_problem": "backend",
    "window_problem": "backend",
    "ShapeSet": "loaders",
    "load_shapes": "loaders",
    "render_gallery": "offscreen",
    "render_gallery_array": "offscreen",
    "render_turntable": "offscreen",
    "turntable_frames": "offscreen",
    "save_animation": "animate",
    "trajectory_frames": "animate",
    "Viewer": "viewer",
}


def __getattr__(name: str):
    # lazy: `import gen3d.viz` stays cheap and never starts Open3D
    if name in _WHERE:
        return getattr(importlib.import_module(f"gen3d.viz.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'gen3d.viz' has no attribute {name!r}")
