"""Noise-level (sigma/time) and class-label embeddings shared by every backbone.

A backbone receives ``c_noise`` (B,) (EDM: ``c_noise = ln(sigma) / 4``) and an optional class label
``cond`` (B,). :class:`ConditionEmbedding` turns both into one vector (B, emb_dim):
``emb = MLP(Fourier(c_noise)) + E[cond]``. The class table has ``num_classes + 1`` rows: row ``num_classes``
is the learned "null" class used for classifier-free guidance (unconditional prediction).
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["FourierEmbedding", "ConditionEmbedding", "check_cond"]


class FourierEmbedding(nn.Module):
    """Fixed sinusoidal features of a scalar per sample: (B,) -> (B, dim).

    Angular frequencies are log-spaced in ``[min_freq, max_freq]`` (not learned, not random, so the embedding
    is identical across runs). With ``c_noise = ln(sigma)/4`` the EDM range sigma in [0.002, 80] maps to
    c_noise in [-1.55, 1.10]; frequencies 1..64 rad per unit resolve a few percent change of sigma.
    """

    def __init__(self, dim: int, min_freq: float = 1.0, max_freq: float = 64.0):
        super().__init__()
        if dim < 2 or dim % 2:
            raise ValueError(f"FourierEmbedding dim must be an even integer >= 2, got {dim}")
        freqs = torch.exp(torch.linspace(math.log(min_freq), math.log(max_freq), dim // 2))
        self.register_buffer("freqs", freqs, persistent=False)
        self.dim = dim

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        angles = t.to(self.freqs.dtype)[:, None] * self.freqs[None, :]
        return torch.cat([torch.cos(angles), torch.sin(angles)], dim=1)


def check_cond(cond: torch.Tensor | None, batch: int, num_classes: int) -> None:
    """Validate a class-label tensor against the contract; raises ValueError with an actionable message."""
    if cond is None:
        return
    if num_classes == 0:
        raise ValueError("this network was built with num_classes=0 (unconditional); pass cond=None")
    if not isinstance(cond, torch.Tensor) or cond.dtype not in (
        torch.int64,
        torch.int32,
        torch.int16,
        torch.uint8,
    ):
        raise ValueError(
            f"cond must be an integer tensor of class labels (B,), got {type(cond).__name__}"
            + (f" of dtype {cond.dtype}" if isinstance(cond, torch.Tensor) else "")
        )
    if cond.shape != (batch,):
        raise ValueError(f"cond must have shape ({batch},), got {tuple(cond.shape)}")
    if batch and (int(cond.min()) < 0 or int(cond.max()) > num_classes):
        raise ValueError(
            f"class labels must lie in [0, {num_classes}] ({num_classes} = null/unconditional class), "
            f"got range [{int(cond.min())}, {int(cond.max())}]"
        )


class ConditionEmbedding(nn.Module):
    """(c_noise (B,), cond (B,) | None) -> embedding (B, emb_dim).

    Time path: Fourier features -> Linear -> SiLU -> Linear. Class path (``num_classes > 0``): an embedding
    table with ``num_classes + 1`` rows, added to the time embedding; ``cond=None`` means the null class for
    every sample.
    """

    def __init__(self, emb_dim: int, num_classes: int = 0, fourier_dim: int = 64):
        super().__init__()
        if num_classes < 0:
            raise ValueError(f"num_classes must be >= 0, got {num_classes}")
        self.num_classes = num_classes
        self.fourier = FourierEmbedding(fourier_dim)
        self.mlp = nn.Sequential(nn.Linear(fourier_dim, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
        self.class_emb = nn.Embedding(num_classes + 1, emb_dim) if num_classes > 0 else None

    def forward(self, c_noise: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        emb = self.mlp(self.fourier(c_noise).to(self.mlp[0].weight.dtype))
        if self.class_emb is not None:
            if cond is None:
                cond = torch.full(
                    (c_noise.shape[0],), self.num_classes, dtype=torch.long, device=c_noise.device
                )
            emb = emb + self.class_emb(cond.long())
        return emb
