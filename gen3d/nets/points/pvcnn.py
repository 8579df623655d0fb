"""Point-voxel CNN denoiser for point clouds (B, N, 3), in the spirit of PVCNN (Liu et al. 2019) and PVD (Zhou
et al. 2021).

Architecture (flat, like PVCNN's part-segmentation network, so that every step is permutation-equivariant;
PVD's farthest-point-sampling hierarchy is not, since FPS depends on the starting index):

    input coordinates (3 ch)
    -> L x PVConv block(c_l, r_l):
         voxel branch: voxelize (average scatter, per-shape normalised) -> [Conv3d 3^3 -> GN -> SiLU] x2
                       (time/class embedding added after the first conv) -> trilinear devoxelize
         point branch: Conv1d -> GN -> FiLM(embedding) -> SiLU
         fused = voxel + point (+ 1x1 projected residual)
    -> concat all block outputs (+ broadcast global max-pooled feature, optional)
    -> head: Conv1d -> GN -> FiLM -> SiLU -> Conv1d(3) (zero-initialised: F = 0 at init, so D = c_skip x)

Sizes: ``tiny`` (0.25M params, CPU demo), ``small`` (2.0M), ``base`` (8.2M), ``paper`` (27.4M, the scale of
PVD's 27.6M).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from gen3d.nets.base import Backbone
from gen3d.nets.embeddings import ConditionEmbedding
from gen3d.nets.norm import group_norm
from gen3d.nets.points.voxelize import devoxelize, voxel_coords, voxelize

__all__ = ["PVCNN", "PVConv", "PVCNN_SIZES"]

# (channels, voxel resolution) per block, embedding width, head width.
PVCNN_SIZES: dict[str, dict] = {
    "tiny": {"blocks": [[32, 8], [64, 8]], "emb_dim": 64, "head_channels": 64},
    "small": {"blocks": [[64, 16], [128, 16], [128, 8]], "emb_dim": 128, "head_channels": 128},
    "base": {"blocks": [[64, 32], [128, 16], [256, 16], [256, 8]], "emb_dim": 256, "head_channels": 256},
    # 27.4M parameters, the scale of PVD (27.6M); most of it in the 3^3 convolutions of the wide blocks.
    "paper": {
        "blocks": [[64, 32], [128, 16], [256, 16], [384, 8], [512, 8]],
        "emb_dim": 512,
        "head_channels": 512,
    },
}


class PVConv(nn.Module):
    """One point-voxel block: (features (B, C_in, N), coords u (B, N, 3), emb (B, E)) -> (B, C_out, N)."""

    def __init__(self, c_in: int, c_out: int, resolution: int, emb_dim: int):
        super().__init__()
        self.resolution = resolution
        self.conv1 = nn.Conv3d(c_in, c_out, 3, padding=1)
        self.norm1 = group_norm(c_out)
        self.emb_vox = nn.Linear(emb_dim, c_out)
        self.conv2 = nn.Conv3d(c_out, c_out, 3, padding=1)
        self.norm2 = group_norm(c_out)
        self.point = nn.Conv1d(c_in, c_out, 1)
        self.norm_p = group_norm(c_out)
        self.emb_point = nn.Linear(emb_dim, 2 * c_out)
        self.skip = nn.Conv1d(c_in, c_out, 1) if c_in != c_out else nn.Identity()
        self.act = nn.SiLU()

    def forward(self, h: torch.Tensor, coords: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        # Voxel branch: coarse local geometry through 3D convolutions.
        v = voxelize(h, coords, self.resolution)
        v = self.act(self.norm1(self.conv1(v)) + self.emb_vox(emb)[:, :, None, None, None])
        v = self.act(self.norm2(self.conv2(v)))
        v = devoxelize(v, coords)
        # Point branch: fine per-point features, FiLM-modulated by the embedding.
        scale, shift = self.emb_point(emb)[:, :, None].chunk(2, dim=1)
        p = self.act(self.norm_p(self.point(h)) * (1 + scale) + shift)
        return v + p + self.skip(h)


class PVCNN(Backbone):
    """Point-voxel CNN: (x (B, N, 3), c_noise (B,), cond (B,) | None) -> (B, N, 3), equivariant in N.

    Args:
        blocks: list of ``[channels, voxel_resolution]`` per PVConv block.
        emb_dim: width of the noise/class embedding.
        head_channels: width of the per-point output head.
        num_classes: number of class labels (0 = unconditional); label ``num_classes`` is the null class.
        normalize: per-shape normalised voxel coordinates (PVCNN) if True, fixed [-1, 1] bounds if False.
        global_feature: add a max-pooled shape feature, broadcast to every point, before the head.
        size: preset name recorded in ``config()`` (informational).
    """

    NAME = "pvcnn"

    def __init__(
        self,
        blocks: Sequence[Sequence[int]] = ((32, 8), (64, 8)),
        emb_dim: int = 64,
        head_channels: int = 64,
        num_classes: int = 0,
        normalize: bool = True,
        global_feature: bool = True,
        size: str | None = None,
    ):
        super().__init__()
        blocks = [(int(c), int(r)) for c, r in blocks]
        if not blocks or any(c < 1 or r < 2 for c, r in blocks):
            raise ValueError(
                f"pvcnn: blocks must be a non-empty list of [channels >= 1, resolution >= 2], got {blocks}"
            )
        self._record_config(
            size,
            blocks=blocks,
            emb_dim=emb_dim,
            head_channels=head_channels,
            num_classes=num_classes,
            normalize=normalize,
            global_feature=global_feature,
        )
        self.num_classes = num_classes
        self.normalize = normalize
        self.embed = ConditionEmbedding(emb_dim, num_classes)
        self.blocks = nn.ModuleList()
        c_prev = 3
        for c, r in blocks:
            self.blocks.append(PVConv(c_prev, c, r, emb_dim))
            c_prev = c
        c_cat = sum(c for c, _ in blocks)
        self.global_proj = nn.Linear(c_cat, head_channels) if global_feature else None
        self.head_in = nn.Conv1d(c_cat, head_channels, 1)
        self.head_norm = group_norm(head_channels)
        self.head_emb = nn.Linear(emb_dim, 2 * head_channels)
        self.head_out = nn.Conv1d(head_channels, 3, 1)
        nn.init.zeros_(self.head_out.weight)
        nn.init.zeros_(self.head_out.bias)
        self.act = nn.SiLU()

    def forward(
        self, x: torch.Tensor, c_noise: torch.Tensor, cond: torch.Tensor | None = None
    ) -> torch.Tensor:
        if x.dim() != 3 or x.shape[-1] != 3:
            raise ValueError(f"pvcnn expects points of shape (B, N, 3), got {tuple(x.shape)}")
        in_dtype = x.dtype
        x, emb = self._prepare(x, c_noise, cond)
        h = x.transpose(1, 2)  # (B, 3, N)
        coords_by_res: dict[int, torch.Tensor] = {}
        feats = []
        for block in self.blocks:
            r = block.resolution
            if r not in coords_by_res:
                coords_by_res[r] = voxel_coords(x, r, self.normalize)
            h = block(h, coords_by_res[r], emb)
            feats.append(h)
        h = torch.cat(feats, dim=1)  # (B, sum C, N)
        h_in = self.head_in(h)
        if (
            self.global_proj is not None
        ):  # global shape feature (symmetric max pool), broadcast to every point
            h_in = h_in + self.global_proj(h.amax(dim=2))[:, :, None]
        scale, shift = self.head_emb(emb)[:, :, None].chunk(2, dim=1)
        h = self.act(self.head_norm(h_in) * (1 + scale) + shift)
        out = self.head_out(h).transpose(1, 2)
        return out.to(in_dtype)
