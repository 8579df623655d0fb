"""Callback that periodically samples a few shapes with the EMA denoiser and saves a gallery picture.

The picture comes from Open3D (``gen3d render`` run in a child process with a deadline, so a hung or crashing
software-Vulkan frame cannot take the training run down) when Open3D is installed, else, or when that child
fails or runs past its deadline, from a matplotlib scatter plot drawn in-process. A failure to sample or
render never stops training: it is logged as a warning. Sampling uses the config's sampler group (name,
schedule, rho and the sampler's options) with ``trainer.sample_steps`` steps. Both pictures draw the training
data's up axis (its cache's ``up_axis``) vertical.
"""

from __future__ import annotations

import importlib.util
import logging
import math
import os
import tempfile
from pathlib import Path

import lightning as L
import numpy as np

from gen3d.atomic import atomic_path

__all__ = ["SampleGallery", "save_scatter_gallery"]

log = logging.getLogger(__name__)


def save_scatter_gallery(
    shapes: np.ndarray, path: str | os.PathLike, titles: list[str] | None = None, up: str = "y"
) -> Path:
    """Matplotlib gallery: point clouds ``(S, N, 3)`` as 3D scatters, voxels ``(S, 1, R, R, R)`` (occupied:
    ``x > 0``) as the scatter of occupied cell centres, with the data's ``up`` axis vertical. Written
    atomically as PNG."""
    import matplotlib

    from gen3d.geometry.up_axis import to_view_frame

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    shapes = np.asarray(shapes)
    S = len(shapes)
    cols = min(S, 4)
    rows = math.ceil(S / cols)
    fig = plt.figure(figsize=(3 * cols, 3 * rows))
    try:
        for i, s in enumerate(shapes):
            if s.ndim == 4:  # voxel grid (1, R, R, R): occupied where > 0; cell centres (idx + 0.5) * 2/R - 1
                R = s.shape[-1]
                pts = (np.argwhere(s[0] > 0) + 0.5) * (2.0 / R) - 1.0
            else:
                pts = s
            pts = to_view_frame(pts, up)  # y-up, drawn as matplotlib's vertical z below
            ax = fig.add_subplot(rows, cols, i + 1, projection="3d")
            if len(pts):
                ax.scatter(pts[:, 0], pts[:, 2], pts[:, 1], s=1, c=pts[:, 1], cmap="viridis")
            ax.set_xlim(-1, 1)
            ax.set_ylim(-1, 1)
            ax.set_zlim(-1, 1)
            ax.set_axis_off()
            if titles:
                ax.set_title(titles[i], fontsize=8)
        with atomic_path(path, suffix=".png") as tmp:
            fig.savefig(tmp, dpi=80, format="png")
    finally:
        plt.close(fig)
    return Path(path)


def _open3d_available() -> bool:
    return importlib.util.find_spec("open3d") is not None


def _render_command(sample_file: Path, path: Path, n: int, titles: bool) -> list[str]:
    """``gen3d render`` of ``sample_file`` into ``path``, rendering in that process (the caller holds the
    deadline)."""
    from gen3d.deadline import gen3d_command

    argv = ["render", str(sample_file), "--out", str(path), "--max-shapes", str(n), "--in-process"]
    argv += ["--ncols", str(min(n, 4))] + ([] if titles else ["--no-titles"])
    return gen3d_command(argv)


def _render_in_child(
    shapes: np.ndarray, path: Path, titles: list[str] | None, timeout: float, up: str = "y"
) -> str | None:
    """Open3D gallery of ``shapes`` (S, N, 3) points or (S, 1, R, R, R) occupancy into ``path`` by a child
    ``gen3d render`` killed after ``timeout`` s, ``up`` vertical (recorded in the sample file it reads).
    Returns None on success, else why it failed (one line)."""
    from gen3d.deadline import DeadlineExceeded, run_with_deadline
    from gen3d.sample_file import SampleFile, save_samples

    key = "voxels" if shapes.ndim == 5 else "points"
    sf = SampleFile(**{key: np.asarray(shapes, dtype=np.float32)}, meta={"up_axis": up})
    if titles:  # the renderer titles shapes "#i <class name>" from labels and meta["class_names"]
        sf.labels = np.arange(len(shapes), dtype=np.int64)
        sf.meta["class_names"] = list(titles)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".gallery-") as tmp:
        src = save_samples(Path(tmp) / "shapes.npz", sf)
        try:
            cmd = _render_command(src, path, len(shapes), bool(titles))
            res = run_with_deadline(cmd, timeout, capture=True)
        except DeadlineExceeded as e:
            return f"the renderer {e}"
    if not res.ok:
        return f"the renderer failed ({res.describe()})"
    return None if path.is_file() else "the renderer wrote no picture"


def _render(
    shapes: np.ndarray,
    path: Path,
    titles: list[str] | None,
    renderer: str = "auto",
    timeout: float = 180.0,
    up: str = "y",
) -> Path:
    """Gallery PNG of ``shapes`` (S, N, 3) points or (S, 1, R, R, R) model-space grids at ``path``, the data's
    ``up`` axis vertical: Open3D in a child process with a deadline when ``renderer`` is "auto" and Open3D
    is installed, else (or when that fails: logged as a warning) the matplotlib scatter."""
    if shapes.ndim == 5:  # model-space grids {-1, +1} -> occupancy (the voxel convention)
        shapes = (shapes > 0).astype(np.float32)
    if renderer == "auto" and _open3d_available():
        problem = _render_in_child(shapes, path, titles, timeout, up)
        if problem is None:
            return path
        log.warning("Open3D gallery rendering failed: %s; using the matplotlib scatter", problem)
    return save_scatter_gallery(shapes, path, titles, up)


class SampleGallery(L.Callback):
    """Every ``every_n_steps`` optimiser steps (rank 0 only): sample ``n_shapes`` shapes with the EMA denoiser
    (fixed seeds, so pictures are comparable across steps), save ``<out_dir>/step_XXXXXXX.png`` and log it
    as an image (key ``gallery``) to each logger that takes images
    (:func:`gen3d.training.tracking.log_picture`).

    ``sampler``, ``steps``, ``schedule``, ``rho``, ``sigma_max``, ``sigma_min`` and ``sampler_options`` (e.g.
    ``{"S_churn": 40}``) go to :func:`gen3d.generate.generate`; the options are checked against the sampler's
    signature here, so a bad one fails when the callback is built, not at the first gallery. ``renderer``:
    "auto" (Open3D in a child process killed after ``render_timeout`` seconds, when installed; else
    matplotlib) or "matplotlib".
    ``up_axis``: the training data's up axis ("x" | "y" | "z"), drawn vertical."""

    def __init__(
        self,
        out_dir: str | os.PathLike,
        every_n_steps: int,
        n_shapes: int = 4,
        sampler: str = "euler",
        steps: int = 8,
        seed: int = 0,
        renderer: str = "auto",
        schedule: str = "karras",
        rho: float = 7.0,
        sigma_max: float | None = None,
        sigma_min: float | None = None,
        sampler_options: dict | None = None,
        render_timeout: float = 180.0,
        up_axis: str = "y",
    ):
        from gen3d.geometry.up_axis import check_up_axis
        from gen3d.samplers import check_options

        if renderer not in ("auto", "matplotlib"):
            raise ValueError(f"gallery renderer must be 'auto' or 'matplotlib', got {renderer!r}")
        if not render_timeout > 0:
            raise ValueError(f"gallery render_timeout must be positive seconds, got {render_timeout!r}")
        self.renderer = renderer
        self.up_axis = check_up_axis(up_axis)
        self.render_timeout = float(render_timeout)
        self.sampler_options = check_options(sampler, sampler_options or {})
        self.schedule = schedule
        self.rho = float(rho)
        self.sigma_max, self.sigma_min = sigma_max, sigma_min  # sampler.sigma_max / sigma_min
        self.out_dir = Path(out_dir)
        self.every_n_steps = int(every_n_steps)
        self.n_shapes = int(n_shapes)
        self.sampler = sampler
        self.steps = int(steps)
        self.seed = int(seed)
        self.last_path: Path | None = None

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        step = trainer.global_step
        if self.every_n_steps <= 0 or step == 0 or step % self.every_n_steps or not trainer.is_global_zero:
            return
        try:
            self.last_path = self.make_gallery(pl_module, batch, step)
            self._log_image(trainer, self.last_path, step)
        except Exception as e:  # noqa: BLE001 - a picture is never worth a crashed run
            log.warning("sample gallery at step %d failed: %s: %s", step, type(e).__name__, e)

    def make_gallery(self, pl_module, batch, step: int) -> Path:
        from gen3d.generate import generate

        shape = tuple(batch["x"].shape[1:])
        seeds = [self.seed * 1000 + i for i in range(self.n_shapes)]
        cond, titles = None, None
        if pl_module.num_classes > 0:
            cond = [i % pl_module.num_classes for i in range(self.n_shapes)]
            names = (pl_module.config.get("experiment") or {}).get("class_names") or []
            titles = [names[c] if c < len(names) else str(c) for c in cond]
        denoiser = pl_module.ema_denoiser()
        x, _ = generate(
            denoiser,
            pl_module.process,
            shape,
            seeds,
            sampler=self.sampler,
            steps=self.steps,
            cond=cond,
            batch_size=self.n_shapes,
            device=pl_module.device,
            schedule=self.schedule,
            rho=self.rho,
            sigma_max=self.sigma_max,
            sigma_min=self.sigma_min,
            **self.sampler_options,
        )
        path = self.out_dir / f"step_{step:07d}.png"
        return _render(x.numpy(), path, titles, self.renderer, self.render_timeout, self.up_axis)

    @staticmethod
    def _log_image(trainer, path: Path, step: int) -> None:
        from gen3d.training.tracking import log_picture

        for logger in trainer.loggers:  # the trackers that take images (TensorBoard, MLflow, W&B)
            log_picture(logger, path, step)
