"""Colours for shapes: by height (a perceptual blue -> yellow ramp), one colour per sample, or by height with
a completion's observed points in one dark grey."""

from __future__ import annotations

import numpy as np

__all__ = ["COLOR_MODES", "OBSERVED_COLOR", "UP_AXIS", "height_colors", "observed_colors", "sample_color"]

COLOR_MODES = ("height", "sample", "uniform", "observed")
#: the colour of a completion's observed points (the partial scan): a dark neutral grey, apart from the ramp
OBSERVED_COLOR = np.array([0.16, 0.16, 0.16])
UP_AXIS = 1  # y is up in the view frame (shapes are turned upright into it: gen3d.geometry.up_axis)

# anchor colours of a viridis-like ramp (dark blue -> teal -> green -> yellow), linearly interpolated
_RAMP = np.array(
    [
        [0.267, 0.005, 0.329],
        [0.230, 0.322, 0.546],
        [0.128, 0.567, 0.551],
        [0.369, 0.789, 0.383],
        [0.993, 0.906, 0.144],
    ]
)
# a qualitative palette for "colour by sample" (distinct hues, readable on white)
_PALETTE = np.array(
    [
        [0.122, 0.467, 0.706], [1.000, 0.498, 0.055], [0.173, 0.627, 0.173], [0.839, 0.153, 0.157],
        [0.580, 0.404, 0.741], [0.549, 0.337, 0.294], [0.890, 0.467, 0.761], [0.498, 0.498, 0.498],
        [0.737, 0.741, 0.133], [0.090, 0.745, 0.812],
    ]
)  # fmt: skip


def height_colors(points: np.ndarray, axis: int = UP_AXIS) -> np.ndarray:
    """Colour (N,3) float64 in [0,1] for points (N,3) by their coordinate along ``axis`` (min -> max)."""
    h = np.asarray(points, dtype=np.float64)[:, axis]
    lo, hi = (h.min(), h.max()) if len(h) else (0.0, 1.0)
    t = (h - lo) / (hi - lo) if hi > lo else np.full_like(h, 0.5)
    pos = t * (len(_RAMP) - 1)
    i = np.clip(np.floor(pos).astype(int), 0, len(_RAMP) - 2)
    f = (pos - i)[:, None]
    return _RAMP[i] * (1 - f) + _RAMP[i + 1] * f


def sample_color(index: int) -> np.ndarray:
    """Colour (3,) of sample ``index`` in a 10-colour qualitative palette."""
    return _PALETTE[int(index) % len(_PALETTE)].copy()


def observed_colors(points: np.ndarray, n_observed: int, axis: int = UP_AXIS) -> np.ndarray:
    """Colour (N,3) float64 in [0,1] for a completion ``points`` (N,3) whose first ``n_observed`` points are
    observed (the partial scan it was completed from): those in :data:`OBSERVED_COLOR`, the generated ones by
    height (:func:`height_colors` over the generated points, so the ramp spans what the model added).
    ValueError unless 0 <= n_observed <= N."""
    n = len(points)
    m = int(n_observed)
    if not 0 <= m <= n:
        raise ValueError(f"n_observed must be in 0..{n} (the number of points), got {n_observed}")
    out = np.empty((n, 3))
    out[:m] = OBSERVED_COLOR
    out[m:] = height_colors(np.asarray(points)[m:], axis)
    return out
