"""gen3d: physics-based generative models for 3D point clouds and voxel grids.

Importing ``gen3d`` has no side effects: no seeding, no torch flags, no heavy optional imports.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
