"""EDM process (Karras et al. 2022): Gaussian kernel, log-normal training sigma, lambda = 1 / c_out^2."""

from __future__ import annotations

from typing import Any

import torch

from gen3d.processes.base import Process
from gen3d.random import GeneratorLike, randn
from gen3d.tensors import check_positive

__all__ = ["EDMProcess"]


class EDMProcess(Process):
    """EDM: ``ln sigma ~ N(P_mean, P_std^2)`` (EDM Table 1, "training"), kernel ``N(y, sigma^2 I)``,
    weight ``lambda(sigma) = (sigma^2 + sigma_data^2) / (sigma sigma_data)^2 = 1 / c_out^2``, prior
    ``N(0, sigma_max^2 I)``, EDM's preconditioning (:meth:`Process.preconditioning`, EDM Table 1).
    """

    name = "edm"

    def __init__(
        self,
        sigma_data: float = 0.5,
        sigma_min: float = 0.002,
        sigma_max: float = 80.0,
        P_mean: float = -1.2,
        P_std: float = 1.2,
    ) -> None:
        super().__init__(sigma_min, sigma_max, sigma_data)
        self.P_mean = float(P_mean)
        self.P_std = check_positive("P_std", P_std)

    def sample_sigma(self, batch: int, generator: GeneratorLike = None, device=None) -> torch.Tensor:
        self._check_batch(batch)
        return torch.exp(
            self.P_mean + self.P_std * randn((batch,), generator, device=device, dtype=torch.float32)
        )

    def loss_weight(self, sigma: torch.Tensor) -> torch.Tensor:
        sd2 = self.sigma_data**2
        return (sigma**2 + sd2) / (sigma**2 * sd2)

    def _kwargs(self) -> dict[str, Any]:
        return {
            "sigma_data": self.sigma_data,
            "sigma_min": self.sigma_min,
            "sigma_max": self.sigma_max,
            "P_mean": self.P_mean,
            "P_std": self.P_std,
        }
