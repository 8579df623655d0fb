"""Partial views of one shape: K cameras around it, the points each sees, degenerate views skipped, counted.

Two sensors: ``hpr`` (point clouds: :func:`~gen3d.completion.hpr.hidden_point_removal` of the shape's points
from each camera centre) and ``depth`` (meshes: :func:`~gen3d.completion.raycast.depth_scan`, a pinhole depth
image back-projected to points). A view is degenerate, and skipped with a reason, when it holds NaN/inf
coordinates or fewer than ``min_points`` points ("nothing visible" when it holds none). A view with more than
``max_points`` points keeps a random subset of that many (without replacement).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from gen3d.completion.cameras import Camera, sample_cameras

__all__ = ["PartialView", "ViewSet", "ViewOptions", "partial_views"]


@dataclass(frozen=True)
class PartialView:
    """The points ``points`` (M, 3) float32 one ``camera`` saw (in the frame the shape was given in)."""

    points: np.ndarray
    camera: Camera
    sensor: str


@dataclass
class ViewSet:
    """The usable ``views`` of a shape and the ``skipped`` degenerate ones, counted by reason."""

    views: list[PartialView] = field(default_factory=list)
    skipped: Counter = field(default_factory=Counter)


@dataclass(frozen=True)
class ViewOptions:
    """How views are made: ``k`` cameras at ``distance`` bounding radii (:func:`sample_cameras`), the
    ``hpr_gamma`` of hidden-point removal, the depth sensor's ``width`` x ``height`` image, ``fov_deg``,
    ``depth_noise`` (in units of the bounding radius) and ``dropout``, and the point-count bounds."""

    k: int = 4
    distance: float = 2.5
    hpr_gamma: float = 1.0
    width: int = 96
    height: int = 96
    fov_deg: float = 50.0
    depth_noise: float = 0.0
    dropout: float = 0.0
    min_points: int = 16
    max_points: int | None = None

    def __post_init__(self):
        if int(self.k) < 1:
            raise ValueError(f"need at least one partial view, got {self.k}")
        if int(self.min_points) < 1:
            raise ValueError(f"min_points must be >= 1, got {self.min_points}")
        if self.max_points is not None and int(self.max_points) < int(self.min_points):
            raise ValueError(f"max_points ({self.max_points}) is below min_points ({self.min_points})")

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def _bounding(points: np.ndarray) -> tuple[np.ndarray, float]:
    lo, hi = points.min(axis=0), points.max(axis=0)
    centre = (lo + hi) / 2.0
    return centre, float(np.linalg.norm(points - centre, axis=1).max())


def _check(pts: np.ndarray, opts: ViewOptions) -> str | None:
    if len(pts) == 0:
        return "nothing visible"
    if not np.isfinite(pts).all():
        return "nan/inf points"
    if len(pts) < opts.min_points:
        return f"fewer than {opts.min_points} points"
    return None


def partial_views(
    rng: np.random.Generator,
    opts: ViewOptions,
    points: np.ndarray | None = None,
    mesh: tuple[np.ndarray, np.ndarray] | None = None,
) -> ViewSet:
    """``opts.k`` partial views of one shape: of ``mesh`` ``(vertices (V, 3), faces (F, 3))`` by the depth
    sensor when given, else of ``points`` (N, 3) by hidden-point removal. Cameras look at the shape's
    bounding-box centre from ``opts.distance`` bounding radii. Deterministic given ``rng``."""
    if mesh is None and points is None:
        raise ValueError("partial_views needs points or a mesh")
    ref = np.asarray(mesh[0] if mesh is not None else points, dtype=np.float64)
    out = ViewSet()
    if len(ref) == 0 or not np.isfinite(ref).all():
        out.skipped["nan/inf or empty shape"] += int(opts.k)
        return out
    centre, radius = _bounding(ref)
    if not radius > 0:
        out.skipped["degenerate shape (zero extent)"] += int(opts.k)
        return out
    cams = sample_cameras(
        opts.k, centre, radius, rng, distance=opts.distance, width=opts.width, height=opts.height,
        fov_deg=opts.fov_deg,
    )  # fmt: skip
    for cam in cams:
        pts = _view(cam, rng, opts, points, mesh, radius)
        reason = _check(pts, opts)
        if reason is not None:
            out.skipped[reason] += 1
            continue
        if opts.max_points is not None and len(pts) > opts.max_points:
            pts = pts[np.sort(rng.choice(len(pts), int(opts.max_points), replace=False))]
        out.views.append(PartialView(pts.astype(np.float32), cam, "depth" if mesh is not None else "hpr"))
    return out


def _view(cam: Camera, rng, opts: ViewOptions, points, mesh, radius: float) -> np.ndarray:
    if mesh is not None:
        from gen3d.completion.raycast import depth_scan

        v, f = mesh
        return depth_scan(v, f, cam, rng, depth_noise=opts.depth_noise * radius, dropout=opts.dropout)
    from gen3d.completion.hpr import hidden_point_removal

    p = np.asarray(points, dtype=np.float64)
    return p[hidden_point_removal(p, np.asarray(cam.center), opts.hpr_gamma)]
