"""Camera poses for partial views: look-at extrinsics, a pinhole model, and poses sampled around a shape.

Conventions (OpenCV, as Open3D's ray casting): camera axes x right, y down, z forward. The extrinsic ``E``
(4, 4) maps world to camera coordinates, ``x_cam = R x_world + t`` with ``t = -R c`` for the camera centre
``c`` (3,). A :class:`Camera` is plain data that round-trips through JSON (:meth:`Camera.to_dict`), so every
stored partial view carries the pose that made it and can be mapped back.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Camera", "look_at", "sample_cameras"]


def look_at(center: np.ndarray, target: np.ndarray, up: np.ndarray) -> np.ndarray:
    """World-to-camera rotation ``R`` (3, 3) (rows: the camera's x, y, z axes in world coordinates) of a
    camera at ``center`` (3,) looking at ``target`` (3,), with ``up`` (3,) pointing up in the image (-y).
    ValueError when the camera sits on the target or looks along ``up``."""
    c, t, u = (np.asarray(a, dtype=np.float64).reshape(3) for a in (center, target, up))
    f = t - c
    if not np.linalg.norm(f) > 0:
        raise ValueError("camera centre and target coincide")
    z = f / np.linalg.norm(f)
    x = np.cross(z, u)
    if not float(np.linalg.norm(x)) > 1e-9 * max(float(np.linalg.norm(u)), 1e-300):
        raise ValueError("camera looks along its up vector; choose another up")
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    return np.stack([x, y, z])


@dataclass(frozen=True)
class Camera:
    """A pinhole camera at ``center`` (3,) looking at ``target`` (3,) with ``up`` (3,); image ``width`` x
    ``height`` pixels and horizontal field of view ``fov_deg`` (square pixels, principal point at the image
    centre). Hidden-point removal uses only the centre."""

    center: tuple[float, float, float]
    target: tuple[float, float, float]
    up: tuple[float, float, float] = (0.0, 0.0, 1.0)
    width: int = 128
    height: int = 128
    fov_deg: float = 60.0

    def __post_init__(self):
        for name in ("center", "target", "up"):
            v = np.asarray(getattr(self, name), dtype=np.float64).reshape(-1)
            if v.shape != (3,) or not np.isfinite(v).all():
                raise ValueError(f"Camera.{name} must be 3 finite numbers, got {getattr(self, name)!r}")
            object.__setattr__(self, name, tuple(float(a) for a in v))
        if int(self.width) < 1 or int(self.height) < 1:
            raise ValueError(f"camera image must be at least 1x1 pixels, got {self.width}x{self.height}")
        if not 0.0 < float(self.fov_deg) < 180.0:
            raise ValueError(f"field of view must be in (0, 180) degrees, got {self.fov_deg}")
        self.rotation()  # refuses a centre on the target or a view along up

    def rotation(self) -> np.ndarray:
        """World-to-camera rotation (3, 3) (:func:`look_at`)."""
        return look_at(np.array(self.center), np.array(self.target), np.array(self.up))

    def extrinsic(self) -> np.ndarray:
        """World-to-camera (4, 4) float64: ``[[R, -R c], [0, 1]]``."""
        r = self.rotation()
        e = np.eye(4)
        e[:3, :3] = r
        e[:3, 3] = -r @ np.asarray(self.center)
        return e

    def intrinsic(self) -> np.ndarray:
        """Pinhole matrix ``K`` (3, 3) float64: ``fx = fy = (W/2) / tan(fov/2)``, centre ``(W/2, H/2)``."""
        f = (self.width / 2.0) / np.tan(np.radians(self.fov_deg) / 2.0)
        return np.array([[f, 0.0, self.width / 2.0], [0.0, f, self.height / 2.0], [0.0, 0.0, 1.0]])

    def to_dict(self) -> dict:
        """JSON form (what caches and completion files record), with the derived matrices for readers that
        do not use gen3d."""
        return {
            "center": list(self.center),
            "target": list(self.target),
            "up": list(self.up),
            "width": int(self.width),
            "height": int(self.height),
            "fov_deg": float(self.fov_deg),
            "intrinsic": self.intrinsic().tolist(),
            "extrinsic": self.extrinsic().tolist(),
        }

    @classmethod
    def from_dict(cls, d: dict) -> Camera:
        keys = ("center", "target", "up", "width", "height", "fov_deg")
        return cls(**{k: d[k] for k in keys if k in d})

    def transformed(self, shift: np.ndarray, scale: np.ndarray) -> Camera:
        """The same camera in the frame ``(x - shift) / scale``; ``scale`` must be isotropic (then the image
        is unchanged)."""
        s = np.asarray(scale, dtype=np.float64).reshape(-1)
        if not np.allclose(s, s[0]):
            raise ValueError("a camera maps to another frame only under an isotropic scale")
        sh = np.asarray(shift, dtype=np.float64).reshape(3)
        return Camera(
            tuple((np.asarray(self.center) - sh) / s[0]),
            tuple((np.asarray(self.target) - sh) / s[0]),
            self.up,
            self.width,
            self.height,
            self.fov_deg,
        )


def sample_cameras(
    k: int,
    target: np.ndarray,
    radius: float,
    rng: np.random.Generator,
    *,
    distance: float = 2.5,
    width: int = 128,
    height: int = 128,
    fov_deg: float = 60.0,
) -> list[Camera]:
    """``k`` cameras looking at ``target`` (3,) from directions uniform on the sphere, at ``distance`` times
    ``radius`` (the shape's bounding radius about ``target``) from it. ``up`` is +z unless the camera looks
    (almost) along z, then +y. Deterministic given ``rng``."""
    if int(k) < 1:
        raise ValueError(f"need at least one camera, got k={k}")
    if not (radius > 0 and distance > 1.0):
        raise ValueError(
            f"cameras need radius > 0 and distance > 1 (outside the shape), got {radius}, {distance}"
        )
    t = np.asarray(target, dtype=np.float64).reshape(3)
    d = rng.standard_normal((int(k), 3))
    d /= np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-12)
    out = []
    for v in d:
        up = (0.0, 0.0, 1.0) if abs(v[2]) < 0.99 else (0.0, 1.0, 0.0)
        c = t + distance * radius * v
        centre = (float(c[0]), float(c[1]), float(c[2]))
        out.append(Camera(centre, (float(t[0]), float(t[1]), float(t[2])), up, width, height, fov_deg))
    return out
