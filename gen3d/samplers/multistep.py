"""Multistep DPM-Solver++ (Lu et al. 2022) in the EDM sigma-frame: 2M (Algorithm 2) and 3M.

With ``alpha = 1`` and data prediction ``D``, the exact solution of the PF-ODE over ``lambda = -log sigma`` is
``x(s) = (s / sigma) x(sigma) + s * integral e^lambda D dlambda``; the multistep solvers approximate ``D`` on
the step by the polynomial in ``lambda`` through the current and the previous denoiser outputs (linear for
2M, quadratic for 3M: 2nd and 3rd order, one NFE per step).
"""

from __future__ import annotations

import math

import torch

from gen3d.random import GeneratorLike
from gen3d.samplers.base import Callback, SampleResult, emit, start

__all__ = ["dpmpp_2m", "dpmpp_3m"]


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


def _exp_moments(h: float) -> tuple[float, float, float]:
    """``I_n = e^-h integral_0^h tau^n e^tau dtau`` for n = 0, 1, 2 (the weights of D, D' and D''/2 over a
    step of length h in lambda), written with expm1 so that small h keeps its digits."""
    em = -math.expm1(-h)  # 1 - e^-h
    i0 = em
    i1 = h - em  # h - 1 + e^-h
    i2 = h * h - 2.0 * i1  # h^2 - 2h + 2 - 2 e^-h
    return i0, i1, i2


def dpmpp_3m(
    denoiser,
    x: torch.Tensor,
    sigmas,
    *,
    cond=None,
    generator: GeneratorLike = None,
    callback: Callback | None = None,
) -> SampleResult:
    """Multistep DPM-Solver++(3M): ``D`` is the quadratic in ``lambda`` through the last three outputs.

    With ``tau = lambda - lambda_i`` and Newton's divided differences ``f01 = (D_i - D_{i-1}) / h_1``,
    ``f12 = (D_{i-1} - D_{i-2}) / h_2``, ``f3 = (f01 - f12) / (h_1 + h_2)`` (``h_1``, ``h_2`` the previous
    steps), ``D(tau) = D_i + (f01 + f3 h_1) tau + f3 tau^2`` and the exact integral of that polynomial gives
    ``x_{i+1} = e^-h x_i + I_0 D_i + I_1 (f01 + f3 h_1) + I_2 f3`` (:func:`_exp_moments`). The first step is
    first order (DDIM), the second second order (as 2M), the step to sigma = 0 returns ``D``. NFE = steps.
    """
    s, f = start(denoiser, x, sigmas, cond, generator)
    n = len(s) - 1
    hist: list[tuple[torch.Tensor, float]] = []  # (D_{i-1}, h_1), (D_{i-2}, h_2): newest first
    for i in range(n):
        s_cur, s_next = s[i], s[i + 1]
        d0 = f(x, s_cur)
        emit(callback, i, s_cur, x, d0)
        if s_next == 0:
            x = d0
            continue
        h = math.log(s_cur / s_next)
        i0, i1, i2 = _exp_moments(h)
        x = (s_next / s_cur) * x + i0 * d0
        if len(hist) >= 1:
            d1, h1 = hist[0]
            f01 = (d0 - d1) / h1
            if len(hist) >= 2:
                d2, h2 = hist[1]
                f3 = (f01 - (d1 - d2) / h2) / (h1 + h2)
                x = x + i1 * (f01 + h1 * f3) + i2 * f3
            else:
                x = x + i1 * f01
        hist = [(d0, h), *hist[:1]]
    emit(callback, n, s[-1], x, None)
    return SampleResult(x, f.nfe)
