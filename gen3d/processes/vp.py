"""VP process (Song et al. 2021, EDM Table 1 "VP") expressed in the sigma-frame.

VP's state ``x_t = s(t) x_hat`` with ``sigma(t) = sqrt(exp(beta_d t^2 / 2 + beta_min t) - 1)`` and
``s(t) = 1 / sqrt(1 + sigma(t)^2)``; gen3d works on ``x_hat = x_t / s(t)``, for which the kernel is
``N(y, sigma^2 I)`` and the probability-flow ODE is EDM's, so the same samplers apply.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from gen3d.processes.base import Process, check_positive
from gen3d.random import GeneratorLike, rand, randn

__all__ = ["VPProcess", "vp_sigma"]


def vp_sigma(t: torch.Tensor | float, beta_d: float = 19.9, beta_min: float = 0.1):
    """EDM Table 1: ``sigma(t) = sqrt(exp(beta_d t^2 / 2 + beta_min t) - 1)`` (tensor or float)."""
    if isinstance(t, torch.Tensor):
        return torch.sqrt(torch.expm1(0.5 * beta_d * t**2 + beta_min * t))
    return math.sqrt(math.expm1(0.5 * beta_d * t**2 + beta_min * t))


class VPProcess(Process):
    """Variance preserving SDE in the sigma-frame.

    Training: ``t ~ U(eps_t, 1)``, ``sigma = sigma(t)`` (EDM Table 1); weight ``lambda(sigma) = 1 / sigma^2``.
    Defaults ``sigma_min = sigma(eps_s = 1e-3)``, ``sigma_max = sigma(1)`` (about 0.0100 and 152.6).
    Prior: VP's ``N(0, I)`` at ``t = 1`` divided by ``s(1)``, i.e. ``N(0, (1 + sigma_max^2) I)`` in the
    sigma-frame.
    """

    name = "vp"

    def __init__(
        self,
        beta_d: float = 19.9,
        beta_min: float = 0.1,
        eps_t: float = 1e-5,
        sigma_min: float | None = None,
        sigma_max: float | None = None,
        sigma_data: float = 0.5,
    ) -> None:
        self.beta_d = check_positive("beta_d", beta_d)
        self.beta_min = check_positive("beta_min", beta_min, allow_zero=True)
        self.eps_t = check_positive("eps_t", eps_t)
        if self.eps_t >= 1:
            raise ValueError(f"eps_t must be in (0, 1), got {self.eps_t}")
        smin = vp_sigma(1e-3, self.beta_d, self.beta_min) if sigma_min is None else sigma_min
        smax = vp_sigma(1.0, self.beta_d, self.beta_min) if sigma_max is None else sigma_max
        super().__init__(smin, smax, sigma_data)

    def sample_sigma(self, batch: int, generator: GeneratorLike = None, device=None) -> torch.Tensor:
        self._check_batch(batch)
        u = rand((batch,), generator, device=device, dtype=torch.float64)
        t = self.eps_t + (1.0 - self.eps_t) * u
        return vp_sigma(t, self.beta_d, self.beta_min).to(torch.float32)

    def loss_weight(self, sigma: torch.Tensor) -> torch.Tensor:
        return 1.0 / sigma**2

    def prior(self, shape, generator: GeneratorLike = None, device=None, dtype=None) -> torch.Tensor:
        shape = tuple(int(s) for s in shape)
        if len(shape) < 2 or shape[0] < 1 or math.prod(shape[1:]) == 0:
            raise ValueError(f"prior shape must be (B, ...) with B >= 1 and a non-empty sample, got {shape}")
        return math.sqrt(1.0 + self.sigma_max**2) * randn(shape, generator, device=device, dtype=dtype)

    def _kwargs(self) -> dict[str, Any]:
        return {
            "beta_d": self.beta_d,
            "beta_min": self.beta_min,
            "eps_t": self.eps_t,
            "sigma_min": self.sigma_min,
            "sigma_max": self.sigma_max,
            "sigma_data": self.sigma_data,
        }
