"""What every sampler shares: the result type, schedule/input validation and an NFE-counting denoiser call."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from gen3d.random import GeneratorLike, check_generator

__all__ = ["SampleResult", "Callback", "check_schedule", "check_state", "DenoiserCall", "start", "emit"]

# callback(i, sigma, x, x0_hat): state i at noise level sigma; x0_hat is the denoiser output at that state
# when the sampler computed one (None for the final state).
Callback = Callable[[int, float, torch.Tensor, "torch.Tensor | None"], None]


@dataclass
class SampleResult:
    """Final sample ``x`` (the state at the last sigma, usually 0), the number of network evaluations ``nfe``
    (batched denoiser calls) and sampler-specific ``info`` (e.g. accepted/rejected steps of the adaptive
    solver)."""

    x: torch.Tensor
    nfe: int
    info: dict[str, Any] = field(default_factory=dict)


def check_schedule(sigmas: torch.Tensor | Sequence[float]) -> list[float]:
    """Validate a noise schedule and return it as Python floats.

    A schedule is 1-D with at least two levels, finite, non-negative and strictly decreasing; it usually ends
    with 0 (the last step then lands on the denoised sample).
    """
    s = torch.as_tensor(sigmas, dtype=torch.float64)
    if s.ndim != 1:
        raise ValueError(f"sigmas must be a 1-D schedule, got shape {tuple(s.shape)}")
    if s.numel() < 2:
        raise ValueError(
            f"sigmas must hold at least 2 noise levels (start and end), got {s.numel()}; "
            "build one with gen3d.samplers.get_schedule"
        )
    if not bool(torch.isfinite(s).all()):
        raise ValueError("sigmas contain NaN or inf")
    if bool((s < 0).any()):
        raise ValueError(f"sigmas must be non-negative, got min {float(s.min())}")
    if not bool((s[1:] < s[:-1]).all()):
        raise ValueError("sigmas must be strictly decreasing (from sigma_max down to 0)")
    if s[0] <= 0:
        raise ValueError("the first sigma must be positive")
    return [float(v) for v in s]


def check_state(x: torch.Tensor, generator: GeneratorLike) -> None:
    """Validate the initial state ``x`` (B, ...) and the generator (None, one, or one per sample)."""
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"x must be a tensor of shape (B, ...), got {type(x).__name__}")
    if x.ndim < 2 or x.shape[0] == 0:
        raise ValueError(f"x must have shape (B, ...) with B >= 1, got {tuple(x.shape)}")
    if not x.is_floating_point():
        raise ValueError(f"x must be a floating-point tensor, got {x.dtype}")
    check_generator(generator, x.shape[0])


class DenoiserCall:
    """Calls ``denoiser(x, sigma (B,), cond)`` with a scalar or per-sample sigma and counts the calls
    (NFE)."""

    def __init__(self, denoiser, cond=None) -> None:
        self.denoiser = denoiser
        self.cond = cond
        self.nfe = 0

    def __call__(self, x: torch.Tensor, sigma: float | torch.Tensor) -> torch.Tensor:
        if isinstance(sigma, torch.Tensor):
            s = sigma.to(device=x.device, dtype=x.dtype)
        else:
            s = torch.full((x.shape[0],), float(sigma), device=x.device, dtype=x.dtype)
        self.nfe += 1
        out = self.denoiser(x, s, self.cond)
        if out.shape != x.shape:
            raise ValueError(f"denoiser returned shape {tuple(out.shape)}, expected {tuple(x.shape)}")
        return out


def start(
    denoiser, x: torch.Tensor, sigmas, cond, generator: GeneratorLike
) -> tuple[list[float], DenoiserCall]:
    """Common entry of every sampler: validate ``sigmas``, ``x`` (B, ...) and ``generator``; return the
    schedule as floats and an NFE-counting call of ``denoiser`` with ``cond``."""
    s = check_schedule(sigmas)
    check_state(x, generator)
    return s, DenoiserCall(denoiser, cond)


def emit(
    callback: Callback | None, i: int, sigma: float, x: torch.Tensor, x0_hat: torch.Tensor | None
) -> None:
    """Hand one intermediate state to the callback (if any)."""
    if callback is not None:
        callback(i, float(sigma), x, x0_hat)
