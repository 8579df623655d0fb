"""Animations: frames -> GIF / MP4 (imageio, imageio-ffmpeg) and reverse-process trajectories -> frames."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

import numpy as np

from gen3d.errors import UserInputError

__all__ = ["ANIMATION_FORMATS", "output_location", "save_animation", "trajectory_frames"]

ANIMATION_FORMATS = ("gif", "mp4", "png")


def output_location(path: str | os.PathLike) -> Path | str:
    """Where a picture goes: a :class:`~pathlib.Path` for a local path, the string itself for an fsspec URL
    (``s3://b/k.png``; ``Path`` would fold its ``//``), which :func:`gen3d.atomic.atomic_path` uploads."""
    from gen3d.storage.urls import is_url

    return str(path) if is_url(path) else Path(path)


def save_animation(frames: Sequence[np.ndarray], path: str | os.PathLike, fps: float = 12.0) -> Path | str:
    """Write frames (each (H,W,3) uint8) as .gif (looping), .mp4 (H.264; sizes rounded up to even) or .png
    (all frames side by side in one strip). Atomic; returns the path. ``path`` may be an fsspec URL string:
    the file is written locally, then uploaded in one operation; the URL string is returned."""
    import imageio.v3 as iio

    from gen3d.atomic import atomic_path

    path = output_location(path)
    name = PurePosixPath(str(path)).name
    fmt = PurePosixPath(name).suffix.lstrip(".").lower()
    if fmt not in ANIMATION_FORMATS:
        raise UserInputError(f"animation format must be one of {', '.join(ANIMATION_FORMATS)}, got {name}")
    if not len(frames):
        raise ValueError("no frames to save")
    stack = np.stack([np.asarray(f, dtype=np.uint8) for f in frames])
    with atomic_path(path, suffix=f".{fmt}") as tmp:
        if fmt == "gif":
            iio.imwrite(tmp, stack, extension=".gif", duration=1000.0 / fps, loop=0)
        elif fmt == "png":
            iio.imwrite(tmp, np.concatenate(list(stack), axis=1), extension=".png")
        else:
            t, h, w, _ = stack.shape
            stack = np.pad(stack, ((0, 0), (0, h % 2), (0, w % 2), (0, 0)), mode="edge")
            _write_mp4(tmp, stack, fps)
    return path


def _write_mp4(path: Path, stack: np.ndarray, fps: float) -> None:
    import imageio.v2 as iio2

    with iio2.get_writer(
        str(path),
        format="FFMPEG",
        mode="I",
        fps=fps,
        codec="libx264",
        macro_block_size=1,
        ffmpeg_log_level="error",
    ) as w:
        for f in stack:
            w.append_data(f)


def trajectory_frames(
    trajectory: np.ndarray,
    sigmas: np.ndarray | None = None,
    indices: Sequence[int] | None = None,
    size: tuple[int, int] = (256, 256),
    ncols: int | None = None,
    color_by: str = "height",
    max_frames: int | None = 60,
    up: str = "y",
) -> list[np.ndarray]:
    """Render a reverse-process trajectory (T,S,N,3) or (T,S,1,R,R,R) as frames, noise -> shape, with the
    shapes' ``up`` axis ("x" | "y" | "z") vertical.

    Frames are ordered by decreasing noise level (``sigmas`` (T,) if given, else as stored). Each frame is
    rescaled to fit its tile, so the pure-noise frames are visible at all; ``max_frames`` keeps an evenly
    spaced subset (always including the first and last). Each frame is captioned with its sigma.
    """
    from gen3d.viz.layout import GalleryLayout
    from gen3d.viz.offscreen import _draw_titles, render_gallery_array

    traj = np.asarray(trajectory)
    if traj.ndim < 3:
        raise UserInputError(f"trajectory must be (T, S, ...), got shape {traj.shape}")
    order = np.arange(len(traj))
    if sigmas is not None:
        sigmas = np.asarray(sigmas, dtype=np.float64)
        if sigmas.shape != (len(traj),):
            raise UserInputError(f"traj_sigmas must have shape ({len(traj)},), got {sigmas.shape}")
        order = np.argsort(-sigmas, kind="stable")
    if max_frames and len(order) > max_frames:
        order = order[np.unique(np.linspace(0, len(order) - 1, max_frames).round().astype(int))]
    idx = list(range(traj.shape[1])) if indices is None else [int(i) for i in indices]
    frames = []
    for t in order:
        shapes = [traj[t, i] for i in idx]
        img = render_gallery_array(shapes, ncols, size, color_by, up=up)
        if sigmas is not None:
            layout = GalleryLayout.make(len(shapes), ncols, size)
            img = _draw_titles(img, layout, [f"sigma={sigmas[t]:.3g}"] + [""] * (len(shapes) - 1))
        frames.append(img)
    return frames
