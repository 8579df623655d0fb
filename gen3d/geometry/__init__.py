"""gen3d.geometry: mesh loading and checks, area-weighted surface sampling, voxelisation, normalisation.

Plain numpy in and out: vertices ``(V, 3)`` float64, faces ``(F, 3)`` int64, points ``(N, 3)`` float32, grids
``(R, R, R)`` bool covering ``[-1, 1]^3`` by default (see :mod:`gen3d.geometry.voxelize`).
"""

from gen3d.geometry.mesh_io import MESH_SUFFIXES, check_mesh, load_mesh, parse_off
from gen3d.geometry.normalize import Normalization, NormParams, fit_global_normalization, fit_normalization
from gen3d.geometry.sampling import face_areas, sample_surface
from gen3d.geometry.voxelize import (
    cell_centers,
    fill_enclosed,
    voxelize_solid,
    voxelize_surface,
    voxelize_surface_and_solid,
)

__all__ = [
    "MESH_SUFFIXES",
    "load_mesh",
    "check_mesh",
    "parse_off",
    "sample_surface",
    "face_areas",
    "voxelize_surface",
    "voxelize_solid",
    "voxelize_surface_and_solid",
    "fill_enclosed",
    "cell_centers",
    "Normalization",
    "NormParams",
    "fit_normalization",
    "fit_global_normalization",
]
