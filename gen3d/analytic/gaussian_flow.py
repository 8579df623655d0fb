"""Exact probability-flow ODE solution for isotropic Gaussian data ``N(mu, s^2 I)`` (Gaussian kernel).

The marginal at noise level sigma is ``N(mu, (s^2 + sigma^2) I)``, the ideal denoiser is
``D(x; sigma) = mu + s^2 / (s^2 + sigma^2) (x - mu)``, and ``dx/dsigma = (x - D) / sigma = sigma (x - mu) /
(s^2 + sigma^2)`` integrates to ``x(sigma_b) = mu + (x(sigma_a) - mu) sqrt((s^2 + sigma_b^2) / (s^2 +
sigma_a^2))``. Used to measure sampler error against the exact answer.
"""

from __future__ import annotations

import math

import torch

__all__ = ["gaussian_flow"]


def gaussian_flow(
    x: torch.Tensor, sigma_from: float, sigma_to: float, mean: torch.Tensor | float, std: float
) -> torch.Tensor:
    """Transport ``x`` (B, ...) along the exact PF-ODE from ``sigma_from`` to ``sigma_to`` (floats >= 0)."""
    if sigma_from < 0 or sigma_to < 0 or std <= 0:
        raise ValueError("sigma_from and sigma_to must be >= 0 and std > 0")
    scale = math.sqrt((std**2 + sigma_to**2) / (std**2 + sigma_from**2))
    mean = torch.as_tensor(mean, dtype=x.dtype, device=x.device)
    return mean + (x - mean) * scale
