"""Samplers: pure functions ``(denoiser, x_T, sigmas, *, cond, generator, callback, **opts) -> SampleResult``.

``get_schedule`` builds sigma grids; ``sample(name, ...)`` dispatches by name. Every sampler reports its
number of network evaluations (``SampleResult.nfe``) and hands each intermediate state to ``callback(i, sigma,
x, x0_hat)``. ``generator`` may be one ``torch.Generator`` or a list with one per sample (see gen3d.random).

Names: ``euler``, ``heun`` (EDM Alg. 1), ``edm_stochastic`` (EDM Alg. 2: S_churn, S_min, S_max, S_noise),
``euler_maruyama`` (reverse SDE), ``dpmpp_2m`` / ``dpmpp_3m`` (DPM-Solver++ 2M / 3M), ``adaptive``
(Bogacki-Shampine 3(2): rtol, atol; uses only ``sigmas[0]`` and the last non-zero sigma). A sampler's options
are the keyword-only parameters of its function beyond the contract's (``sampler_options(name)``, see
gen3d.samplers.options).
"""

from __future__ import annotations

from gen3d.samplers.adaptive import adaptive
from gen3d.samplers.base import SampleResult
from gen3d.samplers.multistep import dpmpp_2m, dpmpp_3m
from gen3d.samplers.ode import euler, heun
from gen3d.samplers.options import check_options, effective_options, sampler_options
from gen3d.samplers.schedules import SCHEDULES, get_schedule
from gen3d.samplers.sde import edm_stochastic, euler_maruyama

__all__ = [
    "SAMPLERS",
    "SCHEDULES",
    "SampleResult",
    "get_schedule",
    "sample",
    "euler",
    "heun",
    "edm_stochastic",
    "euler_maruyama",
    "dpmpp_2m",
    "dpmpp_3m",
    "adaptive",
    "check_options",
    "effective_options",
    "sampler_options",
]

SAMPLERS = {
    "euler": euler,
    "heun": heun,
    "edm_stochastic": edm_stochastic,
    "euler_maruyama": euler_maruyama,
    "dpmpp_2m": dpmpp_2m,
    "dpmpp_3m": dpmpp_3m,
    "adaptive": adaptive,
}


def sample(
    name: str, denoiser, x_T, sigmas, cond=None, generator=None, callback=None, **sampler_options
) -> SampleResult:
    """Run sampler ``name`` from ``x_T`` (B, ...) along ``sigmas``; returns ``SampleResult(x, nfe, info)``.

    ``sampler_options`` are checked against the sampler's signature first
    (:func:`gen3d.samplers.options.check_options`: ValueError naming the sampler's options).
    """
    opts = check_options(name, sampler_options)
    return SAMPLERS[name](denoiser, x_T, sigmas, cond=cond, generator=generator, callback=callback, **opts)
