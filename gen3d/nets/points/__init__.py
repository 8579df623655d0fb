"""Point-cloud backbones (B, N, 3) -> (B, N, 3), both permutation-equivariant in N."""

from gen3d.nets.points.pvcnn import PVCNN
from gen3d.nets.points.transformer import PointTransformer

__all__ = ["PVCNN", "PointTransformer"]
