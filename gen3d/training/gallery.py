"""Callback that periodically samples a few shapes with the EMA denoiser and saves a gallery picture.

The picture comes from ``gen3d.viz.render_gallery`` when it is importable (Open3D, loaded lazily by
gen3d.viz),
else from a matplotlib scatter plot. A failure to sample or render never stops training: it is logged as a
warning.
"""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path

import lightning as L
import numpy as np

from gen3d.atomic import atomic_path

__all__ = ["SampleGallery", "save_scatter_gallery"]

log = logging.getLogger(__name__)


def save_scatter_gallery(
    shapes: np.ndarray, path: str | os.PathLike, titles: list[str] | None = None
) -> Path:
    """Matplotlib gallery: point clouds ``(S, N, 3)`` as 3D scatters, voxels ``(S, 1, R, R, R)`` (occupied
    = x > 0)
    as the scatter of occupied cell centres. Written atomically as PNG."""
    import matplotlib

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


def _render(shapes: np.ndarray, path: Path, titles: list[str] | None, renderer: str = "auto") -> Path:
    if shapes.ndim == 5:  # model-space grids {-1, +1} -> occupancy (the voxel convention)
        shapes = (shapes > 0).astype(np.float32)
    render_gallery = None
    if renderer == "auto":
        try:
            from gen3d.viz import render_gallery  # optional, Open3D-based
        except ImportError:
            render_gallery = None
    if render_gallery is not None:
        try:
            render_gallery(list(shapes), path, titles=titles)
            if path.is_file():
                return path
        except Exception as e:  # noqa: BLE001 - fall back to matplotlib
            log.warning("gen3d.viz.render_gallery failed (%s); using the matplotlib scatter", e)
    return save_scatter_gallery(shapes, path, titles)


class SampleGallery(L.Callback):
    """Every ``every_n_steps`` optimiser steps (rank 0 only): sample ``n_shapes`` shapes with the EMA denoiser
    (fixed seeds, so pictures are comparable across steps), save ``<out_dir>/step_XXXXXXX.png`` and log it
    to the
    logger when it supports images. ``renderer``: "auto" (gen3d.viz if importable, else matplotlib) or
    "matplotlib"."""

    def __init__(
        self,
        out_dir: str | os.PathLike,
        every_n_steps: int,
        n_shapes: int = 4,
        sampler: str = "euler",
        steps: int = 8,
        seed: int = 0,
        renderer: str = "auto",
    ):
        if renderer not in ("auto", "matplotlib"):
            raise ValueError(f"gallery renderer must be 'auto' or 'matplotlib', got {renderer!r}")
        self.renderer = renderer
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
        )
        path = self.out_dir / f"step_{step:07d}.png"
        return _render(x.numpy(), path, titles, self.renderer)

    @staticmethod
    def _log_image(trainer, path: Path, step: int) -> None:
        for logger in trainer.loggers:
            if hasattr(logger, "log_image"):  # e.g. WandbLogger
                logger.log_image(key="gallery", images=[str(path)], step=step)
            elif hasattr(getattr(logger, "experiment", None), "add_image"):  # TensorBoard
                from PIL import Image

                img = np.asarray(Image.open(path).convert("RGB"))
                logger.experiment.add_image("gallery", img, step, dataformats="HWC")
