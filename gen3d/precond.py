"""EDM preconditioning (Karras et al. 2022, Sec. 5 and Table 1): turn any backbone into a denoiser.

``D(x; sigma) = c_skip x + c_out F(c_in x; c_noise, cond)`` with

    c_skip = sigma_d^2 / (sigma^2 + sigma_d^2),  c_out = sigma sigma_d / sqrt(sigma^2 + sigma_d^2),
    c_in = 1 / sqrt(sigma^2 + sigma_d^2),        c_noise = ln(sigma) / 4.

Works for any tensor rank (point clouds (B, N, 3), grids (B, 1, R, R, R), ...): the coefficients are (B,) and
broadcast over the non-batch dimensions. The backbone is called as ``backbone(c_in * x, c_noise (B,), cond)``.
"""

from __future__ import annotations

import torch
from torch import nn

from gen3d.processes.base import check_positive, check_sigma, expand_sigma

__all__ = ["EDMPrecond", "edm_coefficients"]


def edm_coefficients(sigma: torch.Tensor, sigma_data: float) -> tuple[torch.Tensor, ...]:
    """``(c_skip, c_out, c_in, c_noise)``, each of the shape of ``sigma``."""
    sd2 = sigma_data**2
    denom = sigma**2 + sd2
    c_skip = sd2 / denom
    c_out = sigma * sigma_data / denom.sqrt()
    c_in = 1.0 / denom.sqrt()
    c_noise = sigma.log() / 4.0
    return c_skip, c_out, c_in, c_noise


class EDMPrecond(nn.Module):
    """Denoiser ``(x (B, ...), sigma (B,), cond=None) -> x0_hat (B, ...)`` wrapping ``backbone``.

    The output dtype is ``x``'s, promoted to at least float32 (as EDM, half-precision inputs give float32).
    """

    def __init__(self, backbone: nn.Module, sigma_data: float = 0.5) -> None:
        super().__init__()
        self.backbone = backbone
        self.sigma_data = check_positive("sigma_data", sigma_data)

    def forward(self, x: torch.Tensor, sigma: torch.Tensor, cond=None) -> torch.Tensor:
        if x.ndim < 2:
            raise ValueError(f"x must have shape (B, ...), got {tuple(x.shape)}")
        if isinstance(sigma, (int, float)) or (isinstance(sigma, torch.Tensor) and sigma.ndim == 0):
            sigma = torch.as_tensor(sigma, dtype=x.dtype, device=x.device).expand(x.shape[0])
        check_sigma(sigma, x.shape[0])
        # coefficients (and c_noise = ln(sigma)/4 in particular) in at least float32, also for half inputs
        sigma = sigma.to(device=x.device, dtype=torch.promote_types(x.dtype, torch.float32))
        c_skip, c_out, c_in, c_noise = edm_coefficients(sigma, self.sigma_data)
        f = self.backbone(expand_sigma(c_in, x) * x, c_noise, cond)
        if f.shape != x.shape:
            raise ValueError(f"backbone returned shape {tuple(f.shape)}, expected {tuple(x.shape)}")
        return expand_sigma(c_skip, x) * x + expand_sigma(c_out, x) * f.to(c_out.dtype)
