"""Trajectory entropy production and the integral fluctuation theorem of the reverse SDE (note §3.2).

Run the reverse VE SDE in variance time ``tau = sigma^2``: ``dx = s(x, sigma) dtau' + dW`` (temperature 1,
``s = (D - x) / sigma^2`` the score, ``dtau' = -dtau``). Along each trajectory:

* heat ``Q = int 2 s ∘ dx`` (Stratonovich: the trapezoid of the scores at both ends of each step);
* system entropy change ``dS_sys = ln p_{sigma_max}(x_start) - ln p_{sigma_min}(x_end)``;
* total ``Sigma = Q + dS_sys``.

For the exact score and exact end marginals: ``<exp(-Sigma)> = 1`` (Seifert; Yu & Huang Eq. 64), ``<Sigma> =
H(p_max) - H(p_min)`` and ``<Q> = 2 [H(p_max) - H(p_min)]``. This needs ``ln p_sigma`` at both ends, which
only a toy has (:func:`gen3d.diagnostics.toys.mixture_log_density`). **It is not a calibrated test for a
trained network** (note §3.3): a learned score is not the gradient of its own marginals, so the theorem
cannot pass or fail it; the computable heuristic is ``<Q>/2`` from the model's own trajectories against
``dH`` from the information curve on data. Gaussian kernel only.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import torch

from gen3d.random import GeneratorLike, randn

__all__ = ["FluctuationSummary", "entropy_production", "fluctuation_summary"]


def entropy_production(
    denoiser,
    x_start: torch.Tensor,
    sigmas: Sequence[float],
    *,
    log_density: Callable[[torch.Tensor, float], torch.Tensor] | None = None,
    generator: GeneratorLike = None,
) -> dict[str, torch.Tensor]:
    """Euler-Maruyama on the reverse SDE from ``x_start`` (M, ...) drawn from ``p_{sigmas[0]}`` down the
    decreasing positive ``sigmas``. Returns per-trajectory ``Q`` (M,), the end states ``x_end`` and, with
    ``log_density(x, sigma) -> (M,)``, ``dS_sys`` and ``Sigma`` (M,). One NFE per step and trajectory."""
    sig = [float(s) for s in sigmas]
    if any(b >= a for a, b in zip(sig, sig[1:])) or sig[-1] <= 0:
        raise ValueError("sigmas must be positive and strictly decreasing")
    x = x_start.clone()
    M = x.shape[0]

    def score(x, s):
        with torch.no_grad():
            d = denoiser(x, torch.full((M,), s, dtype=x.dtype), None)
        return (d - x) / s**2

    Q = torch.zeros(M, dtype=torch.float64)
    sc = score(x, sig[0])
    for s, s_next in zip(sig[:-1], sig[1:]):
        dtau = s**2 - s_next**2
        x_new = x + sc * dtau + math.sqrt(dtau) * randn(tuple(x.shape), generator, dtype=x.dtype)
        sc_new = score(x_new, s_next)
        Q += (2.0 * 0.5 * (sc + sc_new) * (x_new - x)).reshape(M, -1).double().sum(1)
        x, sc = x_new, sc_new
    out = {"Q": Q, "x_end": x}
    if log_density is not None:
        dS = log_density(x_start, sig[0]) - log_density(x, sig[-1])
        out["dS_sys"] = dS
        out["Sigma"] = Q + dS
    return out


@dataclass
class FluctuationSummary:
    """``<exp(-Sigma)>`` with its standard error, ``<Sigma>``, ``<Q>``, the share of ``Sigma < 0``."""

    mean_exp_minus_sigma: float
    se_exp_minus_sigma: float
    mean_sigma: float
    mean_heat: float
    share_negative: float
    n: int

    def to_dict(self) -> dict:
        return asdict(self)


def fluctuation_summary(result: dict[str, torch.Tensor]) -> FluctuationSummary:
    """Summary of :func:`entropy_production` output (needs ``Sigma``)."""
    S = result["Sigma"].double()
    e = torch.exp(-S)
    n = S.numel()
    return FluctuationSummary(
        float(e.mean()),
        float(e.std() / math.sqrt(n)),
        float(S.mean()),
        float(result["Q"].mean()),
        float((S < 0).double().mean()),
        int(n),
    )
