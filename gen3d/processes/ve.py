"""VE process (Song et al. 2021, EDM Table 1 "VE"): sigma(t) = sqrt(t), s(t) = 1, log-uniform training sigma.

Preconditioning (EDM Table 1, VE column; NVlabs/edm ``VEPrecond``): ``c_skip = 1``, ``c_out = sigma``,
``c_in = 1``; with ``lambda = 1 / sigma^2`` the effective weight ``lambda c_out^2`` is 1. ``c_noise`` is
gen3d's ``ln(sigma) / 4`` rather than Table 1's ``ln(sigma / 2)`` (which feeds NCSN++'s own embedding): the
backbones' Fourier noise embedding is tuned to that range (see :mod:`gen3d.processes.vp`).
"""

from __future__ import annotations

import math
from typing import Any

import torch

from gen3d.processes.base import Process
from gen3d.random import GeneratorLike, rand

__all__ = ["VEProcess"]


class VEProcess(Process):
    """Variance exploding SDE in the sigma-frame.

    Training: ``sigma ~ sigma_min (sigma_max / sigma_min)^u``, ``u ~ U(0, 1)`` (log-uniform, EDM Table 1);
    kernel ``N(y, sigma^2 I)``; weight ``lambda(sigma) = 1 / sigma^2``; prior ``N(0, sigma_max^2 I)``.
    ``sigma_data`` is not used by VE's preconditioning; it is kept so configs may carry it.
    """

    name = "ve"

    def __init__(self, sigma_min: float = 0.02, sigma_max: float = 100.0, sigma_data: float = 0.5) -> None:
        super().__init__(sigma_min, sigma_max, sigma_data)

    def sample_sigma(self, batch: int, generator: GeneratorLike = None, device=None) -> torch.Tensor:
        self._check_batch(batch)
        u = rand((batch,), generator, device=device, dtype=torch.float32)
        lo, hi = math.log(self.sigma_min), math.log(self.sigma_max)
        return torch.exp(lo + (hi - lo) * u)

    def loss_weight(self, sigma: torch.Tensor) -> torch.Tensor:
        return 1.0 / sigma**2

    def preconditioning(self, sigma: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """EDM Table 1, VE: ``(1, sigma, 1)`` and ``c_noise = ln(sigma) / 4``, each of sigma's shape."""
        one = torch.ones_like(sigma)
        return one, sigma, one, torch.log(sigma) / 4.0

    def _kwargs(self) -> dict[str, Any]:
        return {"sigma_min": self.sigma_min, "sigma_max": self.sigma_max, "sigma_data": self.sigma_data}
