"""Noise-level schedules: decreasing sigma grids of ``n_steps + 1`` levels ending with 0 (float64).

* ``karras``: EDM Eq. 5, ``sigma_i = (sigma_max^(1/rho) + i/(n-1) (sigma_min^(1/rho) -
sigma_max^(1/rho)))^rho``.
* ``loguniform`` (alias ``ve``): geometric spacing, uniform in ``log sigma`` (EDM Table 1, VE's
  ``sigma(t) = sqrt(t)`` with ``t_i`` geometric).
* ``vp``: EDM Table 1, VP: ``t`` uniform between ``t(sigma_max)`` and ``t(sigma_min)`` with
  ``sigma(t) = sqrt(exp(beta_d t^2 / 2 + beta_min t) - 1)``; with the VP defaults (``beta_d = 19.9``,
  ``beta_min = 0.1``, ``eps_s = 1e-3``, the VP process's) and ``sigma_min = sigma(eps_s)``, ``sigma_max =
  sigma(1)`` (the VP process's ``sigma_min``/``sigma_max``, also the defaults) this is EDM's VP grid
  ``t_i = 1 + i / (N - 1) (eps_s - 1)``.
"""

from __future__ import annotations

import math

import torch

from gen3d.tensors import VP_BETA_D, VP_BETA_MIN, VP_EPS_S, vp_sigma, vp_sigma_inv

__all__ = ["get_schedule", "SCHEDULES", "karras_schedule", "loguniform_schedule", "vp_schedule"]


def _check(n_steps: int, sigma_min: float, sigma_max: float) -> None:
    if isinstance(n_steps, bool) or not isinstance(n_steps, int) or n_steps < 1:
        raise ValueError(f"n_steps must be a positive integer, got {n_steps!r}")
    for name, v in (("sigma_min", sigma_min), ("sigma_max", sigma_max)):
        if not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
            raise ValueError(f"{name} must be a positive finite number, got {v!r}")
    if sigma_min >= sigma_max:
        raise ValueError(f"sigma_min ({sigma_min}) must be smaller than sigma_max ({sigma_max})")


def _with_zero(s: torch.Tensor) -> torch.Tensor:
    return torch.cat([s, s.new_zeros(1)])


def _ramp(n_steps: int) -> torch.Tensor:
    """i / (n - 1) for i = 0..n-1 (just [0] for n = 1: one step from sigma_max to 0)."""
    if n_steps == 1:
        return torch.zeros(1, dtype=torch.float64)
    return torch.arange(n_steps, dtype=torch.float64) / (n_steps - 1)


def karras_schedule(
    n_steps: int, sigma_min: float = 0.002, sigma_max: float = 80.0, rho: float = 7.0
) -> torch.Tensor:
    """EDM Eq. 5 schedule, shape (n_steps + 1,), last = 0."""
    _check(n_steps, sigma_min, sigma_max)
    if not math.isfinite(rho) or rho <= 0:
        raise ValueError(f"rho must be positive, got {rho}")
    a, b = sigma_max ** (1.0 / rho), sigma_min ** (1.0 / rho)
    return _with_zero((a + _ramp(n_steps) * (b - a)) ** rho)


def loguniform_schedule(n_steps: int, sigma_min: float = 0.002, sigma_max: float = 80.0) -> torch.Tensor:
    """Geometric schedule (uniform in log sigma), shape (n_steps + 1,), last = 0."""
    _check(n_steps, sigma_min, sigma_max)
    lo, hi = math.log(sigma_min), math.log(sigma_max)
    return _with_zero(torch.exp(hi + _ramp(n_steps) * (lo - hi)))


def vp_schedule(
    n_steps: int,
    sigma_min: float | None = None,
    sigma_max: float | None = None,
    beta_d: float = VP_BETA_D,
    beta_min: float = VP_BETA_MIN,
    eps_s: float = VP_EPS_S,
) -> torch.Tensor:
    """VP schedule (uniform in VP time t), shape (n_steps + 1,), last = 0.

    ``sigma_min``/``sigma_max`` default to ``sigma(eps_s)`` and ``sigma(1)``.
    """
    if not (0 < eps_s < 1) or beta_d <= 0 or beta_min < 0:
        raise ValueError("need 0 < eps_s < 1, beta_d > 0, beta_min >= 0")
    sigma_min = vp_sigma(eps_s, beta_d, beta_min) if sigma_min is None else sigma_min
    sigma_max = vp_sigma(1.0, beta_d, beta_min) if sigma_max is None else sigma_max
    _check(n_steps, sigma_min, sigma_max)
    t_hi, t_lo = vp_sigma_inv(sigma_max, beta_d, beta_min), vp_sigma_inv(sigma_min, beta_d, beta_min)
    t = t_hi + _ramp(n_steps) * (t_lo - t_hi)
    return _with_zero(vp_sigma(t, beta_d, beta_min))


SCHEDULES = {
    "karras": karras_schedule,
    "loguniform": loguniform_schedule,
    "ve": loguniform_schedule,
    "vp": vp_schedule,
}


def get_schedule(
    name: str,
    n_steps: int,
    sigma_min: float | None = None,
    sigma_max: float | None = None,
    rho: float = 7.0,
    **kwargs,
) -> torch.Tensor:
    """Schedule by name (``karras``, ``loguniform``/``ve``, ``vp``): float64 tensor (n_steps + 1,), last = 0.

    ``sigma_min``/``sigma_max`` left as None take the schedule's own defaults (0.002 and 80 for ``karras`` and
    ``loguniform``; ``sigma(eps_s)`` and ``sigma(1)`` for ``vp``). ``rho`` is used by ``karras`` only (so
    callers may pass it whatever the schedule); other keyword arguments go to the schedule function (e.g.
    ``beta_d``, ``beta_min``, ``eps_s`` for ``vp``).
    """
    if name not in SCHEDULES:
        raise ValueError(f"unknown schedule {name!r}; choose one of {sorted(SCHEDULES)}")
    if SCHEDULES[name] is karras_schedule:
        kwargs["rho"] = rho
    for key, value in (("sigma_min", sigma_min), ("sigma_max", sigma_max)):
        if value is not None:
            kwargs[key] = value
    try:
        return SCHEDULES[name](n_steps, **kwargs)
    except TypeError as e:
        raise ValueError(f"bad arguments for schedule {name!r}: {e}") from None
