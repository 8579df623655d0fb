"""The process contract shared by EDM, VP, VE and PFGM++.

Every process lives in the EDM sigma-frame (Karras et al. 2022, Eq. 1-4): a clean sample ``y`` of any shape
(a point cloud (N, 3), a grid (1, R, R, R), ...) is perturbed to ``x = y + noise(sigma)`` and a denoiser
``D(x, sigma) ≈ E[y | x, sigma]`` is trained with a weighted MSE. A process owns only what differs between
processes: the training sigma-density, the perturbation kernel, the prior at ``sigma_max`` and its
log-density (the PF-ODE likelihood's first term), the loss weight ``lambda(sigma)`` and the preconditioning
(EDM Table 1's ``c_skip, c_out, c_in, c_noise``; EDM's by default). The effective weight on the network
output, ``lambda(sigma) c_out(sigma)^2``, is 1 for EDM, VP, VE and PFGM++ (EDM Sec. 5 and Table 1).
Sampling uses the probability-flow ODE ``dx/dsigma = (x - D(x; sigma)) / sigma`` for all of them (see
:mod:`gen3d.samplers`).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Any

import torch

from gen3d.precond import edm_coefficients
from gen3d.random import GeneratorLike, check_generator, randn

# check_positive / check_sigma / expand_sigma live in gen3d.tensors; re-exported here because
# gen3d.analytic (and older code) import them from this module.
from gen3d.tensors import check_positive, check_sigma, expand_sigma

__all__ = [
    "Process",
    "check_positive",
    "check_prior_shape",
    "check_sigma",
    "expand_sigma",
    "flat_square_norm",
    "gaussian_log_density",
]


def _check_x(x0: torch.Tensor) -> None:
    if not isinstance(x0, torch.Tensor):
        raise ValueError(f"x0 must be a tensor of shape (B, ...), got {type(x0).__name__}")
    if x0.ndim < 2 or x0.shape[0] == 0 or x0[0].numel() == 0:
        raise ValueError(
            f"x0 must have shape (B, ...) with B >= 1 and a non-empty sample, got {tuple(x0.shape)}"
        )


def check_prior_shape(shape) -> tuple[int, ...]:
    """``shape`` of a prior draw as a tuple of ints: ``(B, ...)`` with ``B >= 1`` and a non-empty sample,
    else ValueError. Every process's :meth:`Process.prior` starts with it."""
    shape = tuple(int(s) for s in shape)
    if len(shape) < 2 or shape[0] < 1 or math.prod(shape[1:]) == 0:
        raise ValueError(f"prior shape must be (B, ...) with B >= 1 and a non-empty sample, got {shape}")
    return shape


def flat_square_norm(x: torch.Tensor) -> tuple[torch.Tensor, int]:
    """``(|x|² (B,) float64, n)`` for ``x`` (B, ...) with ``n`` the numel of one sample."""
    xf = x.reshape(x.shape[0], -1).to(torch.float64)
    return xf.square().sum(1), xf.shape[1]


def gaussian_log_density(x: torch.Tensor, var: float) -> torch.Tensor:
    """``ln N(x; 0, var I_n)`` (B,) float64 for x (B, ...): ``-|x|² / (2 var) - (n/2) ln(2π var)``."""
    r2, n = flat_square_norm(x)
    return -0.5 * r2 / var - 0.5 * n * math.log(2.0 * math.pi * var)


class Process(ABC):
    """Base class of a generative process in the EDM sigma-frame.

    Subclasses set ``name`` and implement :meth:`sample_sigma` and :meth:`loss_weight`; processes whose
    perturbation kernel is not Gaussian (PFGM++, Yukawa) override :meth:`noise`; processes whose paper uses
    another preconditioning than EDM's (VP, VE) override :meth:`preconditioning`. A process that overrides
    :meth:`noise` or :meth:`prior` overrides :meth:`prior_log_density` with the exact log-density of its own
    prior law (the inherited Gaussian one refuses such a process).
    """

    name: str = ""

    def __init__(self, sigma_min: float, sigma_max: float, sigma_data: float) -> None:
        self.sigma_min = check_positive("sigma_min", sigma_min)
        self.sigma_max = check_positive("sigma_max", sigma_max)
        self.sigma_data = check_positive("sigma_data", sigma_data)
        if self.sigma_min >= self.sigma_max:
            raise ValueError(
                f"sigma_min ({self.sigma_min}) must be smaller than sigma_max ({self.sigma_max})"
            )

    # -- what each process owns ----------------------------------------------------------------------------
    @abstractmethod
    def sample_sigma(self, batch: int, generator: GeneratorLike = None, device=None) -> torch.Tensor:
        """Training noise levels, shape (B,), float32."""

    @abstractmethod
    def loss_weight(self, sigma: torch.Tensor) -> torch.Tensor:
        """Loss weight lambda(sigma), shape (B,) -> (B,)."""

    def preconditioning(self, sigma: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """EDM Table 1's ``(c_skip, c_out, c_in, c_noise)`` at ``sigma`` (B,), each (B,), for the denoiser
        ``D(x; sigma) = c_skip x + c_out F(c_in x; c_noise)`` (:class:`gen3d.precond.Precond`).

        Default: EDM's, ``c_skip = sigma_d^2 / (sigma^2 + sigma_d^2)``, ``c_noise = ln(sigma) / 4``,
        ``c_out = sigma sigma_d / sqrt(sigma^2 + sigma_d^2)``, ``c_in = 1 / sqrt(sigma^2 + sigma_d^2)``.
        """
        return edm_coefficients(sigma, self.sigma_data)

    def noise(
        self,
        shape: tuple[int, ...],
        sigma: torch.Tensor,
        generator: GeneratorLike = None,
        device=None,
        dtype=None,
    ) -> torch.Tensor:
        """A draw of ``x - y`` from the perturbation kernel at ``sigma`` (B,); Gaussian: ``sigma * N(0,
        I)``."""
        eps = randn(shape, generator, device=device, dtype=dtype)
        return expand_sigma(sigma.to(eps), eps) * eps

    # -- shared behaviour ----------------------------------------------------------------------------------
    def _check_batch(self, batch: int) -> None:
        if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
            raise ValueError(f"batch must be a positive integer, got {batch!r}")

    def _check_perturb(self, x0: torch.Tensor, sigma: torch.Tensor, generator: GeneratorLike) -> None:
        _check_x(x0)
        check_sigma(sigma, x0.shape[0], allow_zero=True)
        check_generator(generator, x0.shape[0])

    def perturb(self, x0: torch.Tensor, sigma: torch.Tensor, generator: GeneratorLike = None) -> torch.Tensor:
        """Sample the kernel: ``x = x0 + noise``; x0 (B, ...), sigma (B,) -> (B, ...)."""
        self._check_perturb(x0, sigma, generator)
        return x0 + self.noise(tuple(x0.shape), sigma, generator, device=x0.device, dtype=x0.dtype)

    def perturb_with_target(
        self, x0: torch.Tensor, sigma: torch.Tensor, generator: GeneratorLike = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(x, target)`` for the loss: a kernel draw ``x`` (B, ...) and what the denoiser regresses at it.

        The target is the clean sample ``x0`` for every process whose flow conserves mass; a process whose
        physics has a birth/death term (Yukawa) regresses a target that absorbs it.
        """
        return self.perturb(x0, sigma, generator), x0

    def loss(
        self,
        denoiser,
        x0: torch.Tensor,
        cond=None,
        generator: GeneratorLike = None,
        sigma: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Per-sample weighted denoising loss, shape (B,).

        ``lambda(sigma) * mean_over_non_batch_dims (D(x0 + n; sigma) - target)^2`` with ``n`` from the kernel
        and ``target = x0`` (EDM Eq. 2/8) unless the process says otherwise (:meth:`perturb_with_target`).
        ``sigma`` (B,) is drawn with :meth:`sample_sigma` when None.
        """
        _check_x(x0)
        b = x0.shape[0]
        if sigma is None:
            sigma = self.sample_sigma(b, generator, device=x0.device)
        check_sigma(sigma, b)
        sigma = sigma.to(device=x0.device, dtype=x0.dtype)
        x, target = self.perturb_with_target(x0, sigma, generator)
        d = denoiser(x, sigma, cond)
        if d.shape != x0.shape:
            raise ValueError(f"denoiser returned shape {tuple(d.shape)}, expected {tuple(x0.shape)}")
        err = (d - target).square().reshape(b, -1).mean(dim=1)
        return self.loss_weight(sigma) * err

    def prior(
        self, shape: tuple[int, ...], generator: GeneratorLike = None, device=None, dtype=None
    ) -> torch.Tensor:
        """x_T: a draw of the kernel around 0 at ``sigma_max``, shape ``shape = (B, ...)``."""
        shape = check_prior_shape(shape)
        dtype = dtype or torch.get_default_dtype()
        sigma = torch.full((shape[0],), self.sigma_max, dtype=torch.float64, device=device)
        return self.noise(shape, sigma, generator, device=device, dtype=dtype)

    def prior_log_density(self, x: torch.Tensor) -> torch.Tensor:
        """``ln p_prior(x)`` (B,) float64 of the law :meth:`prior` draws, at x (B, ...) (any float dtype).

        Default, the Gaussian kernel around 0 at ``sigma_max``: ``ln N(x; 0, sigma_max² I_n)``. It is exact
        only for a process that keeps the Gaussian :meth:`noise` and :meth:`prior`; any other process that
        does not override this method is refused (NotImplementedError) rather than given the Gaussian's
        number for another law.
        """
        cls = type(self)
        if cls.noise is not Process.noise or cls.prior is not Process.prior:
            raise NotImplementedError(
                f"process {self.name or cls.__name__!r} draws its prior from its own law but gives no exact "
                "log-density for it (Process.prior_log_density), so its PF-ODE likelihood is not available"
            )
        return gaussian_log_density(x, self.sigma_max**2)

    def config(self) -> dict[str, Any]:
        """``{"name": ..., **constructor kwargs}``; ``get_process(**cfg)`` rebuilds the process."""
        return {"name": self.name, **self._kwargs()}

    @abstractmethod
    def _kwargs(self) -> dict[str, Any]:
        """Constructor keyword arguments (JSON-serialisable)."""

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._kwargs().items())
        return f"{type(self).__name__}({args})"
