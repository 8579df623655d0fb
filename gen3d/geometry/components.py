"""Connected pieces of occupancy grids: counting them, keeping the largest, filling enclosed holes.

A generated grid is "one solid piece" when its occupied cells form one face-connected component
(6-connectivity: two cells touch when they share a face; cells that meet only at an edge or a corner are
separate pieces, as for a printed or meshed solid). Grids are bool ``(S, R, R, R)`` or ``(R, R, R)``.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "POST_STEPS",
    "VOXEL_POST_STEPS",
    "count_components",
    "fill_holes",
    "largest_component",
    "postprocess_grids",
]


def _structure():
    from scipy import ndimage

    return ndimage.generate_binary_structure(3, 1)  # the 6 face neighbours


def _as_batch(grids) -> tuple[np.ndarray, bool]:
    g = np.asarray(grids, dtype=bool)
    if g.ndim == 3:
        return g[None], True
    if g.ndim != 4:
        raise ValueError(f"occupancy grids must be (R,R,R) or (S,R,R,R), got shape {g.shape}")
    return g, False


def count_components(grids) -> np.ndarray:
    """Face-connected components of each grid -> ``(S,)`` int64 (0 for an empty grid)."""
    from scipy import ndimage

    g, _ = _as_batch(grids)
    return np.array([ndimage.label(x, structure=_structure())[1] for x in g], dtype=np.int64)


def largest_component(grids) -> np.ndarray:
    """Each grid with only its largest face-connected component (ties: the lowest label); empty stays
    empty. Same shape as the input."""
    from scipy import ndimage

    g, single = _as_batch(grids)
    out = np.zeros_like(g)
    for i, x in enumerate(g):
        labels, n = ndimage.label(x, structure=_structure())
        if n == 0:
            continue
        sizes = np.bincount(labels.ravel())
        sizes[0] = 0
        out[i] = labels == int(sizes.argmax())
    return out[0] if single else out


def fill_holes(grids) -> np.ndarray:
    """Each grid with every empty region that does not reach the grid border filled (enclosed cavities).

    Empty space is connected through faces, edges and corners (26-connectivity, the complement of the
    occupied cells' face connectivity): a cavity that leaks out through an edge or corner gap stays empty.
    """
    from scipy import ndimage

    g, single = _as_batch(grids)
    full = np.ones((3, 3, 3), dtype=bool)
    out = np.stack([ndimage.binary_fill_holes(x, structure=full) for x in g])
    return out[0] if single else out


#: Post-processing steps of generated grids by name, applied in the order given (``--voxel-post``).
POST_STEPS = {"lcc": largest_component, "fill": fill_holes}
VOXEL_POST_STEPS = tuple(POST_STEPS)


def postprocess_grids(grids, steps) -> np.ndarray:
    """Apply ``steps`` (names from :data:`VOXEL_POST_STEPS`, in order) to bool grids ``(S, R, R, R)``."""
    out = np.asarray(grids, dtype=bool)
    for step in steps:
        if step not in POST_STEPS:
            raise ValueError(
                f"unknown voxel post-processing step {step!r}; choose from {list(VOXEL_POST_STEPS)}"
            )
        out = POST_STEPS[step](out)
    return out
