"""Classifier-free guidance (Ho & Salimans 2022) as a denoiser wrapper."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["ClassifierFreeGuidance"]


class ClassifierFreeGuidance(nn.Module):
    """``D_w(x; sigma, c) = D(x; sigma, null) + w * (D(x; sigma, c) - D(x; sigma, null))``.

    One batched forward of ``2B`` per call: the conditional and unconditional halves share the input.
    ``w = 1`` is the plain conditional model, ``w = 0`` the unconditional one, ``w > 1`` sharpens towards the
    class.

    Args:
        denoiser: ``denoiser(x (B, ...), sigma (B,), cond (B,) int64) -> (B, ...)`` trained with label
            dropout.
        w: guidance weight.
        null_label: the label of the unconditional class (``num_classes`` of the net).
    """

    def __init__(self, denoiser: nn.Module, w: float, null_label: int):
        super().__init__()
        self.denoiser = denoiser
        self.w = float(w)
        self.null_label = int(null_label)

    def forward(self, x: torch.Tensor, sigma: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        if cond is None:
            raise ValueError("classifier-free guidance needs class labels (cond); got None")
        B = x.shape[0]
        sigma = sigma.reshape(-1).expand(B) if sigma.numel() in (1, B) else sigma
        null = torch.full_like(cond, self.null_label)
        both = self.denoiser(torch.cat([x, x]), torch.cat([sigma, sigma]), torch.cat([cond, null]))
        d_c, d_u = both[:B], both[B:]
        return d_u + self.w * (d_c - d_u)
