"""DPM-Solver++(2M) (Lu et al. 2022, Algorithm 2) in the EDM sigma-frame.

With ``alpha = 1`` and data prediction ``D``, the exact solution of the PF-ODE over ``lambda = -log sigma`` is
``x(s) = (s / sigma) x(sigma) + s * integral e^lambda D dlambda``; DPM-Solver++ approximates ``D`` by a
linear extrapolation through the current and the previous denoiser outputs (2nd order, one NFE per step).
"""

from __future__ import annotations

import math

import torch

from gen3d.random import GeneratorLike
from gen3d.samplers.base import Callback, SampleResult, emit, start

__all__ = ["dpmpp_2m"]


def dpmpp_2m(
    denoiser,
    x: torch.Tensor,
    sigmas,
    *,
    cond=None,
    generator: GeneratorLike = None,
    callback: Callback | None = None,
) -> SampleResult:
    """Multistep DPM-Solver++(2M); the first step and the step to sigma = 0 are first order. NFE = steps."""
    s, f = start(denoiser, x, sigmas, cond, generator)
    n = len(s) - 1
    d_prev, h_prev = None, None
    for i in range(n):
        s_cur, s_next = s[i], s[i + 1]
        d0 = f(x, s_cur)
        emit(callback, i, s_cur, x, d0)
        if s_next == 0:
            x = d0
            continue
        h = math.log(s_cur / s_next)  # lambda_{i+1} - lambda_i, lambda = -log sigma
        if d_prev is None or h_prev is None:
            d_hat = d0  # DPM-Solver++(1) = DDIM step
        else:
            # Alg. 2: D_hat = (1 + 1/(2 r)) D_i - 1/(2 r) D_{i-1}, r = h_{i-1} / h_i
            r = h_prev / h
            d_hat = (1.0 + 0.5 / r) * d0 - (0.5 / r) * d_prev
        # x_{i+1} = (sigma_{i+1} / sigma_i) x_i - (e^{-h} - 1) D_hat
        x = (s_next / s_cur) * x - math.expm1(-h) * d_hat
        d_prev, h_prev = d0, h
    emit(callback, n, s[-1], x, None)
    return SampleResult(x, f.nfe)
