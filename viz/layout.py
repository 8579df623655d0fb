"""Gallery layout: shapes side by side in a grid, each fitted into a tile, seen by one orthographic camera.

Every tile is offset along the camera's right and up axes, so with an orthographic projection tile (r, c)
lands exactly on pixel block (r, c) of the image, whatever the viewing direction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["GalleryLayout", "camera_basis", "fit_to_unit_ball"]

TILE = 2.4  # world units per tile; a fitted shape spans at most 2 (radius 1) -> 0.2 margin on each side


def camera_basis(azimuth_deg: float, elevation_deg: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(forward, right, up) unit vectors of a camera orbiting the y axis of the view frame (the data's up
    axis, once :func:`gen3d.viz.geometry.upright` turned the shapes): azimuth 0 looks along -z from +z."""
    az, el = math.radians(azimuth_deg), math.radians(elevation_deg)
    eye = np.array([math.cos(el) * math.sin(az), math.sin(el), math.cos(el) * math.cos(az)])
    forward = -eye
    right = np.cross(forward, [0.0, 1.0, 0.0])
    right /= np.linalg.norm(right)
    up = np.cross(right, forward)
    return forward, right, up


def fit_to_unit_ball(vertices: np.ndarray) -> tuple[np.ndarray, float]:
    """(centre (3,), scale) mapping ``vertices`` (V,3) into the unit ball: v' = (v - centre) * scale.
    Centre = bounding-box centre."""
    if not len(vertices):
        return np.zeros(3), 1.0
    lo, hi = vertices.min(0), vertices.max(0)
    centre = (lo + hi) / 2
    r = float(np.linalg.norm(vertices - centre, axis=1).max())
    return centre, (1.0 / r if r > 0 else 1.0)


@dataclass(frozen=True)
class GalleryLayout:
    """``n`` tiles in ``ncols`` columns, ``tile_px`` (w, h) pixels each, viewed from (azimuth, elevation)."""

    n: int
    ncols: int
    tile_px: tuple[int, int]
    azimuth: float = 30.0
    elevation: float = 20.0

    @classmethod
    def make(cls, n: int, ncols: int | None, tile_px, azimuth=30.0, elevation=20.0) -> GalleryLayout:
        if n < 1:
            raise ValueError("a gallery needs at least one shape")
        ncols = int(ncols) if ncols else math.ceil(math.sqrt(n))
        return cls(n, max(1, min(ncols, n)), (int(tile_px[0]), int(tile_px[1])), azimuth, elevation)

    @property
    def nrows(self) -> int:
        return math.ceil(self.n / self.ncols)

    @property
    def image_px(self) -> tuple[int, int]:
        """(width, height) of the whole gallery in pixels."""
        return self.ncols * self.tile_px[0], self.nrows * self.tile_px[1]

    def tile_extent(self) -> tuple[float, float]:
        """World (width, height) of one tile: TILE along the shorter side, aspect kept."""
        w, h = self.tile_px
        return (TILE * w / h, TILE) if w >= h else (TILE, TILE * h / w)

    def tile_offset(self, i: int) -> np.ndarray:
        """World offset (3,) of tile ``i`` (row-major) from the gallery centre."""
        _, right, up = camera_basis(self.azimuth, self.elevation)
        tw, th = self.tile_extent()
        r, c = divmod(i, self.ncols)
        x = (c - (self.ncols - 1) / 2) * tw
        y = ((self.nrows - 1) / 2 - r) * th
        return x * right + y * up

    def tile_box(self, i: int) -> tuple[int, int, int, int]:
        """Pixel box (left, top, right, bottom) of tile ``i`` in the gallery image."""
        r, c = divmod(i, self.ncols)
        w, h = self.tile_px
        return c * w, r * h, (c + 1) * w, (r + 1) * h

    def ortho_bounds(self) -> tuple[float, float, float, float]:
        """(left, right, bottom, top) of the orthographic view volume, centred on the gallery."""
        tw, th = self.tile_extent()
        return -self.ncols * tw / 2, self.ncols * tw / 2, -self.nrows * th / 2, self.nrows * th / 2
