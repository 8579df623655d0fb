"""Point-cloud backbones (B, N, 3) -> (B, N, 3), all permutation-equivariant in N."""

from gen3d.nets.points.pvcnn import PVCNN
from gen3d.nets.points.pvd import PointVoxelUNet
from gen3d.nets.points.transformer import PointTransformer

__all__ = ["PVCNN", "PointTransformer", "PointVoxelUNet"]
