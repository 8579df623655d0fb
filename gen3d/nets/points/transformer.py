"""Induced-set-attention transformer for point clouds (B, N, 3), with adaLN-Zero noise conditioning.

Full self-attention over N = 2048 points costs O(N^2). Instead, as in the Set Transformer's ISAB (Lee et al.
2019) and Perceiver (Jaegle et al. 2021), M learned latent tokens summarise the cloud and the points read back
from them, which is O(N M) and permutation-equivariant (no step depends on the order of the points):

    point tokens  = Linear([x, sin(2^k pi x), cos(2^k pi x)]_{k < coord_freqs})          (B, N, D)
    latent tokens = learned (M, D)
    per layer:  latents <- latents + CrossAttn(latents -> points) ; + MLP
                latents <- latents + SelfAttn(latents)             ; + MLP
                points  <- points  + CrossAttn(points -> latents)  ; + MLP
    output = Linear(adaLN(points)) -> (B, N, 3)

Every residual branch is modulated by the noise/class embedding as in DiT (Peebles & Xie 2023): shift and
scale of a parameter-free LayerNorm and a gate, all produced by a zero-initialised linear layer, so each block
starts as the identity; the output layer is zero-initialised too (F = 0 at init, so D = c_skip x).

Sizes: ``tiny`` (0.24M params, CPU demo), ``small`` (3.6M), ``base`` (10.9M), ``paper`` (32.5M, the scale of
DiT-3D-S's 32.8M).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from gen3d.nets.base import Backbone
from gen3d.nets.embeddings import ConditionEmbedding

__all__ = ["PointTransformer", "AdaLNAttentionBlock", "POINT_TRANSFORMER_SIZES"]

POINT_TRANSFORMER_SIZES: dict[str, dict] = {
    "tiny": {"dim": 48, "depth": 2, "heads": 4, "num_latents": 32, "mlp_ratio": 2.0, "emb_dim": 64},
    "small": {"dim": 128, "depth": 4, "heads": 4, "num_latents": 64, "mlp_ratio": 4.0, "emb_dim": 128},
    "base": {"dim": 256, "depth": 3, "heads": 8, "num_latents": 128, "mlp_ratio": 4.0, "emb_dim": 256},
    # 4 layers x 3 blocks = 12 attention blocks of width 384, ~32.5M parameters (DiT-3D-S: 32.8M).
    "paper": {"dim": 384, "depth": 4, "heads": 6, "num_latents": 256, "mlp_ratio": 4.0, "emb_dim": 384},
}


def _modulate(h: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    return h * (1 + scale) + shift


class AdaLNAttentionBlock(nn.Module):
    """Pre-norm attention + MLP block with adaLN-Zero conditioning.

    ``forward(h (B, L, D), context (B, S, D) | None, emb (B, E)) -> (B, L, D)``; ``context=None`` means
    self-attention over ``h``.
    """

    def __init__(self, dim: int, heads: int, mlp_ratio: float, emb_dim: int, cross: bool):
        super().__init__()
        if dim % heads:
            raise ValueError(f"point_transformer: dim {dim} must be divisible by heads {heads}")
        self.heads = heads
        self.cross = cross
        self.norm_q = nn.LayerNorm(dim, elementwise_affine=False)
        self.norm_kv = nn.LayerNorm(dim) if cross else None
        self.to_q = nn.Linear(dim, dim)
        self.to_kv = nn.Linear(dim, 2 * dim)
        self.to_out = nn.Linear(dim, dim)
        self.norm_mlp = nn.LayerNorm(dim, elementwise_affine=False)
        hidden = int(round(dim * mlp_ratio))
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(approximate="tanh"), nn.Linear(hidden, dim))
        # adaLN-Zero: (shift, scale, gate) for the attention and the MLP branch, zero at init.
        self.modulation = nn.Linear(emb_dim, 6 * dim)
        nn.init.zeros_(self.modulation.weight)
        nn.init.zeros_(self.modulation.bias)

    def _split_heads(self, t: torch.Tensor) -> torch.Tensor:
        b, n, d = t.shape
        return t.reshape(b, n, self.heads, d // self.heads).transpose(1, 2)

    def forward(self, h: torch.Tensor, context: torch.Tensor | None, emb: torch.Tensor) -> torch.Tensor:
        shift_a, scale_a, gate_a, shift_m, scale_m, gate_m = self.modulation(emb)[:, None, :].chunk(6, dim=-1)
        q_in = _modulate(self.norm_q(h), shift_a, scale_a)
        kv_in = self.norm_kv(context) if self.cross else q_in
        k, v = self.to_kv(kv_in).chunk(2, dim=-1)
        q, k, v = self._split_heads(self.to_q(q_in)), self._split_heads(k), self._split_heads(v)
        attn = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(h.shape)
        h = h + gate_a * self.to_out(attn)
        return h + gate_m * self.mlp(_modulate(self.norm_mlp(h), shift_m, scale_m))


class PointTransformer(Backbone):
    """Latent-attention transformer: (x (B, N, 3), c_noise (B,), cond) -> (B, N, 3), equivariant in N.

    Args:
        dim: token width D.
        depth: number of (latent-read, latent-self, point-read) layers.
        heads: attention heads.
        num_latents: M learned latent tokens (cost O(N M)).
        mlp_ratio: MLP hidden width / D.
        emb_dim: width of the noise/class embedding.
        coord_freqs: number of sinusoidal octaves of the input coordinates fed to the point embedding.
        num_classes: class labels (0 = unconditional); label ``num_classes`` is the null class.
    """

    NAME = "point_transformer"

    def __init__(
        self,
        dim: int = 48,
        depth: int = 2,
        heads: int = 4,
        num_latents: int = 32,
        mlp_ratio: float = 2.0,
        emb_dim: int = 64,
        coord_freqs: int = 4,
        num_classes: int = 0,
        size: str | None = None,
    ):
        super().__init__()
        if min(dim, depth, heads, num_latents, emb_dim) < 1 or coord_freqs < 0 or mlp_ratio <= 0:
            raise ValueError("point_transformer: dim, depth, heads, num_latents, emb_dim must be >= 1")
        self._record_config(
            size,
            dim=dim,
            depth=depth,
            heads=heads,
            num_latents=num_latents,
            mlp_ratio=mlp_ratio,
            emb_dim=emb_dim,
            coord_freqs=coord_freqs,
            num_classes=num_classes,
        )
        self.num_classes = num_classes
        self.embed = ConditionEmbedding(emb_dim, num_classes)
        self.register_buffer(
            "coord_scales", math.pi * 2.0 ** torch.arange(coord_freqs, dtype=torch.float32), persistent=False
        )
        self.point_in = nn.Linear(3 * (1 + 2 * coord_freqs), dim)
        self.latents = nn.Parameter(0.02 * torch.randn(num_latents, dim))
        self.layers = nn.ModuleList()
        for _ in range(depth):
            # (latents read points, latents mix among themselves, points read latents)
            blocks = [
                AdaLNAttentionBlock(dim, heads, mlp_ratio, emb_dim, cross=c) for c in (True, False, True)
            ]
            self.layers.append(nn.ModuleList(blocks))
        self.norm_out = nn.LayerNorm(dim, elementwise_affine=False)
        self.out_modulation = nn.Linear(emb_dim, 2 * dim)
        self.out = nn.Linear(dim, 3)
        for layer in (self.out_modulation, self.out):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(
        self, x: torch.Tensor, c_noise: torch.Tensor, cond: torch.Tensor | None = None
    ) -> torch.Tensor:
        if x.dim() != 3 or x.shape[-1] != 3:
            raise ValueError(f"point_transformer expects points of shape (B, N, 3), got {tuple(x.shape)}")
        in_dtype = x.dtype
        x, emb = self._prepare(x, c_noise, cond)
        angles = (x[..., None] * self.coord_scales).flatten(2)  # (B, N, 3 * coord_freqs)
        points = self.point_in(torch.cat([x, torch.sin(angles), torch.cos(angles)], dim=-1))
        latents = self.latents[None].expand(x.shape[0], -1, -1)
        for read_points, mix, read_latents in self.layers:
            latents = mix(read_points(latents, points, emb), None, emb)
            points = read_latents(points, latents, emb)
        shift, scale = self.out_modulation(emb)[:, None, :].chunk(2, dim=-1)
        out = self.out(_modulate(self.norm_out(points), shift, scale))
        return out.to(in_dtype)
