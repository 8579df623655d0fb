"""The partial inputs of ``gen3d complete``: point files in their own units, or the stored partial views of a
prepared cache split (in each shape's normalised frame, with the complete shape as the truth).

Point files go through the same reader as every other point input
(:func:`gen3d.datasets.pointfiles.read_points`: ply, pcd, xyz, npy, npz); a file that cannot be a partial
scan (fewer than ``min_points`` points, NaN/inf, all points at one place) is refused with its name, since
the user asked for that file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gen3d.errors import UserInputError

__all__ = ["PartialInputs", "read_cache_inputs", "read_file_inputs"]


@dataclass
class PartialInputs:
    """I partial clouds ``partials`` (M_i, 3), one ``info`` dict each (``name``, optional ``key``, ``view``,
    ``camera``), the complete shapes ``truth`` (I, T, 3) or None, ``units`` (``"input"`` or ``"cache"``) and
    the normalisation kind of the cache they came from (None for files)."""

    partials: list[np.ndarray]
    infos: list[dict]
    truth: np.ndarray | None
    units: str
    kind: str | None = None
    skipped: int = 0


def _check_cloud(pts: np.ndarray, name: str, min_points: int) -> np.ndarray:
    if not np.isfinite(pts).all():
        raise UserInputError(f"{name}: the partial scan holds NaN/inf coordinates; clean it first")
    if len(pts) < min_points:
        raise UserInputError(f"{name}: {len(pts)} points, fewer than the {min_points} a partial scan needs")
    if not (pts.max(axis=0) - pts.min(axis=0)).max() > 0:
        raise UserInputError(f"{name}: all points coincide; nothing to complete")
    return pts.astype(np.float32)


def read_file_inputs(paths: list[str], min_points: int = 4) -> PartialInputs:
    """Partial scans from point files, each in its own units."""
    from gen3d.datasets.pointfiles import read_points

    partials = [_check_cloud(read_points(p), str(p), min_points) for p in paths]
    infos = [{"name": Path(p).name, "source": str(p), "camera": None} for p in paths]
    return PartialInputs(partials, infos, None, "input")


def read_cache_inputs(
    path: str, split: str, categories=None, max_count: int | None = None, view: int = 0, n_points=None
) -> PartialInputs:
    """Stored partial view ``view`` of every shape of ``split`` (cache prepared with ``--partial-views``),
    in each shape's normalised frame, and the complete shapes (``n_points`` of them, default all the cache
    holds) as the truth; shapes whose view ``view`` was degenerate are left out and counted."""
    from gen3d.datasets.cache import ShapeCache

    cache = ShapeCache(path)
    views = cache.load_partials(split, categories, max_count, view=view)
    if not views.partials:
        raise UserInputError(
            f"no shape of split {split!r} in {path} has a usable partial view {view} "
            f"({views.skipped} degenerate); try another --view"
        )
    truth, _, keys = cache.load_points(split, categories, max_count, n_points=n_points)
    index = {k: i for i, k in enumerate(keys)}
    infos = [{"name": k, "key": k, "view": view, "camera": c} for k, c in zip(views.keys, views.cameras)]
    kind = cache.normalization["kind"]
    return PartialInputs(
        views.partials, infos, truth[[index[k] for k in views.keys]], "cache", kind, views.skipped
    )
