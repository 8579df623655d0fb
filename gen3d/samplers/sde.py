"""Stochastic samplers: EDM's churn sampler (Algorithm 2) and Euler-Maruyama on the reverse SDE.

Both add Gaussian noise: they are exact (as steps -> 0) for Gaussian-kernel processes (EDM, VP, VE, and PFGM++
in the D -> inf limit). For PFGM++ with finite D the kernel family is not closed under Gaussian convolution,
so use the ODE samplers there (stochastic sampling is then an approximation).
"""

from __future__ import annotations

import math

import torch

from gen3d.random import GeneratorLike, randn
from gen3d.samplers.base import Callback, SampleResult, emit, start
from gen3d.samplers.ode import heun_step

__all__ = ["edm_stochastic", "euler_maruyama"]


def edm_stochastic(
    denoiser,
    x: torch.Tensor,
    sigmas,
    *,
    cond=None,
    generator: GeneratorLike = None,
    callback: Callback | None = None,
    S_churn: float = 0.0,
    S_min: float = 0.0,
    S_max: float = float("inf"),
    S_noise: float = 1.0,
) -> SampleResult:
    """EDM Algorithm 2: at each step raise sigma_i to ``sigma_hat = sigma_i (1 + gamma_i)`` with fresh noise,
    ``gamma_i = min(S_churn / n, sqrt(2) - 1)`` if ``S_min <= sigma_i <= S_max`` else 0, then take a Heun step
    from sigma_hat to sigma_{i+1}. With ``S_churn = 0`` this is Heun. ``generator`` may be per-sample.
    """
    s, f = start(denoiser, x, sigmas, cond, generator)
    for name, v in (("S_churn", S_churn), ("S_min", S_min), ("S_noise", S_noise)):
        if not v >= 0:
            raise ValueError(f"{name} must be >= 0, got {v}")
    if S_max < S_min:
        raise ValueError(f"S_max ({S_max}) must be >= S_min ({S_min})")
    n = len(s) - 1
    for i in range(n):
        s_cur, s_next = s[i], s[i + 1]
        gamma = min(S_churn / n, math.sqrt(2.0) - 1.0) if S_min <= s_cur <= S_max else 0.0
        s_hat = s_cur * (1.0 + gamma)
        if gamma > 0:
            # Alg. 2 line 6: x_hat = x + sqrt(sigma_hat^2 - sigma^2) S_noise eps
            eps = randn(tuple(x.shape), generator, device=x.device, dtype=x.dtype)
            x = x + math.sqrt(s_hat**2 - s_cur**2) * S_noise * eps
        x = heun_step(f, x, s_hat, s_next, callback, i)
    emit(callback, n, s[-1], x, None)
    return SampleResult(x, f.nfe)


def euler_maruyama(
    denoiser,
    x: torch.Tensor,
    sigmas,
    *,
    cond=None,
    generator: GeneratorLike = None,
    callback: Callback | None = None,
) -> SampleResult:
    """Euler-Maruyama on the reverse-time SDE of EDM Eq. 6 with ``sigma(t) = t`` and ``beta(t) = 1 / sigma``.

    That SDE is the reverse of the VE SDE ``dx = sqrt(2 sigma) dW`` (``d sigma^2 = 2 sigma d sigma``):
    ``dx = -2 sigma grad log p dsigma + sqrt(2 sigma) dW_bar`` with ``grad log p = (D(x; sigma) - x) /
    sigma^2``. Step ``sigma_i -> sigma_{i+1}`` (``h = sigma_i - sigma_{i+1} > 0``): ``x <- x + 2 h / sigma_i
    (D - x) + sqrt(2 sigma_i h) eps``. The last step to sigma = 0 returns ``D`` (the noise-free limit). NFE =
    number of steps. Needs many steps (first order in sqrt(h)).
    """
    s, f = start(denoiser, x, sigmas, cond, generator)
    n = len(s) - 1
    for i in range(n):
        s_cur, s_next = s[i], s[i + 1]
        d0 = f(x, s_cur)
        emit(callback, i, s_cur, x, d0)
        if s_next == 0:
            x = d0
            continue
        h = s_cur - s_next
        eps = randn(tuple(x.shape), generator, device=x.device, dtype=x.dtype)
        x = x + (2.0 * h / s_cur) * (d0 - x) + math.sqrt(2.0 * s_cur * h) * eps
    emit(callback, n, s[-1], x, None)
    return SampleResult(x, f.nfe)
