"""Deterministic probability-flow ODE samplers: Euler and Heun (EDM Algorithm 1).

ODE (EDM Eq. 4 with sigma(t) = t, s(t) = 1): ``dx/dsigma = (x - D(x; sigma)) / sigma``. The same ODE holds for
PFGM++ in the sigma-frame (``r = sigma sqrt(D)``), so these samplers serve every process.
"""

from __future__ import annotations

import torch

from gen3d.random import GeneratorLike
from gen3d.samplers.base import Callback, DenoiserCall, SampleResult, emit, start

__all__ = ["euler", "heun"]


def euler(
    denoiser,
    x: torch.Tensor,
    sigmas,
    *,
    cond=None,
    generator: GeneratorLike = None,
    callback: Callback | None = None,
) -> SampleResult:
    """First-order Euler on the PF-ODE; x (B, ...) at ``sigmas[0]``; NFE = number of steps."""
    s, f = start(denoiser, x, sigmas, cond, generator)
    for i in range(len(s) - 1):
        d0 = f(x, s[i])
        emit(callback, i, s[i], x, d0)
        # x_{i+1} = x_i + (sigma_{i+1} - sigma_i) (x_i - D(x_i)) / sigma_i
        x = x + (s[i + 1] - s[i]) * (x - d0) / s[i]
    emit(callback, len(s) - 1, s[-1], x, None)
    return SampleResult(x, f.nfe)


def heun(
    denoiser,
    x: torch.Tensor,
    sigmas,
    *,
    cond=None,
    generator: GeneratorLike = None,
    callback: Callback | None = None,
) -> SampleResult:
    """Heun's 2nd-order method (EDM Alg. 1); the step to sigma = 0 is Euler. NFE = 2 n - 1 when ending at
    0."""
    s, f = start(denoiser, x, sigmas, cond, generator)
    for i in range(len(s) - 1):
        x = heun_step(f, x, s[i], s[i + 1], callback, i)
    emit(callback, len(s) - 1, s[-1], x, None)
    return SampleResult(x, f.nfe)


def heun_step(
    f: DenoiserCall, x: torch.Tensor, s_cur: float, s_next: float, callback, i: int
) -> torch.Tensor:
    """One step of EDM Alg. 1 (lines 4-8) from s_cur to s_next."""
    d0 = f(x, s_cur)
    emit(callback, i, s_cur, x, d0)
    slope = (x - d0) / s_cur
    x_next = x + (s_next - s_cur) * slope
    if s_next > 0:
        # 2nd-order correction: average the slopes at both ends (trapezoidal rule)
        slope_next = (x_next - f(x_next, s_next)) / s_next
        x_next = x + (s_next - s_cur) * 0.5 * (slope + slope_next)
    return x_next
