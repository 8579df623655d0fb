"""Small tensor helpers shared by processes, the preconditioning wrapper and the samplers.

Nothing here knows about a particular process: argument checks, the per-sample noise-level broadcast, and
VP's noise schedule ``sigma(t)`` with its inverse (EDM Table 1), which both the VP process and the VP
sampling grid need. Keeping them here lets :mod:`gen3d.samplers` work without importing
:mod:`gen3d.processes`.
"""

from __future__ import annotations

import math
from typing import overload

import torch

__all__ = [
    "VP_BETA_D",
    "VP_BETA_MIN",
    "VP_EPS_S",
    "VP_EPS_T",
    "check_positive",
    "check_sigma",
    "expand_sigma",
    "vp_sigma",
    "vp_sigma_inv",
]

# VP's parameters, EDM Table 1 (and NVlabs/edm VPPrecond / VPLoss / generate.py defaults): the schedule's
# extent beta_d and initial slope beta_min, the smallest sampling time eps_s and the smallest training time
# eps_t.
VP_BETA_D = 19.9
VP_BETA_MIN = 0.1
VP_EPS_S = 1e-3
VP_EPS_T = 1e-5


def check_positive(name: str, value: float, allow_zero: bool = False) -> float:
    """Return ``float(value)``; raise ``ValueError`` if it is not finite and positive (or >= 0)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        raise ValueError(
            f"{name} must be a finite {'non-negative' if allow_zero else 'positive'} number, got {v}"
        )
    return v


def check_sigma(sigma: torch.Tensor, batch: int, allow_zero: bool = False) -> torch.Tensor:
    """Validate a per-sample noise level: a tensor of shape (B,), finite, positive (or >= 0)."""
    if not isinstance(sigma, torch.Tensor):
        raise ValueError(f"sigma must be a tensor of shape ({batch},), got {type(sigma).__name__}")
    if sigma.shape != (batch,):
        raise ValueError(
            f"sigma must have shape ({batch},) (one noise level per sample), got {tuple(sigma.shape)}"
        )
    if not bool(torch.isfinite(sigma).all()):
        raise ValueError("sigma contains NaN or inf")
    bad = (sigma < 0) if allow_zero else (sigma <= 0)
    if bool(bad.any()):
        raise ValueError(
            f"sigma must be {'non-negative' if allow_zero else 'positive'}, got min {float(sigma.min())}"
        )
    return sigma


def expand_sigma(sigma: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Reshape (B,) to (B, 1, ..., 1) so it broadcasts against ``x`` of shape (B, ...)."""
    return sigma.reshape(sigma.shape[0], *([1] * (x.ndim - 1)))


@overload
def vp_sigma(t: torch.Tensor, beta_d: float = ..., beta_min: float = ...) -> torch.Tensor: ...
@overload
def vp_sigma(t: float, beta_d: float = ..., beta_min: float = ...) -> float: ...
def vp_sigma(
    t: torch.Tensor | float, beta_d: float = VP_BETA_D, beta_min: float = VP_BETA_MIN
) -> torch.Tensor | float:
    """VP's noise level, EDM Table 1: ``sigma(t) = sqrt(exp(beta_d t^2 / 2 + beta_min t) - 1)``.

    ``t`` a tensor of any shape (returned in its shape and dtype) or a float (returns a float).
    """
    if isinstance(t, torch.Tensor):
        return torch.sqrt(torch.expm1(0.5 * beta_d * t**2 + beta_min * t))
    return math.sqrt(math.expm1(0.5 * beta_d * t**2 + beta_min * t))


@overload
def vp_sigma_inv(sigma: torch.Tensor, beta_d: float = ..., beta_min: float = ...) -> torch.Tensor: ...
@overload
def vp_sigma_inv(sigma: float, beta_d: float = ..., beta_min: float = ...) -> float: ...
def vp_sigma_inv(
    sigma: torch.Tensor | float, beta_d: float = VP_BETA_D, beta_min: float = VP_BETA_MIN
) -> torch.Tensor | float:
    """Inverse of :func:`vp_sigma` (EDM Table 1's ``sigma^-1``):
    ``t(sigma) = (sqrt(beta_min^2 + 2 beta_d ln(1 + sigma^2)) - beta_min) / beta_d``.

    ``sigma`` a tensor of any shape (returned in its shape and dtype) or a float (returns a float).
    """
    if isinstance(sigma, torch.Tensor):
        return (torch.sqrt(beta_min**2 + 2.0 * beta_d * torch.log1p(sigma**2)) - beta_min) / beta_d
    return (math.sqrt(beta_min**2 + 2.0 * beta_d * math.log1p(sigma**2)) - beta_min) / beta_d
