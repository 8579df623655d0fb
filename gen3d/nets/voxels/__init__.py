"""Voxel-grid backbones (B, C, R, R, R) -> (B, C, R, R, R)."""

from gen3d.nets.voxels.unet3d import UNet3D

__all__ = ["UNet3D"]
