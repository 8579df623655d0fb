"""Frames of voxel grids versus point clouds, so that grids are never compared with points in another frame.

A grid's cell ``[i, j, k]`` has its centre at ``origin + (idx + 0.5) * spacing``; the default frame is the
cube ``[-1, 1]^3`` (origin (-1,-1,-1), spacing 2/R). A prepared cache records, per shape, the frame its
grids were made in (``vox_shift``/``vox_scale``: ``raw = grid_coords * vox_scale + vox_shift``) and in the
manifest which per-shape normalisation that is (``voxel_frame``: ``bbox`` or ``unit_sphere``). The cache's
*points* are in its own normalisation (``normalization["kind"]``), which is the grids' frame only when the
two kinds agree: a cache normalised ``global``, ``none`` or ``unit_cube`` holds grids in the per-shape
``bbox`` frame and points in another one. A model trained on the grids generates shapes in the grids' frame.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gen3d.errors import UserInputError

__all__ = [
    "cache_from_meta",
    "grid_frame",
    "grid_frame_record",
    "points_in_voxel_frame",
    "voxel_to_points_scale",
]


def grid_frame(meta: dict, resolution: int) -> tuple[np.ndarray, float]:
    """(origin (3,), spacing) of a sample file's grids: ``meta['voxel_origin'|'origin']`` and
    ``meta['voxel_spacing'|'spacing']`` if stored, else the default cube [-1,1]^3."""
    origin = meta.get("voxel_origin", meta.get("origin"))
    spacing = meta.get("voxel_spacing", meta.get("spacing"))
    origin = np.array((-1.0, -1.0, -1.0) if origin is None else origin, dtype=np.float64).reshape(3)
    spacing = 2.0 / resolution if spacing is None else float(spacing)
    return origin, spacing


def _explicit(meta: dict) -> bool:
    return any(k in meta for k in ("voxel_origin", "origin", "voxel_spacing", "spacing"))


def cache_from_meta(meta: dict):
    """The :class:`~gen3d.datasets.cache.ShapeCache` a sample file's model was trained on
    (``meta['config']['data']['cache_dir']``), or ``None`` when not recorded or not found. A URL is read
    through its verified local copy (:class:`ShapeCache`), None when it is not readable here."""
    cache_dir = ((meta.get("config") or {}).get("data") or {}).get("cache_dir")
    if not cache_dir:
        return None
    from gen3d.datasets.cache import ShapeCache
    from gen3d.storage.prepared import is_remote

    if is_remote(cache_dir):
        from gen3d.errors import Gen3dError

        try:
            return ShapeCache(cache_dir)
        except Gen3dError:
            return None
    if not (Path(cache_dir) / "manifest.json").is_file():
        return None
    return ShapeCache(cache_dir)


def voxel_to_points_scale(cache) -> float | None:
    """Factor ``s`` with ``points_frame = s * grid_frame`` (same centre) when that map is the same for every
    shape: 1 when the cache's voxel frame is its normalisation, 0.5 for ``unit_cube`` points (the unit cube
    is half the ``bbox`` cube), ``None`` otherwise (``global`` / ``none``: the map differs per shape and is
    unknown for a generated shape)."""
    kind, frame = cache.normalization["kind"], cache.voxel_frame
    if frame is not None and frame == kind:
        return 1.0
    if kind == "unit_cube" and frame == "bbox":
        return 0.5
    return None


def grid_frame_record(meta: dict, resolution: int) -> dict:
    """JSON record of the frame a sample file's grids are in: ``origin``, ``spacing``, ``source`` and, when
    the model's cache is known, its ``voxel_frame``, ``points_frame`` and ``points_scale``
    (:func:`voxel_to_points_scale`)."""
    origin, spacing = grid_frame(meta, resolution)
    rec = {"origin": origin.tolist(), "spacing": spacing}
    if _explicit(meta):
        return {**rec, "source": "sample file meta (voxel_origin / voxel_spacing)"}
    cache = cache_from_meta(meta)
    if cache is None:
        return {**rec, "source": "default cube [-1,1]^3 (the sample file records no frame and no cache)"}
    return {
        **rec,
        "source": f"voxel frame of the model's cache {cache.path}",
        "voxel_frame": cache.voxel_frame or "unrecorded",
        "points_frame": cache.normalization["kind"],
        "points_scale": voxel_to_points_scale(cache),
    }


def points_in_voxel_frame(cache, points: np.ndarray, model_ids) -> np.ndarray:
    """Cache points (S, N, 3) in the cache's normalisation -> the same points in each shape's voxel frame."""
    kind = cache.normalization["kind"]
    if cache.voxel_frame is not None and cache.voxel_frame == kind:
        return points
    raw = np.asarray(cache.denormalize(points, model_ids), dtype=np.float64)
    params = cache.voxel_params(model_ids)
    if len(params) != len(raw):
        raise UserInputError("points_in_voxel_frame: one model id per shape is needed")
    return np.stack([p.apply(x) for p, x in zip(params, raw)]).astype(np.float32)
