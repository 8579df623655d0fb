"""Headless pictures through Open3D's OffscreenRenderer (Filament; Mesa's software Vulkan on a CPU machine).

A gallery is ONE scene: every shape is fitted into the unit ball and placed on its tile (see
:mod:`gen3d.viz.layout`), then a single orthographic frame is rendered. Post-processing (tone mapping) is off,
so the background is pure white and a frame costs ~0.1-0.5 s after the first (~1-4 s, engine start-up).
One renderer is kept for the life of the process (replaced when the image size changes).
"""

from __future__ import annotations

import atexit
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from gen3d.viz.colors import COLOR_MODES
from gen3d.viz.geometry import Drawable, to_drawable, upright
from gen3d.viz.layout import GalleryLayout, camera_basis, fit_to_unit_ball
from gen3d.viz.o3d_geometry import o3d_geometry, shape_colours

__all__ = ["render_gallery", "render_gallery_array", "render_turntable", "turntable_frames"]

_RENDERERS: dict[tuple[int, int], object] = {}
_BACKGROUND = (1.0, 1.0, 1.0, 1.0)
_ATEXIT: list[bool] = []


def _release_all() -> None:
    # Filament aborts the process if a renderer is destroyed while geometry is still attached
    for r in _RENDERERS.values():
        r.scene.clear_geometry()
    _RENDERERS.clear()


def _renderer(size: tuple[int, int]):
    """The process' renderer for images of ``size`` (w, h). One lives at a time: Filament aborts at exit when
    several renderers of one engine are destroyed, so a new size replaces the previous renderer."""
    from open3d.visualization import rendering

    from gen3d.viz.backend import require_offscreen

    if size not in _RENDERERS:
        require_offscreen()
        if not _ATEXIT:
            atexit.register(_release_all)
            _ATEXIT.append(True)
        _release_all()
        r = rendering.OffscreenRenderer(int(size[0]), int(size[1]))
        r.scene.view.set_post_processing(False)
        # no shadow-map pass: a third of a software-rendered frame, and tiles must not shade each other
        r.scene.view.set_shadowing(False, rendering.View.ShadowType.PCF)
        r.scene.set_background(list(_BACKGROUND))
        _RENDERERS[size] = r
    return _RENDERERS[size]


def render_gallery_array(
    shapes: Sequence,
    ncols: int | None = None,
    size: tuple[int, int] = (256, 256),
    color_by: str = "height",
    representation: str | None = None,
    azimuth: float = 30.0,
    elevation: float = 20.0,
    point_size: float | None = None,
    up: str = "y",
) -> np.ndarray:
    """Render shapes side by side; return the image (H, W, 3) uint8 with H = nrows*size[1], W = ncols*size[0].

    ``shapes``: point clouds (N,3), grids (R,R,R)/(1,R,R,R), trimesh meshes, (V,F) tuples, or prepared
    :class:`Drawable` objects; ``size``: (width, height) of one tile in pixels; ``color_by``: "height" |
    "sample" | "uniform"; ``up``: the shapes' up axis ("x" | "y" | "z"), drawn vertical (the camera
    orbits it; height colours follow it). Each shape is centred and scaled into its own tile. Raises
    RenderBackendError if no offscreen backend works here.
    """
    from open3d.visualization import rendering

    from gen3d.geometry.up_axis import check_up_axis

    if color_by not in COLOR_MODES:
        raise ValueError(f"color_by must be one of {', '.join(COLOR_MODES)}, got {color_by!r}")
    check_up_axis(up)
    layout = GalleryLayout.make(len(shapes), ncols, size, azimuth, elevation)
    r = _renderer(layout.image_px)
    forward, right, cam_up = camera_basis(azimuth, elevation)
    psize = float(point_size or max(2.0, min(size) / 64))
    try:
        for i, s in enumerate(shapes):
            d = upright(s if isinstance(s, Drawable) else to_drawable(s, representation), up)
            if not len(d.vertices):
                continue
            colours = shape_colours(d, i, color_by)
            centre, scale = fit_to_unit_ball(d.vertices)
            placed = Drawable((d.vertices - centre) * scale + layout.tile_offset(i), d.faces)
            mat = rendering.MaterialRecord()
            mat.shader = "defaultLit"
            mat.point_size = psize
            r.scene.add_geometry(f"shape{i}", o3d_geometry(placed, colours, -forward), mat)
        # key light from above-left of the camera
        r.scene.scene.set_sun_light(list(forward - 0.6 * cam_up + 0.4 * right), [1.0, 1.0, 1.0], 80000)
        r.scene.scene.enable_sun_light(True)
        left, rgt, bottom, top = layout.ortho_bounds()
        r.scene.camera.set_projection(rendering.Camera.Projection.Ortho, left, rgt, bottom, top, 0.1, 100.0)
        r.scene.camera.look_at([0.0, 0.0, 0.0], list(-forward * 10.0), list(cam_up))
        img = np.asarray(r.render_to_image()).copy()
    finally:
        r.scene.clear_geometry()
    return img


def _draw_titles(img: np.ndarray, layout: GalleryLayout, titles: Sequence[str]) -> np.ndarray:
    from PIL import Image, ImageDraw

    im = Image.fromarray(img)
    draw = ImageDraw.Draw(im)
    for i, t in enumerate(titles[: layout.n]):
        x0, y0, _, _ = layout.tile_box(i)
        draw.text((x0 + 4, y0 + 3), str(t), fill=(40, 40, 40))
    return np.asarray(im)


def render_gallery(
    shapes: Sequence,
    path: str | os.PathLike,
    titles: Sequence[str] | None = None,
    ncols: int | None = None,
    size: tuple[int, int] = (256, 256),
    color_by: str = "height",
    representation: str | None = None,
    azimuth: float = 30.0,
    elevation: float = 20.0,
    up: str = "y",
) -> Path | str:
    """Render a gallery of shapes (see :func:`render_gallery_array`) to a PNG at ``path`` (atomic); return it.

    ``titles``: one caption per shape, drawn at the top-left of its tile. ``path`` may be an fsspec URL string
    (``s3://bucket/gallery.png``): the picture is written to a local temporary file, then uploaded in one
    operation (:func:`gen3d.atomic.atomic_path`), and the URL string is returned.
    """
    from PIL import Image

    from gen3d.atomic import atomic_path
    from gen3d.viz.animate import output_location

    if titles is not None and len(titles) != len(shapes):
        raise ValueError(f"got {len(titles)} titles for {len(shapes)} shapes")
    img = render_gallery_array(shapes, ncols, size, color_by, representation, azimuth, elevation, up=up)
    if titles:
        img = _draw_titles(img, GalleryLayout.make(len(shapes), ncols, size), titles)
    path = output_location(path)
    with atomic_path(path, suffix=".png") as tmp:
        Image.fromarray(img).save(tmp, format="PNG")
    return path


def turntable_frames(
    shapes: Sequence,
    n_frames: int = 36,
    ncols: int | None = None,
    size: tuple[int, int] = (256, 256),
    color_by: str = "height",
    representation: str | None = None,
    elevation: float = 20.0,
    up: str = "y",
) -> list[np.ndarray]:
    """Frames (H,W,3) uint8 of the gallery seen from ``n_frames`` azimuths evenly spread over 360 degrees
    around the shapes' ``up`` axis."""
    drawables = [s if isinstance(s, Drawable) else to_drawable(s, representation) for s in shapes]
    return [
        render_gallery_array(drawables, ncols, size, color_by, None, 360.0 * k / n_frames, elevation, up=up)
        for k in range(n_frames)
    ]


def render_turntable(
    shapes: Sequence, path: str | os.PathLike, n_frames: int = 36, fps: float = 12.0, **kwargs
) -> Path | str:
    """Write a turntable animation (.gif or .mp4) or, for .png, a strip of the frames side by side (``path``
    may be a URL string, see :func:`gen3d.viz.animate.save_animation`)."""
    from gen3d.viz.animate import save_animation

    frames = turntable_frames(shapes, n_frames=n_frames, **kwargs)
    return save_animation(frames, path, fps=fps)
