"""VP process (Song et al. 2021, EDM Table 1 "VP") expressed in the sigma-frame.

VP's state ``x_t = s(t) x_hat`` with ``sigma(t) = sqrt(exp(beta_d t^2 / 2 + beta_min t) - 1)`` and
``s(t) = 1 / sqrt(1 + sigma(t)^2)``; gen3d works on ``x_hat = x_t / s(t)``, for which the kernel is
``N(y, sigma^2 I)`` and the probability-flow ODE is EDM's, so the same samplers apply.

Preconditioning (EDM Table 1, VP column; NVlabs/edm ``VPPrecond``): ``c_skip = 1``, ``c_out = -sigma``,
``c_in = 1 / sqrt(sigma^2 + 1)``, i.e. the network predicts the noise ``eps = (x - y) / sigma`` from VP's own
state ``x_t = c_in x``. With the loss weight ``lambda = 1 / sigma^2`` the effective weight ``lambda c_out^2``
is 1. One deliberate difference: Table 1's ``c_noise = (M - 1) t`` (DDPM's step index, 0..999) feeds
DDPM++'s positional embedding; gen3d's backbones embed the noise level with Fourier features tuned to
``ln(sigma) / 4`` (:class:`gen3d.nets.embeddings.FourierEmbedding`), on which 0..999 aliases, so every
process passes ``c_noise = ln(sigma) / 4``. ``c_noise`` only parameterises the network's input; the
objective (kernel, weight, target) is VP's.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from gen3d.processes.base import Process, check_prior_shape, gaussian_log_density
from gen3d.random import GeneratorLike, rand, randn
from gen3d.tensors import (
    VP_BETA_D,
    VP_BETA_MIN,
    VP_EPS_S,
    VP_EPS_T,
    check_positive,
    vp_sigma,
)

# vp_sigma is re-exported: older code and tests import it from here.
__all__ = ["VPProcess", "vp_sigma"]


class VPProcess(Process):
    """Variance preserving SDE in the sigma-frame.

    Training: ``t ~ U(eps_t, 1)``, ``sigma = sigma(t)`` (EDM Table 1); weight ``lambda(sigma) = 1 / sigma^2``.
    Defaults ``sigma_min = sigma(eps_s = 1e-3) ≈ 0.01049`` and ``sigma_max = sigma(1) ≈ 152.17`` (with
    ``beta_d = 19.9``, ``beta_min = 0.1``). Prior: VP's ``N(0, I)`` at ``t = 1`` divided by ``s(1)``, i.e.
    ``N(0, (1 + sigma_max^2) I)`` in the sigma-frame.
    ``sigma_data`` is not used by VP's preconditioning; it is kept so configs may carry it.
    """

    name = "vp"

    def __init__(
        self,
        beta_d: float = VP_BETA_D,
        beta_min: float = VP_BETA_MIN,
        eps_t: float = VP_EPS_T,
        sigma_min: float | None = None,
        sigma_max: float | None = None,
        sigma_data: float = 0.5,
    ) -> None:
        self.beta_d = check_positive("beta_d", beta_d)
        self.beta_min = check_positive("beta_min", beta_min, allow_zero=True)
        self.eps_t = check_positive("eps_t", eps_t)
        if self.eps_t >= 1:
            raise ValueError(f"eps_t must be in (0, 1), got {self.eps_t}")
        smin = vp_sigma(VP_EPS_S, self.beta_d, self.beta_min) if sigma_min is None else sigma_min
        smax = vp_sigma(1.0, self.beta_d, self.beta_min) if sigma_max is None else sigma_max
        super().__init__(smin, smax, sigma_data)

    def sample_sigma(self, batch: int, generator: GeneratorLike = None, device=None) -> torch.Tensor:
        self._check_batch(batch)
        u = rand((batch,), generator, device=device, dtype=torch.float64)
        t = self.eps_t + (1.0 - self.eps_t) * u
        return vp_sigma(t, self.beta_d, self.beta_min).to(torch.float32)

    def loss_weight(self, sigma: torch.Tensor) -> torch.Tensor:
        return 1.0 / sigma**2

    def preconditioning(self, sigma: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """EDM Table 1, VP: ``(1, -sigma, 1 / sqrt(sigma^2 + 1))`` and ``c_noise = ln(sigma) / 4`` (see the
        module docstring), each shaped as sigma."""
        c_skip = torch.ones_like(sigma)
        c_out = -sigma
        c_in = 1.0 / torch.sqrt(sigma**2 + 1.0)
        c_noise = torch.log(sigma) / 4.0
        return c_skip, c_out, c_in, c_noise

    def prior(self, shape, generator: GeneratorLike = None, device=None, dtype=None) -> torch.Tensor:
        shape = check_prior_shape(shape)
        return math.sqrt(1.0 + self.sigma_max**2) * randn(shape, generator, device=device, dtype=dtype)

    def prior_log_density(self, x: torch.Tensor) -> torch.Tensor:
        """``ln N(x; 0, (1 + sigma_max²) I)`` (B,) float64, the law :meth:`prior` draws; x (B, ...)."""
        return gaussian_log_density(x, 1.0 + self.sigma_max**2)

    def _kwargs(self) -> dict[str, Any]:
        return {
            "beta_d": self.beta_d,
            "beta_min": self.beta_min,
            "eps_t": self.eps_t,
            "sigma_min": self.sigma_min,
            "sigma_max": self.sigma_max,
            "sigma_data": self.sigma_data,
        }
