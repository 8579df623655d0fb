"""Denoiser backbones for point clouds (B, N, 3) and voxel grids (B, C, R, R, R).

Every backbone is called as ``net(x_in, c_noise (B,), cond=None)`` and returns a tensor shaped like ``x_in``;
it knows nothing about the process that trains it (EDM preconditioning in :mod:`gen3d.precond` wraps it).
``cond`` holds class labels (B,) in ``[0, num_classes]``; ``num_classes`` is the null (unconditional) label
used by classifier-free guidance, and ``cond=None`` means the null label for every sample.

Registered backbones (``get_backbone(name, size, num_classes=0, **overrides)``):

* ``"pvcnn"`` — point-voxel CNN (PVCNN / PVD style), local geometry through voxel convolutions.
* ``"point_transformer"`` — induced-set (latent) attention transformer with adaLN-Zero, global set model.
* ``"unet3d"`` — 3D U-Net for grids, R = 32 or 64.
* ``"pvd"`` — hierarchical point-voxel U-Net (PVD / PointNet++ style): FPS + ball-query set abstraction,
  voxel convolutions at the finer levels, self-attention at the coarsest, 3-NN feature propagation.

Sizes ``tiny`` (CPU demo, 0.2-0.27M parameters), ``small``, ``base``, ``paper`` (PVCNN 27.4M ~ PVD 27.6M;
transformer 32.5M ~ DiT-3D-S 32.8M; pvd 27.5M). ``net.config()`` rebuilds the network:
``get_backbone(**net.config())``.
"""

from gen3d.nets.base import Backbone
from gen3d.nets.registry import BACKBONES, SIZES, get_backbone, register_backbone

__all__ = ["BACKBONES", "SIZES", "Backbone", "get_backbone", "register_backbone"]
