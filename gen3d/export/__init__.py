"""gen3d.export: generated shapes -> triangle meshes -> files.

* :func:`voxels_to_mesh` -- marching cubes at the grid's true origin and spacing (optional Taubin
  smoothing and largest-component filtering).
* :func:`points_to_mesh` -- Open3D surface reconstruction: screened Poisson (with normal estimation,
  consistent orientation and density trimming), ball pivoting, alpha shapes.
* :func:`write_mesh` / :func:`read_mesh` -- .ply .obj .stl .off .glb through trimesh, written atomically.
* :func:`export_samples` -- a whole sample file, one mesh and one report line per shape; a degenerate shape is
  reported and skipped, the batch goes on.

Open3D and trimesh are imported lazily (importing this package stays light).
"""

from gen3d.export.batch import ExportResult, export_samples
from gen3d.export.checks import DegenerateShapeError, check_grid, check_points
from gen3d.export.marching import voxels_to_mesh
from gen3d.export.reconstruct import METHODS, points_to_mesh
from gen3d.export.report import MeshReport, mesh_report
from gen3d.export.writers import FORMATS, read_mesh, write_mesh

__all__ = [
    "FORMATS",
    "METHODS",
    "DegenerateShapeError",
    "ExportResult",
    "MeshReport",
    "check_grid",
    "check_points",
    "export_samples",
    "mesh_report",
    "points_to_mesh",
    "read_mesh",
    "voxels_to_mesh",
    "write_mesh",
]
