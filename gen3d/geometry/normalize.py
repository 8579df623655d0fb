"""Point-cloud normalisation: one explicit enum, with the parameters kept so samples can be de-normalised.

Every kind is an affine map per axis, ``normalised = (x - shift) / scale`` and ``raw = normalised * scale +
shift``, with ``shift`` and ``scale`` of shape (3,). The kinds:

* ``NONE``: identity (shift 0, scale 1).
* ``UNIT_SPHERE``: centre on the point mean, one isotropic scale so the farthest point lies on the unit sphere
  (PointNet's ``pc_normalize``).
* ``UNIT_CUBE``: centre on the bounding-box centre, one isotropic scale so the shape fits the axis-aligned
  cube of side 1, ``[-0.5, 0.5]^3`` (its longest side spans it exactly).
* ``BBOX``: centre on the bounding-box centre, one isotropic scale so the longest side spans ``[-1, 1]``
  (DPM's ``shape_bbox``, used by DPM and LION on ShapeNet).
* ``GLOBAL``: PointFlow's dataset statistics: ``shift`` = mean of all training points per axis, ``scale`` =
  one standard deviation over all coordinates of all training points (the same value on each axis). Fit it
  on the whole training set with :func:`fit_global_normalization`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

import numpy as np

__all__ = ["Normalization", "NormParams", "fit_normalization", "fit_global_normalization"]


class Normalization(str, Enum):
    """Which normalisation a collection uses (recorded with every cache and result)."""

    NONE = "none"
    UNIT_SPHERE = "unit_sphere"
    UNIT_CUBE = "unit_cube"
    BBOX = "bbox"
    GLOBAL = "global"

    @classmethod
    def parse(cls, value: str | Normalization) -> Normalization:
        """``Normalization`` from its value (``"bbox"``) or itself; a clear ``ValueError`` otherwise."""
        if isinstance(value, cls):
            return value
        try:
            return cls(str(value).lower())
        except ValueError:
            choices = ", ".join(k.value for k in cls)
            raise ValueError(f"unknown normalization {value!r}; expected one of: {choices}") from None


@dataclass(frozen=True)
class NormParams:
    """Affine normalisation ``normalised = (x - shift) / scale``; ``shift`` and ``scale`` are float64 (3,)."""

    shift: np.ndarray
    scale: np.ndarray

    def __post_init__(self):
        shift = np.asarray(self.shift, dtype=np.float64).reshape(-1)
        scale = np.asarray(self.scale, dtype=np.float64).reshape(-1)
        if scale.size == 1:
            scale = np.repeat(scale, 3)
        if shift.shape != (3,) or scale.shape != (3,):
            raise ValueError(
                f"NormParams needs shift (3,) and scale (3,), got {shift.shape} and {scale.shape}"
            )
        if not (np.all(np.isfinite(shift)) and np.all(np.isfinite(scale)) and np.all(scale > 0)):
            raise ValueError(f"NormParams needs finite shift and positive finite scale, got {shift}, {scale}")
        object.__setattr__(self, "shift", shift)
        object.__setattr__(self, "scale", scale)

    @classmethod
    def identity(cls) -> NormParams:
        return cls(np.zeros(3), np.ones(3))

    def apply(self, points: np.ndarray) -> np.ndarray:
        """Raw ``(..., 3)`` -> normalised ``(..., 3)`` (dtype kept for float inputs)."""
        points = np.asarray(points)
        dtype = points.dtype if np.issubdtype(points.dtype, np.floating) else np.float64
        return ((points - self.shift) / self.scale).astype(dtype, copy=False)

    def invert(self, points: np.ndarray) -> np.ndarray:
        """Normalised ``(..., 3)`` -> raw units ``(..., 3)`` (dtype kept for float inputs)."""
        points = np.asarray(points)
        dtype = points.dtype if np.issubdtype(points.dtype, np.floating) else np.float64
        return (points * self.scale + self.shift).astype(dtype, copy=False)

    def to_dict(self) -> dict:
        """JSON-serialisable form: ``{"shift": [x, y, z], "scale": [sx, sy, sz]}``."""
        return {"shift": [float(v) for v in self.shift], "scale": [float(v) for v in self.scale]}

    @classmethod
    def from_dict(cls, d: dict) -> NormParams:
        return cls(np.asarray(d["shift"], dtype=np.float64), np.asarray(d["scale"], dtype=np.float64))

    def __eq__(self, other) -> bool:
        return (
            isinstance(other, NormParams)
            and np.array_equal(self.shift, other.shift)
            and np.array_equal(self.scale, other.scale)
        )

    __hash__ = None


def _as_points(points) -> np.ndarray:
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim < 2 or pts.shape[-1] != 3:
        raise ValueError(f"points must have shape (N, 3) (or (..., N, 3)), got {pts.shape}")
    pts = pts.reshape(-1, 3)
    if pts.shape[0] == 0:
        raise ValueError("cannot fit a normalisation to zero points")
    if not np.all(np.isfinite(pts)):
        raise ValueError("cannot fit a normalisation to points with NaN/inf coordinates")
    return pts


def _positive(scale: float, kind: Normalization) -> float:
    if not scale > 0:
        raise ValueError(f"cannot fit {kind.value!r} normalisation: all points coincide (zero extent)")
    return float(scale)


def fit_normalization(kind: str | Normalization, points: np.ndarray) -> NormParams:
    """Fit the parameters of ``kind`` to ``points`` ``(N, 3)`` (or ``(..., N, 3)``, flattened).

    For ``GLOBAL`` pass all training points of the collection (or use :func:`fit_global_normalization`, which
    streams over shapes without concatenating them).
    """
    kind = Normalization.parse(kind)
    pts = _as_points(points)
    if kind is Normalization.NONE:
        return NormParams.identity()
    if kind is Normalization.UNIT_SPHERE:
        centre = pts.mean(axis=0)
        radius = _positive(np.sqrt(((pts - centre) ** 2).sum(axis=1).max()), kind)
        return NormParams(centre, np.full(3, radius))
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    centre = (lo + hi) / 2
    extent = _positive((hi - lo).max(), kind)
    if kind is Normalization.UNIT_CUBE:
        return NormParams(centre, np.full(3, extent))
    if kind is Normalization.BBOX:
        return NormParams(centre, np.full(3, extent / 2))
    # GLOBAL: PointFlow's mean per axis and one std over all coordinates.
    return fit_global_normalization([pts])


def fit_global_normalization(point_sets: Iterable[np.ndarray]) -> NormParams:
    """PointFlow's dataset normalisation from an iterable of ``(N_i, 3)`` arrays (one per training shape).

    ``shift`` = mean of all points per axis; ``scale`` = standard deviation of all coordinates pooled together
    (population std, ``ddof=0``, as ``numpy.std`` in PointFlow), repeated on the three axes. Accumulated in
    float64 with shifted sums, so it does not need all shapes in memory at once.
    """
    count = 0
    ref = None
    s1 = np.zeros(3)
    s2 = np.zeros(3)
    for p in point_sets:
        pts = _as_points(p)
        if ref is None:
            ref = pts.mean(axis=0)  # shift for numerically stable sums
        d = pts - ref
        s1 += d.sum(axis=0)
        s2 += (d**2).sum(axis=0)
        count += pts.shape[0]
    if count == 0:
        raise ValueError("cannot fit a global normalisation: no point sets given")
    mean = ref + s1 / count
    # variance of all 3*count coordinates about their pooled mean m (the mean of the three axis means):
    # sum_a sum_i (d_ai + c_a)^2 with c_a = ref_a - m, expanded into the accumulated sums
    c = ref - mean.mean()
    var = float((s2 + 2 * c * s1 + count * c**2).sum()) / (3 * count)
    std = _positive(np.sqrt(max(var, 0.0)), Normalization.GLOBAL)
    return NormParams(mean, np.full(3, std))
