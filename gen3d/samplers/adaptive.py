"""Adaptive probability-flow ODE solver: Bogacki-Shampine 3(2) with per-sample error control.

The PF-ODE is integrated in ``t = log sigma``: ``dx/dt = sigma dx/dsigma = x - D(x; e^t)``, from
``sigmas[0]`` down to the last non-zero level of the schedule (``sigmas[-2]`` when the schedule ends with 0);
a final step to sigma = 0 returns ``D`` (as EDM's last Euler step). Only these two levels of ``sigmas`` are
used.

Each sample keeps its own step size and accepts/rejects on its own error, so a sample's result does not depend
on the rest of the batch. Every iteration evaluates the denoiser once on the whole batch per stage (finished
samples are evaluated but frozen); the reported NFE counts batched calls, rejected steps included.
"""

from __future__ import annotations

import math

import torch

from gen3d.random import GeneratorLike
from gen3d.samplers.base import Callback, SampleResult, emit, start
from gen3d.tensors import expand_sigma

__all__ = ["adaptive"]


def adaptive(
    denoiser,
    x: torch.Tensor,
    sigmas,
    *,
    cond=None,
    generator: GeneratorLike = None,
    callback: Callback | None = None,
    rtol: float = 1e-3,
    atol: float = 1e-3,
    h_init: float = 0.5,
    max_iters: int = 10_000,
) -> SampleResult:
    """Bogacki-Shampine 3(2) (FSAL) on ``dx/dlog(sigma)`` with tolerance ``atol + rtol |x|`` per element.

    ``h_init``: first step length in ``log sigma``. The error norm is the RMS over a sample's elements of
    ``err / (atol + rtol max(|x|, |x_new|))``; a step is accepted when it is <= 1, and the next step is
    ``h * clip(0.9 norm^(-1/3), 0.2, 5)``. ``info``: per-sample ``accepted``/``rejected`` step counts.
    ``callback(i, sigma, x, None)`` is called after every iteration with the largest current sigma of the
    batch.
    """
    s, f = start(denoiser, x, sigmas, cond, generator)
    if not (rtol > 0 and atol > 0):
        raise ValueError(f"rtol and atol must be positive, got rtol={rtol}, atol={atol}")
    if not h_init > 0:
        raise ValueError(f"h_init must be positive, got {h_init}")
    s_end = s[-2] if s[-1] == 0 else s[-1]
    b = x.shape[0]
    t_end = math.log(s_end)
    t = torch.full((b,), math.log(s[0]), dtype=torch.float64, device=x.device)
    h = torch.full((b,), -h_init, dtype=torch.float64, device=x.device)
    accepted = torch.zeros(b, dtype=torch.long)
    rejected = torch.zeros(b, dtype=torch.long)

    def rhs(xx: torch.Tensor, tt: torch.Tensor) -> torch.Tensor:
        return xx - f(xx, torch.exp(tt))

    emit(callback, 0, s[0], x, None)
    active = t > t_end
    k1 = rhs(x, t) if bool(active.any()) else x  # (unused when no sample is active)
    it = 0
    while bool(active.any()):
        it += 1
        if it > max_iters:
            raise RuntimeError(
                f"adaptive solver did not reach sigma={s_end} in {max_iters} iterations; "
                "loosen rtol/atol or raise max_iters"
            )
        # never step past t_end; finished samples take h = 0 (evaluated, unchanged)
        h = torch.where(active, torch.maximum(h, t_end - t), torch.zeros_like(h))
        hx = expand_sigma(h, x).to(x.dtype)
        k2 = rhs(x + 0.5 * hx * k1, t + 0.5 * h)
        k3 = rhs(x + 0.75 * hx * k2, t + 0.75 * h)
        x_new = x + hx * ((2.0 / 9.0) * k1 + (1.0 / 3.0) * k2 + (4.0 / 9.0) * k3)
        k4 = rhs(x_new, t + h)
        # difference between the 3rd-order solution and the embedded 2nd-order one
        err = hx * ((-5.0 / 72.0) * k1 + (1.0 / 12.0) * k2 + (1.0 / 9.0) * k3 - 0.125 * k4)
        scale = atol + rtol * torch.maximum(x.abs(), x_new.abs())
        norm = (err / scale).square().reshape(b, -1).mean(1).sqrt().to(torch.float64)
        ok = active & (norm <= 1.0)
        okx = expand_sigma(ok, x)
        x = torch.where(okx, x_new, x)
        k1 = torch.where(okx, k4, k1)  # first-same-as-last
        t = torch.where(ok, t + h, t)
        accepted += ok.cpu().long()
        rejected += (active & ~ok).cpu().long()
        factor = (0.9 * norm.clamp_min(1e-10) ** (-1.0 / 3.0)).clamp(0.2, 5.0)
        h = h * factor
        active = t > t_end + 1e-12
        emit(callback, it, float(torch.exp(t.max())), x, None)
    if s[-1] == 0:
        x = f(x, s_end)  # final step to sigma = 0: x <- D(x; sigma_end)
        emit(callback, it + 1, 0.0, x, None)
    return SampleResult(x, f.nfe, {"accepted": accepted, "rejected": rejected, "iterations": it})
