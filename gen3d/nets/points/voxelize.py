"""Point <-> voxel transfer for point-voxel convolutions, in plain torch (CPU and GPU, autograd).

Grid indexing follows the project convention: cell ``[i, j, k]`` is (x, y, z). Points are expressed in
*continuous voxel index* coordinates ``u in [0, r-1]^3`` where integer ``u`` is a cell centre (world position
of that centre: ``origin + (u + 0.5) * spacing``).

Two ways to place points in the grid (``normalize``):

* ``True`` (PVCNN, Liu et al. 2019): per shape, centre on the point mean and scale by the largest distance
  to it, so the shape fills the grid whatever the noise level. Mean and max are symmetric functions, so the
  mapping is permutation-invariant.
* ``False``: fixed bounds [-1, 1]^3 (the project's voxel convention, ``u = (x + 1) / 2 * r - 0.5``); points
  outside are clamped to the border cells.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["voxel_coords", "voxelize", "devoxelize"]


def voxel_coords(
    points: torch.Tensor, resolution: int, normalize: bool = True, eps: float = 1e-6
) -> torch.Tensor:
    """Continuous voxel-index coordinates ``u`` (B, N, 3) in [0, r-1] for ``points`` (B, N, 3)."""
    r = resolution
    if normalize:
        centred = points - points.mean(dim=1, keepdim=True)
        radius = centred.norm(dim=2).amax(dim=1).clamp_min(eps)[:, None, None]
        unit = centred / (2.0 * radius) + 0.5  # in [0, 1]^3 (inside the ball of radius 1/2 around 0.5)
    else:
        unit = (points + 1.0) / 2.0
    return (unit * r - 0.5).clamp(0.0, r - 1.0)


def voxelize(features: torch.Tensor, coords: torch.Tensor, resolution: int) -> torch.Tensor:
    """Average-scatter point features into a grid.

    features: (B, C, N); coords: (B, N, 3) continuous voxel indices from :func:`voxel_coords`.
    Returns (B, C, r, r, r): each cell holds the mean feature of the points whose nearest cell centre it is
    (zero for empty cells). On CUDA ``index_add_`` uses atomics, so sums may differ in the last bits between
    runs; on CPU the result is deterministic.
    """
    b, c, n = features.shape
    r = resolution
    idx = coords.detach().round().long()  # nearest cell centre
    flat = (idx[..., 0] * r + idx[..., 1]) * r + idx[..., 2]  # (B, N)
    flat = flat + torch.arange(b, device=flat.device)[:, None] * (r**3)
    flat = flat.reshape(-1)
    # Accumulate in float32 even under reduced precision (bf16/fp16 sums of many points lose digits).
    feats = features.permute(0, 2, 1).reshape(b * n, c).float()
    sums = feats.new_zeros(b * r**3, c).index_add_(0, flat, feats)
    counts = feats.new_zeros(b * r**3).index_add_(0, flat, feats.new_ones(b * n))
    grid = sums / counts.clamp_min(1.0)[:, None]
    return grid.reshape(b, r, r, r, c).permute(0, 4, 1, 2, 3).to(features.dtype)


def devoxelize(grid: torch.Tensor, coords: torch.Tensor) -> torch.Tensor:
    """Trilinear interpolation of ``grid`` (B, C, r, r, r) at ``coords`` (B, N, 3) -> (B, C, N).

    Uses ``grid_sample`` with ``align_corners=True`` (index 0 -> -1, index r-1 -> +1). grid_sample's last grid
    axis is ordered (W, H, D) = (k, j, i), hence the flip.
    """
    r = grid.shape[-1]
    g = (coords.flip(-1) * (2.0 / max(r - 1, 1)) - 1.0).to(grid.dtype)
    out = F.grid_sample(
        grid, g[:, :, None, None, :], mode="bilinear", padding_mode="border", align_corners=True
    )
    return out[:, :, :, 0, 0]
