"""3D U-Net denoiser for voxel grids (B, C, R, R, R), e.g. occupancy in {-1, +1} at R = 32 or 64.

Layout (as in DDPM/ADM U-Nets, with 3D convolutions): a 3^3 input conv; per level ``num_res_blocks`` residual
blocks (GroupNorm -> SiLU -> Conv3d, embedding as scale/shift of the second GroupNorm) and a stride-2 conv
down-sampling; a middle of two residual blocks with optional self-attention over the lowest-resolution cells;
the mirror path with nearest-neighbour up-sampling and skip concatenation; GroupNorm -> SiLU ->
zero-initialised output conv (F = 0 at init, so D = c_skip x).

``patch_size`` p > 1 folds every p^3 block of cells into channels first (space-to-depth, as ViT/DiT patchify
but keeping the 3^3 convolutions) and unfolds the output the same way, so the whole U-Net runs at R/p: about
p^3 fewer convolution FLOPs per channel at full resolution, for grids whose detail is coarser than a cell.

R must be divisible by p * 2^(len(channel_mult) - 1). Sizes: ``tiny`` (0.2M params), ``small`` (1.8M),
``base`` (10.2M), ``paper`` (17.7M; voxel diffusion papers use a range of 3D U-Net sizes, there is no single
reference model to match).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from gen3d.nets.base import Backbone
from gen3d.nets.embeddings import ConditionEmbedding
from gen3d.nets.norm import group_norm

__all__ = [
    "UNet3D",
    "ResBlock3d",
    "SelfAttention3d",
    "UNET3D_SIZES",
    "space_to_depth",
    "depth_to_space",
    "resolution_factor",
]

UNET3D_SIZES: dict[str, dict] = {
    "tiny": {
        "base_channels": 8,
        "channel_mult": [1, 2, 2],
        "num_res_blocks": 1,
        "attention": False,
        "emb_dim": 64,
    },
    "small": {
        "base_channels": 16,
        "channel_mult": [1, 2, 4],
        "num_res_blocks": 1,
        "attention": True,
        "emb_dim": 64,
    },
    "base": {
        "base_channels": 32,
        "channel_mult": [1, 2, 4],
        "num_res_blocks": 2,
        "attention": True,
        "emb_dim": 128,
    },
    "paper": {
        "base_channels": 32,
        "channel_mult": [1, 2, 4, 4],
        "num_res_blocks": 2,
        "attention": True,
        "emb_dim": 256,
    },
}


def resolution_factor(patch_size: int, channel_mult: Sequence[int]) -> int:
    """What a grid's side R must be divisible by: ``patch_size * 2^(len(channel_mult) - 1)`` (the patch
    folding, then one halving per level below the first)."""
    return int(patch_size) * 2 ** (len(channel_mult) - 1)


def space_to_depth(x: torch.Tensor, p: int) -> torch.Tensor:
    """(B, C, R, R, R) -> (B, C p^3, R/p, R/p, R/p): each p^3 block of cells becomes C p^3 channels."""
    if p == 1:
        return x
    b, c, r1, r2, r3 = x.shape
    x = x.reshape(b, c, r1 // p, p, r2 // p, p, r3 // p, p)
    return x.permute(0, 1, 3, 5, 7, 2, 4, 6).reshape(b, c * p**3, r1 // p, r2 // p, r3 // p)


def depth_to_space(x: torch.Tensor, p: int) -> torch.Tensor:
    """Inverse of :func:`space_to_depth`: (B, C p^3, S, S, S) -> (B, C, S p, S p, S p)."""
    if p == 1:
        return x
    b, cp, s1, s2, s3 = x.shape
    c = cp // p**3
    x = x.reshape(b, c, p, p, p, s1, s2, s3)
    return x.permute(0, 1, 5, 2, 6, 3, 7, 4).reshape(b, c, s1 * p, s2 * p, s3 * p)


class ResBlock3d(nn.Module):
    """(h (B, C_in, R, R, R), emb (B, E)) -> (B, C_out, R, R, R), residual with embedding scale/shift."""

    def __init__(self, c_in: int, c_out: int, emb_dim: int):
        super().__init__()
        self.norm1 = group_norm(c_in)
        self.conv1 = nn.Conv3d(c_in, c_out, 3, padding=1)
        self.emb = nn.Linear(emb_dim, 2 * c_out)
        self.norm2 = group_norm(c_out)
        self.conv2 = nn.Conv3d(c_out, c_out, 3, padding=1)
        self.skip = nn.Conv3d(c_in, c_out, 1) if c_in != c_out else nn.Identity()
        self.act = nn.SiLU()

    def forward(self, h: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        out = self.conv1(self.act(self.norm1(h)))
        scale, shift = self.emb(emb)[:, :, None, None, None].chunk(2, dim=1)
        out = self.act(self.norm2(out) * (1 + scale) + shift)
        return self.skip(h) + self.conv2(out)


class SelfAttention3d(nn.Module):
    """Multi-head self-attention over all R^3 cells: (B, C, R, R, R) -> same (residual)."""

    def __init__(self, channels: int, heads: int = 4):
        super().__init__()
        if channels % heads:
            raise ValueError(f"attention channels {channels} must be divisible by heads {heads}")
        self.heads = heads
        self.norm = group_norm(channels)
        self.qkv = nn.Conv3d(channels, 3 * channels, 1)
        self.proj = nn.Conv3d(channels, channels, 1)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        b, c = h.shape[:2]
        q, k, v = (
            self.qkv(self.norm(h)).reshape(b, 3, self.heads, c // self.heads, -1).transpose(-1, -2).unbind(1)
        )
        out = F.scaled_dot_product_attention(q, k, v)  # (B, heads, L, C/heads)
        return h + self.proj(out.transpose(-1, -2).reshape(h.shape))


class UNet3D(Backbone):
    """3D U-Net: (x (B, C, R, R, R), c_noise (B,), cond (B,) | None) -> (B, C, R, R, R).

    Args:
        in_channels: C (1 for occupancy / SDF grids).
        base_channels: channels at full resolution; level l has ``base_channels * channel_mult[l]``.
        channel_mult: multipliers per level; ``len - 1`` down-samplings.
        num_res_blocks: residual blocks per level.
        attention: self-attention in the middle (lowest resolution).
        emb_dim: width of the noise/class embedding.
        patch_size: p; the network runs on p^3-cell blocks folded into channels (1: cell by cell).
        num_classes: class labels (0 = unconditional); label ``num_classes`` is the null class.
    """

    NAME = "unet3d"

    def __init__(
        self,
        in_channels: int = 1,
        base_channels: int = 8,
        channel_mult: Sequence[int] = (1, 2, 2),
        num_res_blocks: int = 1,
        attention: bool = False,
        attention_heads: int = 4,
        emb_dim: int = 64,
        patch_size: int = 1,
        num_classes: int = 0,
        size: str | None = None,
    ):
        super().__init__()
        channel_mult = [int(m) for m in channel_mult]
        if not channel_mult or min(channel_mult) < 1 or base_channels < 1 or num_res_blocks < 1:
            raise ValueError(
                "unet3d: channel_mult must be non-empty positive ints; base_channels, num_res_blocks >= 1"
            )
        if isinstance(patch_size, bool) or int(patch_size) != patch_size or patch_size < 1:
            raise ValueError(f"unet3d: patch_size must be a positive integer, got {patch_size!r}")
        patch_size = int(patch_size)
        self._record_config(
            size,
            in_channels=in_channels,
            base_channels=base_channels,
            channel_mult=channel_mult,
            num_res_blocks=num_res_blocks,
            attention=attention,
            attention_heads=attention_heads,
            emb_dim=emb_dim,
            patch_size=patch_size,
            num_classes=num_classes,
        )
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.patch_size = patch_size
        self.factor = resolution_factor(patch_size, channel_mult)
        self.embed = ConditionEmbedding(emb_dim, num_classes)
        self.act = nn.SiLU()
        chans = [base_channels * m for m in channel_mult]
        folded = in_channels * patch_size**3
        self.conv_in = nn.Conv3d(folded, chans[0], 3, padding=1)

        # Encoder: record the channel count of every skip tensor.
        self.down_blocks = nn.ModuleList()
        self.downsamplers = nn.ModuleList()
        skips = [chans[0]]
        c = chans[0]
        for level, c_level in enumerate(chans):
            blocks = nn.ModuleList()
            for _ in range(num_res_blocks):
                blocks.append(ResBlock3d(c, c_level, emb_dim))
                c = c_level
                skips.append(c)
            self.down_blocks.append(blocks)
            if level < len(chans) - 1:
                self.downsamplers.append(nn.Conv3d(c, c, 3, stride=2, padding=1))
                skips.append(c)

        self.mid1 = ResBlock3d(c, c, emb_dim)
        self.mid_attn = SelfAttention3d(c, attention_heads) if attention else nn.Identity()
        self.mid2 = ResBlock3d(c, c, emb_dim)

        # Decoder: num_res_blocks + 1 blocks per level, each consuming one skip.
        self.up_blocks = nn.ModuleList()
        self.upsamplers = nn.ModuleList()
        for level in reversed(range(len(chans))):
            blocks = nn.ModuleList()
            for _ in range(num_res_blocks + 1):
                blocks.append(ResBlock3d(c + skips.pop(), chans[level], emb_dim))
                c = chans[level]
            self.up_blocks.append(blocks)
            if level > 0:
                self.upsamplers.append(nn.Conv3d(c, c, 3, padding=1))

        self.norm_out = group_norm(c)
        self.conv_out = nn.Conv3d(c, folded, 3, padding=1)
        nn.init.zeros_(self.conv_out.weight)
        nn.init.zeros_(self.conv_out.bias)

    def forward(
        self, x: torch.Tensor, c_noise: torch.Tensor, cond: torch.Tensor | None = None
    ) -> torch.Tensor:
        if x.dim() != 5 or x.shape[1] != self.in_channels or not (x.shape[2] == x.shape[3] == x.shape[4]):
            raise ValueError(
                f"unet3d expects grids of shape (B, {self.in_channels}, R, R, R), got {tuple(x.shape)}"
            )
        if x.shape[2] % self.factor:
            raise ValueError(
                f"unet3d: resolution R={x.shape[2]} must be divisible by {self.factor} "
                f"(patch_size * 2^(len(channel_mult)-1) down-samplings)"
            )
        in_dtype = x.dtype
        x, emb = self._prepare(x, c_noise, cond)
        h = self.conv_in(space_to_depth(x, self.patch_size))
        skips = [h]
        for level, blocks in enumerate(self.down_blocks):
            for block in blocks:
                h = block(h, emb)
                skips.append(h)
            if level < len(self.downsamplers):
                h = self.downsamplers[level](h)
                skips.append(h)
        h = self.mid2(self.mid_attn(self.mid1(h, emb)), emb)
        for i, blocks in enumerate(self.up_blocks):
            for block in blocks:
                h = block(torch.cat([h, skips.pop()], dim=1), emb)
            if i < len(self.upsamplers):
                h = self.upsamplers[i](F.interpolate(h, scale_factor=2.0, mode="nearest"))
        out = depth_to_space(self.conv_out(self.act(self.norm_out(h))), self.patch_size)
        return out.to(in_dtype)
