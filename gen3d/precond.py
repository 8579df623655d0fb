"""Preconditioning (Karras et al. 2022, Sec. 5 and Table 1): turn any backbone into a denoiser.

``D(x; sigma) = c_skip x + c_out F(c_in x; c_noise, cond)`` (EDM Eq. 7) with the coefficients of the
process the denoiser is trained with (:meth:`gen3d.processes.Process.preconditioning`): EDM's (the default,
also PFGM++'s)

    c_skip = sigma_d^2 / (sigma^2 + sigma_d^2),  c_out = sigma sigma_d / sqrt(sigma^2 + sigma_d^2),
    c_in = 1 / sqrt(sigma^2 + sigma_d^2),        c_noise = ln(sigma) / 4,

VP's ``(1, -sigma, 1 / sqrt(sigma^2 + 1), (M - 1) t(sigma))`` or VE's ``(1, sigma, 1, ln(sigma / 2))``.

Works for any tensor rank (point clouds (B, N, 3), grids (B, 1, R, R, R), ...): the coefficients are (B,) and
broadcast over the non-batch dimensions. The backbone is called as ``backbone(c_in * x, c_noise (B,), cond)``.
This module knows no process: :class:`Precond` asks the object it is given.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from gen3d.tensors import check_positive, check_sigma, expand_sigma

__all__ = ["EDMCoefficients", "EDMPrecond", "Precond", "edm_coefficients"]

Coefficients = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]]


def edm_coefficients(sigma: torch.Tensor, sigma_data: float) -> tuple[torch.Tensor, ...]:
    """EDM Table 1, EDM column: ``(c_skip, c_out, c_in, c_noise)``, each of the shape of ``sigma``."""
    sd2 = sigma_data**2
    denom = sigma**2 + sd2
    c_skip = sd2 / denom
    c_out = sigma * sigma_data / denom.sqrt()
    c_in = 1.0 / denom.sqrt()
    c_noise = sigma.log() / 4.0
    return c_skip, c_out, c_in, c_noise


class Precond(nn.Module):
    """Denoiser ``(x (B, ...), sigma (B,), cond=None) -> x0_hat (B, ...)`` wrapping ``backbone``.

    ``process``: anything with ``preconditioning(sigma (B,)) -> (c_skip, c_out, c_in, c_noise)``, each (B,)
    (a :class:`gen3d.processes.Process`). The output dtype is ``x``'s, promoted to at least float32 (as EDM,
    half-precision inputs give float32). The state dict holds the backbone's weights only
    (``backbone.*``), so a checkpoint does not depend on which wrapper class built it.
    """

    def __init__(self, backbone: nn.Module, process) -> None:
        super().__init__()
        if not callable(getattr(process, "preconditioning", None)):
            raise TypeError(
                f"Precond needs a process with a preconditioning(sigma) method, got {type(process).__name__}"
            )
        self.backbone = backbone
        self.process = process

    def coefficients(self, sigma: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """``(c_skip, c_out, c_in, c_noise)`` at ``sigma`` (B,), each (B,)."""
        return self.process.preconditioning(sigma)

    def extra_repr(self) -> str:
        return f"process={self.process!r}"

    def forward(self, x: torch.Tensor, sigma: torch.Tensor, cond=None) -> torch.Tensor:
        if x.ndim < 2:
            raise ValueError(f"x must have shape (B, ...), got {tuple(x.shape)}")
        if isinstance(sigma, (int, float)) or (isinstance(sigma, torch.Tensor) and sigma.ndim == 0):
            sigma = torch.as_tensor(sigma, dtype=x.dtype, device=x.device).expand(x.shape[0])
        check_sigma(sigma, x.shape[0])
        # coefficients (and c_noise in particular) in at least float32, also for half inputs
        sigma = sigma.to(device=x.device, dtype=torch.promote_types(x.dtype, torch.float32))
        c_skip, c_out, c_in, c_noise = self.coefficients(sigma)
        f = self.backbone(expand_sigma(c_in, x) * x, c_noise, cond)
        if f.shape != x.shape:
            raise ValueError(f"backbone returned shape {tuple(f.shape)}, expected {tuple(x.shape)}")
        return expand_sigma(c_skip, x) * x + expand_sigma(c_out, x) * f.to(c_out.dtype)


class EDMCoefficients:
    """EDM's preconditioning for a given ``sigma_data``, without a process (``preconditioning(sigma)``)."""

    def __init__(self, sigma_data: float = 0.5) -> None:
        self.sigma_data = check_positive("sigma_data", sigma_data)

    def preconditioning(self, sigma: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return edm_coefficients(sigma, self.sigma_data)

    def __repr__(self) -> str:
        return f"EDMCoefficients(sigma_data={self.sigma_data!r})"


class EDMPrecond(Precond):
    """:class:`Precond` with EDM's coefficients for ``sigma_data`` (kept for code that has no process)."""

    def __init__(self, backbone: nn.Module, sigma_data: float = 0.5) -> None:
        super().__init__(backbone, EDMCoefficients(sigma_data))

    @property
    def sigma_data(self) -> float:
        return self.process.sigma_data
