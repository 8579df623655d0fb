"""Batch export of a whole sample file: one mesh file and one report entry per shape.

A shape that cannot be meshed (too few points, empty grid, NaN, failed reconstruction) gets an error entry and
the batch goes on; the JSON report (``report.json`` in the output folder) lists every shape either way.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from gen3d.atomic import atomic_write_text
from gen3d.errors import UserInputError
from gen3d.export.checks import DegenerateShapeError
from gen3d.export.marching import voxels_to_mesh
from gen3d.export.reconstruct import METHODS, points_to_mesh
from gen3d.export.report import MeshReport, mesh_report
from gen3d.export.writers import FORMATS, write_mesh
from gen3d.metrics.frames import grid_frame, grid_frame_record
from gen3d.sample_file import SampleFile, load_samples
from gen3d.storage.urls import join_url

__all__ = ["FRAMES", "ExportResult", "export_samples", "grid_frame"]

#: ``grid``: meshes from grids in the grids' own frame; ``points``: in the frame of the model's points
FRAMES = ("grid", "points")

log = logging.getLogger(__name__)


@dataclass
class ExportResult:
    """Outcome for shape ``index``: ``path`` + ``report`` on success, ``error`` (one line) on failure."""

    index: int
    path: Path | str | None = None  # a URL string when the output folder is a URL
    report: MeshReport | None = None
    error: str | None = None
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        d = {
            "index": self.index,
            "path": str(self.path) if self.path else None,
            "error": self.error,
            **self.extra,
        }
        if self.report is not None:
            d.update(self.report.to_dict())
        return d


def export_samples(
    samples: SampleFile | str | os.PathLike,
    out_dir: str | os.PathLike,
    fmt: str = "ply",
    source: str = "auto",
    method: str = "poisson",
    recon_kwargs: dict | None = None,
    smooth_iterations: int = 0,
    largest_component: bool = False,
    indices: list[int] | None = None,
    progress: Callable[[ExportResult], None] | None = None,
    frame: str = "grid",
) -> list[ExportResult]:
    """Mesh and write every shape of a sample file.

    Args:
        samples: a :class:`SampleFile` or a path to one (.npz / .npy).
        out_dir: folder for ``shape_0000[_seedS].<fmt>`` files and ``report.json``; or an fsspec URL
            string (``s3://bucket/meshes``): each file is written locally, then uploaded in one operation
            (never a partial object), ``report.json`` last.
        source: ``"voxels"`` (marching cubes), ``"points"`` (``method`` reconstruction), or ``"auto"``
            (voxels if present, else points).
        recon_kwargs: extra keyword arguments for :func:`points_to_mesh`.
        smooth_iterations, largest_component: post-processing (see :func:`voxels_to_mesh`; for point
            reconstructions only ``largest_component`` applies).
        indices: export only these shapes (default: all).
        progress: called with each result as it is done.
        frame: for grids, ``"grid"`` (the grids' own frame: ``meta`` voxel_origin / voxel_spacing, else
            [-1,1]^3, which for a model trained on a cache is that cache's per-shape voxel frame) or
            ``"points"`` (the frame of the cache's points, when that map is the same for every shape; refused
            otherwise). The frame used is recorded in ``report.json`` (``grid_frame``), see
            :mod:`gen3d.metrics.frames`.

    Returns:
        one :class:`ExportResult` per exported shape, in order; failures have ``error`` set.
    """
    if fmt not in FORMATS:
        raise UserInputError(f"unsupported mesh format {fmt!r}; choose one of {', '.join(FORMATS)}")
    sf = samples if isinstance(samples, SampleFile) else load_samples(samples)
    if source == "auto":
        source = "voxels" if sf.voxels is not None else "points"
    if method not in METHODS:
        raise UserInputError(f"unknown reconstruction method {method!r}; choose one of {', '.join(METHODS)}")
    if source not in ("voxels", "points"):
        raise UserInputError(f"source must be 'auto', 'voxels' or 'points', got {source!r}")
    data = sf.voxels if source == "voxels" else sf.points
    if data is None:
        raise UserInputError(f"sample file holds no '{source}'")
    n = len(data)
    indices = list(range(n)) if indices is None else [int(i) for i in indices]
    for i in indices:
        if not 0 <= i < n:
            raise UserInputError(f"shape index {i} out of range (file holds {n} shapes)")
    if frame not in FRAMES:
        raise UserInputError(f"frame must be one of {', '.join(FRAMES)}, got {frame!r}")
    frame_rec, scale = None, 1.0
    if source == "voxels":
        frame_rec = grid_frame_record(sf.meta, data.shape[-1])
        if frame == "points":
            scale = frame_rec.get("points_scale")
            if scale is None:
                why = (
                    f"its cache's points are normalised '{frame_rec['points_frame']}' and its grids per "
                    f"shape '{frame_rec['voxel_frame']}', a map that differs for every shape"
                    if "points_frame" in frame_rec
                    else "it records no cache whose frames could be compared"
                )
                raise UserInputError(
                    f"cannot mesh these grids in the points' frame: {why}; use --frame grid (the grids' own "
                    "frame, recorded in report.json)"
                )
        frame_rec = {**frame_rec, "frame": frame, "applied_scale": scale}
    out = _output_folder(out_dir)
    sdf = sf.meta.get("voxel_kind") == "sdf"
    results = []
    for i in indices:
        name = f"shape_{i:04d}" + (f"_seed{int(sf.seeds[i])}" if sf.seeds is not None else "")
        res = ExportResult(index=i)
        if sf.labels is not None:
            res.extra["label"] = int(sf.labels[i])
        try:
            if source == "voxels":
                grid = data[i, 0]
                origin, spacing = grid_frame(sf.meta, grid.shape[-1])
                origin, spacing = origin * scale, spacing * scale  # the frames share their centre
                # occupancy: inside > 0.5; signed distance (negative inside): -sdf > 0
                mesh = voxels_to_mesh(
                    -grid if sdf else grid,
                    origin=origin,
                    spacing=spacing,
                    level=0.0 if sdf else 0.5,
                    smooth_iterations=smooth_iterations,
                    largest_component=largest_component,
                )
            else:
                mesh = points_to_mesh(data[i], method=method, **(recon_kwargs or {}))
                if largest_component:
                    parts = mesh.split(only_watertight=False)
                    if len(parts) > 1:
                        mesh = max(parts, key=lambda m: len(m.faces))
            res.path = write_mesh(mesh, join_url(out, f"{name}.{fmt}"), fmt)
            res.report = mesh_report(mesh)
        except DegenerateShapeError as e:
            res.error = str(e)
            log.warning("shape %d skipped: %s", i, e)
        except RuntimeError as e:  # Open3D / scikit-image failing on an odd shape: report it, keep going
            res.error = f"{type(e).__name__}: {e}"
            log.warning("shape %d failed: %s", i, res.error)
        results.append(res)
        if progress is not None:
            progress(res)
    summary = {
        "source": source,
        "method": "marching_cubes" if source == "voxels" else method,
        "format": fmt,
        "grid_frame": frame_rec,
        "exported": sum(r.error is None for r in results),
        "failed": sum(r.error is not None for r in results),
        "shapes": [r.to_dict() for r in results],
    }
    atomic_write_text(join_url(out, "report.json"), json.dumps(summary, indent=2))
    return results


def _output_folder(out_dir: str | os.PathLike) -> str:
    """``out_dir`` as a location for :func:`join_url`: a local folder is created; a URL's store is checked
    with one listing (a missing bucket or a wrong endpoint fails before any shape is meshed)."""
    from gen3d.storage.urls import local_path

    lp = local_path(out_dir)
    if lp is None:
        from gen3d.storage.transfer import list_names

        list_names(str(out_dir))
        return str(out_dir)
    lp.mkdir(parents=True, exist_ok=True)
    return str(lp)
