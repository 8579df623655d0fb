"""PFGM++ (Xu et al. 2023): Poisson flow with D augmented dimensions, in the EDM sigma-frame.

A sample of dimension ``n`` (all its coordinates: 3N for a point cloud, R^3 for a grid; read from the tensor)
is embedded in ``n + D`` dimensions. With ``r = sigma sqrt(D)`` the perturbation kernel is

    p_r(x | y) ∝ (||x - y||^2 + r^2)^(-(n + D) / 2).

Sampling it: ``B ~ Beta(n/2, D/2)``, ``R = r sqrt(B / (1 - B))``, ``u`` uniform on the unit sphere of R^n,
``x = y + R u``. We use the equivalent chi-square form ``B / (1 - B) = chi2_n / chi2_D``: with ``z ~ N(0,
I_n)`` (so ``z / ||z||`` is uniform on the sphere and ``||z||^2 ~ chi2_n`` independently), ``x = y + r z /
sqrt(chi2_D)``, where ``chi2_D = 2 Gamma(D/2)`` is drawn with an explicit generator
(:func:`gen3d.random.standard_gamma`).

Training density, loss weight, preconditioning (PFGM++ reuses EDM's; its reference code keeps EDM's weight
and EDMPrecond, so ``lambda c_out^2 = 1``) and the probability-flow ODE ``dx/dsigma = (x - E[y|x]) / sigma``
are EDM's; only the kernel and the prior (the same kernel around 0 at ``sigma_max``) change.

Prior log-density (the PF-ODE likelihood's first term): ``r z / sqrt(chi2_D)`` is a multivariate Student t
with ``D`` degrees of freedom and scale ``sigma_max² I_n`` (``r² = D sigma_max²``), so

    ln p(x) = ln Gamma((n + D)/2) - ln Gamma(D/2) - (n/2) ln pi + (D/2) ln r² - ((n + D)/2) ln(||x||² + r²).

Limits: ``D = 1`` is PFGM (Xu et al. 2022), available as ``get_process("pfgm")``. As ``D -> inf`` with
``r = sigma sqrt(D)``, ``D / chi2_D -> 1`` so the kernel tends to ``N(y, sigma^2 I)`` and PFGM++ becomes EDM
(the relative deviation of the noise scale is about ``1 / sqrt(2 D)``; D = 1e6 agrees with EDM in the tests).

Heavy tail at small D: the kernel's radial law gives ``P(||x - y|| / sqrt(n) > rho) ≈ P(chi2_D < D sigma^2 /
rho^2)``, i.e. about ``0.8 sigma / rho`` for D = 1 whatever n. PFGM therefore leaves noticeable noise in some
samples even at ``sigma_min = 0.002``; the samplers' last step (``x <- D(x; sigma_min)``) removes most of it,
and with an exact denoiser about 0.1-0.2 % of samples still end between modes (measured in the tests,
n = 8-12).

``D`` can be given absolutely (``D=2048``) or relative to the data dimension (``D_per_dim=c`` gives
``D = c * n`` for each tensor, e.g. ``c = 1`` uses ``D = n``), because ``n`` depends on the number of points.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from gen3d.processes.base import flat_square_norm
from gen3d.processes.edm import EDMProcess
from gen3d.random import GeneratorLike, randn, standard_gamma
from gen3d.tensors import check_positive, expand_sigma

__all__ = ["PFGMPPProcess", "PFGMProcess", "resolve_D"]


def resolve_D(n: int, D: float | None, D_per_dim: float | None) -> float:
    """The augmented dimension for data of dimension ``n``: ``D`` or ``D_per_dim * n``."""
    if (D is None) == (D_per_dim is None):
        raise ValueError(
            "give exactly one of D (augmented dimensions) or D_per_dim (D relative to the data size)"
        )
    if D is not None:
        return check_positive("D", D)
    assert D_per_dim is not None  # exactly one of the two is given
    return check_positive("D_per_dim", D_per_dim) * n


class PFGMPPProcess(EDMProcess):
    """PFGM++ with ``D`` augmented dimensions (or ``D_per_dim``); other arguments as :class:`EDMProcess`."""

    name = "pfgmpp"

    def __init__(
        self,
        D: float | None = None,
        D_per_dim: float | None = None,
        sigma_data: float = 0.5,
        sigma_min: float = 0.002,
        sigma_max: float = 80.0,
        P_mean: float = -1.2,
        P_std: float = 1.2,
    ) -> None:
        super().__init__(
            sigma_data=sigma_data, sigma_min=sigma_min, sigma_max=sigma_max, P_mean=P_mean, P_std=P_std
        )
        resolve_D(1, D, D_per_dim)  # validate now
        self.D = None if D is None else float(D)
        self.D_per_dim = None if D_per_dim is None else float(D_per_dim)

    def augmented_dim(self, n: int) -> float:
        """D for data of dimension ``n`` (numel of one sample)."""
        return resolve_D(n, self.D, self.D_per_dim)

    def noise(self, shape, sigma, generator: GeneratorLike = None, device=None, dtype=None) -> torch.Tensor:
        # x - y = r z / sqrt(chi2_D), r = sigma sqrt(D). The radial factor sqrt(D / chi2_D) is computed in
        # float64 (it is 1 +- 1e-3 for D = 1e6); z is drawn in the output dtype.
        n = math.prod(shape[1:])
        D = self.augmented_dim(n)
        dtype = dtype or torch.get_default_dtype()
        z = randn(shape, generator, device=device, dtype=dtype)
        chi2_D = 2.0 * standard_gamma(D / 2.0, shape[0], generator, device=device)
        scale = (sigma.to(torch.float64) * torch.sqrt(D / chi2_D)).to(dtype)
        return expand_sigma(scale, z) * z

    def prior_log_density(self, x: torch.Tensor) -> torch.Tensor:
        """``ln p(x)`` (B,) float64 of the kernel around 0 at ``sigma_max`` (the module docstring's
        multivariate t, normalised), the law :meth:`prior` draws; x (B, ...)."""
        r2, n = flat_square_norm(x)
        D = self.augmented_dim(n)
        rr = self.sigma_max**2 * D
        # the docstring's form with (D/2) ln r² - ((n + D)/2) ln(||x||² + r²) regrouped (no large difference)
        log_norm = math.lgamma((n + D) / 2.0) - math.lgamma(D / 2.0) - 0.5 * n * math.log(math.pi * rr)
        return log_norm - 0.5 * (n + D) * torch.log1p(r2 / rr)

    def _kwargs(self) -> dict[str, Any]:
        kw = super()._kwargs()
        return {"D": self.D, "D_per_dim": self.D_per_dim, **kw}


class PFGMProcess(PFGMPPProcess):
    """PFGM (Xu et al. 2022): PFGM++ with one augmented dimension, ``D = 1``."""

    name = "pfgm"

    def __init__(
        self,
        sigma_data: float = 0.5,
        sigma_min: float = 0.002,
        sigma_max: float = 80.0,
        P_mean: float = -1.2,
        P_std: float = 1.2,
    ) -> None:
        super().__init__(
            D=1.0, sigma_data=sigma_data, sigma_min=sigma_min, sigma_max=sigma_max, P_mean=P_mean, P_std=P_std
        )

    def _kwargs(self) -> dict[str, Any]:
        kw = super()._kwargs()
        kw.pop("D")
        kw.pop("D_per_dim")
        return kw
