"""A completion's observed points in pictures: which colour mode to draw a shape set with, and the drawables
that carry each shape's observed count.

``gen3d complete --sample-file`` writes completions as a sample file whose ``meta["observed"]`` lists, per
shape, how many of its leading points are observed ones (points of the partial scan it completes); the rest
were generated. Colour mode ``"observed"`` draws the former in :data:`gen3d.viz.colors.OBSERVED_COLOR` and
the latter by height; it is the default for such files when they are drawn as points.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from gen3d.errors import UserInputError
from gen3d.viz.geometry import Drawable
from gen3d.viz.loaders import ShapeSet

__all__ = ["DEFAULT_COLOR_BY", "observed_counts", "resolve_color_by", "with_observed"]

DEFAULT_COLOR_BY = "height"  # for shape sets without observed points
_KEY = "observed"


def observed_counts(shape_set: ShapeSet) -> np.ndarray | None:
    """``(S,) int64``: the observed points leading each of the S point clouds of ``shape_set``, from its
    sample file's ``meta["observed"]``; None when the file records none. UserInputError for a record that
    does not give one count in 0..N per point cloud."""
    raw = shape_set.meta.get(_KEY)
    if raw is None:
        return None
    sizes = [len(s) if isinstance(s, np.ndarray) and s.ndim == 2 else -1 for s in shape_set.shapes]
    ok = isinstance(raw, list) and len(raw) == len(sizes)
    ok = ok and all(
        isinstance(m, int) and not isinstance(m, bool) and 0 <= m <= n for m, n in zip(raw, sizes)
    )
    if not ok:
        raise UserInputError(
            f"the sample file's meta['observed'] must list one count in 0..N per point cloud ({len(sizes)} "
            "shapes); rewrite it with `gen3d complete --sample-file`"
        )
    return np.asarray(raw, dtype=np.int64)


def resolve_color_by(
    given: str | None, shape_set: ShapeSet, representation: str | None = None, mode: str = "gallery"
) -> str:
    """The colour mode to draw ``shape_set`` with: ``given`` (``--color-by``), else ``"observed"`` for a
    completion sample file drawn as points (not as a trajectory), else ``"height"``. UserInputError, in one
    line, when ``"observed"`` is asked of a set without observed points, of meshes or voxels, or of a
    trajectory."""
    counts = observed_counts(shape_set)
    as_points = representation in (None, "points")
    if given is None:
        return "observed" if counts is not None and as_points and mode != "trajectory" else DEFAULT_COLOR_BY
    if given != "observed":
        return given
    if counts is None:
        raise UserInputError(
            "--color-by observed: this file records no observed points (meta['observed']); completions "
            "written by `gen3d complete --sample-file` do"
        )
    if not as_points:
        raise UserInputError(f"--color-by observed colours points, not --representation {representation}")
    if mode == "trajectory":
        raise UserInputError("--color-by observed colours the final shapes, not a trajectory")
    return "observed"


def with_observed(shapes: Sequence[np.ndarray], counts: Sequence[int]) -> list[Drawable]:
    """Point drawables of ``shapes`` (each (N_i, 3)) whose first ``counts[i]`` points are observed ones."""
    if len(shapes) != len(counts):
        raise ValueError(f"{len(counts)} observed counts for {len(shapes)} shapes")
    return [Drawable(np.asarray(s, dtype=np.float64), observed=int(m)) for s, m in zip(shapes, counts)]
