"""Denoiser backbones: point clouds (B, N, 3) and voxel grids (B, C, R, R, R).

Every backbone is called as ``net(x_in, c_noise (B,), cond=None)`` and returns a tensor shaped like ``x_in``.
"""

from gen3d.nets.base import Backbone
from gen3d.nets.registry import BACKBONES, SIZES, get_backbone, register_backbone

__all__ = ["BACKBONES", "SIZES", "Backbone", "get_backbone", "register_backbone"]
