"""VE process (Song et al. 2021, EDM Table 1 "VE"): sigma(t) = sqrt(t), s(t) = 1, log-uniform training
sigma."""

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
    ``sigma_data`` only feeds the preconditioning (EDMPrecond) and is recorded in the config.
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

    def _kwargs(self) -> dict[str, Any]:
        return {"sigma_min": self.sigma_min, "sigma_max": self.sigma_max, "sigma_data": self.sigma_data}
