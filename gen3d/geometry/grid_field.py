"""Smooth fields on voxel grids for generative models: the truncated signed distance of an occupancy grid.

Binary occupancy in {-1, +1} is a field with a jump at every surface, the hardest thing for a denoiser to
regress; a truncated signed distance (TSDF) carries the same shape (its zero level set) as a field that
varies linearly across ``truncation`` cells on both sides of the surface. Convention (the one
``gen3d sample`` thresholds at 0, like model-space occupancy): positive inside.

For a cell centre ``c``: inside (occupied) ``f = d_empty(c) - 1/2``, outside ``f = -(d_occupied(c) - 1/2)``,
with ``d_*`` the Euclidean distance, in cells, from ``c`` to the nearest cell centre of the other kind
(``scipy.ndimage.distance_transform_edt``); the boundary between two face-neighbours lies half a cell
from each. Distances are measured within the grid: the grid's border is not a surface (an occupied cell on
the border is as deep as its distance to the nearest empty cell of the grid). The field is divided by
``truncation`` and clipped to [-1, 1], so ``f > 0`` is exactly the occupancy and cells farther than
``truncation`` cells from the surface are +-1 as in the binary encoding.
"""

from __future__ import annotations

import numpy as np

from gen3d.errors import UserInputError

__all__ = ["VOXEL_FIELDS", "check_voxel_field", "flip_dims", "occupancy_to_tsdf", "to_model_space"]

#: Fields a voxel model can generate (``data.field``); both are occupied exactly where the value is > 0.
VOXEL_FIELDS = ("occupancy", "tsdf")


def occupancy_to_tsdf(occ, truncation: float) -> np.ndarray:
    """Occupancy grids bool ``(S, R, R, R)`` (or ``(R, R, R)``) -> TSDF float32 of the same shape in [-1, 1].

    A grid with no occupied (no empty) cell has no surface: it maps to -1 (+1) everywhere.
    """
    from scipy import ndimage

    if not truncation > 0:
        raise ValueError(f"truncation must be a positive number of cells, got {truncation!r}")
    g = np.asarray(occ, dtype=bool)
    single = g.ndim == 3
    g = g[None] if single else g
    out = np.empty(g.shape, dtype=np.float32)
    for i, x in enumerate(g):
        if x.all() or not x.any():
            out[i] = 1.0 if x.any() else -1.0
            continue
        d_empty = ndimage.distance_transform_edt(x)  # occupied cells: distance to the nearest empty one
        d_occ = ndimage.distance_transform_edt(~x)  # empty cells: distance to the nearest occupied one
        f = np.where(x, d_empty - 0.5, -(d_occ - 0.5)) / float(truncation)
        out[i] = np.clip(f, -1.0, 1.0)
    return out[0] if single else out


def check_voxel_field(field: str, truncation) -> tuple[str, float]:
    """``(field, truncation)`` checked: field in :data:`VOXEL_FIELDS`, truncation > 0 cells."""
    if field not in VOXEL_FIELDS:
        raise UserInputError(f"data.field must be one of {list(VOXEL_FIELDS)}, got {field!r}")
    if isinstance(truncation, bool) or not isinstance(truncation, int | float) or not 0 < truncation < np.inf:
        raise UserInputError(f"data.tsdf_truncation must be a positive number of cells, got {truncation!r}")
    return field, float(truncation)


def flip_dims(axes) -> tuple[int, ...]:
    """``augment_flip`` axis names -> tensor dims of one grid ``(C, R, R, R)`` (x -> 1, y -> 2, z -> 3)."""
    names = [axes] if isinstance(axes, str) else list(axes or ())
    bad = [a for a in names if a not in ("x", "y", "z")]
    if bad or len(set(names)) != len(names):
        raise UserInputError(f"data.augment_flip must list distinct axes among x, y, z; got {axes!r}")
    return tuple(1 + "xyz".index(a) for a in names)


def to_model_space(occ, field: str = "occupancy", truncation: float = 2.0) -> np.ndarray:
    """Occupancy grids ``(S, 1, R, R, R)`` (0/1 or bool) -> the model's field, float32, same shape:
    ``2 occ - 1`` for "occupancy", :func:`occupancy_to_tsdf` for "tsdf". Occupied exactly where > 0."""
    field, truncation = check_voxel_field(field, truncation)
    g = np.asarray(occ) > 0.5
    if field == "tsdf":
        return occupancy_to_tsdf(g[:, 0], truncation)[:, None]
    return g.astype(np.float32) * 2.0 - 1.0
