"""Yukawa (screened-Poisson) generative process, the GenPhys family's new member (Liu et al. 2023).

Data are charges on the plane ``t = 0`` of an (n+1)-dimensional space (``t``: the augmented coordinate, as
PFGM's ``z``) under ``(Δ - m²) φ = -2 p_data δ(t)``; ``m`` is the inverse screening length. The flux through
the plane at height ``t`` is a density that loses mass as ``e^{-mt}`` (a death term ``R = -m² φ`` in
``∂_t p + ∇·(p v) = R``). Normalised, the perturbation kernel is a normal–inverse-Gaussian law
(shared/physics note, §3):

    x = y + sqrt(W) ε,   ε ~ N(0, I_n),   W ~ InverseGaussian(mean t / m, shape t²).

Its limits: ``m -> 0`` is PFGM (PFGM++ with D = 1, ``W`` Lévy), ``m -> ∞`` at fixed ``t / m = σ²`` is
diffusion; in between it behaves like PFGM++ with an effective, noise-dependent dimension
``D_eff(t) = 2 m t + 4`` (the relative variance of ``W`` is ``1 / (mt)``, PFGM++'s is ``2 / (D - 4)``).

Two treatments of the death term, ``target``:

* ``"conservative"`` (default): a flow without death with the same normalised density path. Keeping ``ε``
  and moving ``W`` along its quantile path gives the velocity ``(x - y)(1 - κ) / t`` with
  ``κ(W, t) = m sqrt(W) M((mW + t) / sqrt(W))``, ``M(b) = sqrt(π/2) erfcx(b / sqrt 2)`` (Mills' ratio), so the
  network regresses ``ỹ = y + κ (x - y)`` instead of ``y`` and the sampler ODE stays
  ``dx/dt = (x - D̃(x; t)) / t``: EDM's, with σ replaced by ``t``. Exact for the normalised marginals.
* ``"naive"``: regress ``y`` (the GenPhys field ``E[y | x]``) and ignore ``R``. Biased: particles that the
  forward process would have killed are transported anyway (with two points weighted 0.8 / 0.2 the heavier
  one receives 0.86–1.00 of the samples, depending on n and m). Kept to show the effect.

The samplers get ``t`` where other processes pass σ. Because ``t`` is not a per-coordinate standard
deviation, the preconditioning, the loss weight and the training density use the scale ``s(t)`` =
sqrt(mode of W):

    s² = (2t²/3) / (1 + sqrt(1 + (2mt/3)²)),   inverse  t = s sqrt(3 + m² s²),

(``t/√3`` at small mt, ``sqrt(t/m)`` at large mt), with EDM's formulas evaluated at ``s``:
``ln s ~ N(P_mean, P_std²)`` and EDM's ``c_skip, c_out, c_in, c_noise`` at ``s``. The conservative target
is about ``κ̄ x + (1 - κ̄) y`` with ``κ̄ = κ(s², t)`` (→ ½ at large mt), so its preconditioning routes
``κ̄ x`` through the skip path (``c_skip = κ̄ + (1 - κ̄) c_skip_EDM``, ``c_out = (1 - κ̄) c_out_EDM``) and
the loss weight is ``λ = 1 / c_out²``: the network's regression target keeps about unit variance at every
noise level, as in EDM, and ``λ c_out² = 1``. ``sigma_min`` / ``sigma_max`` are given in ``s`` (``s_min`` /
``s_max``) and stored in ``t``.

``m`` is given directly or through ``D_eff`` at the pivot scale ``s_pivot`` (default ``sigma_data``):
``D_eff = 2 m t(s_pivot) + 4`` is solved exactly for ``m``.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from gen3d.precond import edm_coefficients
from gen3d.processes.base import Process
from gen3d.random import GeneratorLike, rand, randn
from gen3d.tensors import check_positive, expand_sigma

__all__ = [
    "TARGETS",
    "YukawaProcess",
    "mass_from_d_eff",
    "sample_mixing",
    "yukawa_kappa",
    "yukawa_scale",
    "yukawa_time",
]

TARGETS = ("conservative", "naive")


def yukawa_scale(t: torch.Tensor, m: float) -> torch.Tensor:
    """``s(t) = sqrt(mode of W)`` for ``W ~ IG(t/m, t²)``, in a form without cancellation (m = 0 allowed)."""
    a = (2.0 / 3.0) * m * t
    return torch.sqrt((2.0 / 3.0) * t * t / (1.0 + torch.sqrt(1.0 + a * a)))


def yukawa_time(s: torch.Tensor, m: float) -> torch.Tensor:
    """Inverse of :func:`yukawa_scale`: ``t = s sqrt(3 + m² s²)``."""
    return s * torch.sqrt(3.0 + (m * s) ** 2)


def mass_from_d_eff(d_eff: float, s_pivot: float) -> float:
    """``m`` with ``2 m t(s_pivot) + 4 = d_eff``: ``(m s)² = (sqrt(9 + 4c²) - 3) / 2``,
    ``c = (d_eff - 4) / 2``."""
    if not d_eff > 4:
        raise ValueError(f"D_eff must be > 4 (D_eff = 2 m t + 4 with m t > 0), got {d_eff}")
    c = (d_eff - 4.0) / 2.0
    a2 = 2.0 * c * c / (3.0 + math.sqrt(9.0 + 4.0 * c * c))  # = (sqrt(9 + 4c²) - 3) / 2, no cancellation
    return math.sqrt(a2) / s_pivot


def sample_mixing(t: torch.Tensor, m: float, generator: GeneratorLike = None) -> torch.Tensor:
    """``W ~ InverseGaussian(mean t/m, shape t²)`` per sample, ``t`` (B,) -> (B,) float64.

    Michael–Schucany–Haas, rearranged so that no difference of large numbers is formed (exact for m = 0,
    where W = t² / Y is Lévy): ``Y = ε₀²``, ``W₁ = 2t² / (2mt + Y + sqrt(Y (4mt + Y)))``; keep ``W₁`` with
    probability ``1 / (1 + m W₁ / t)``, else take ``t² / (m² W₁)``.
    """
    t = t.to(torch.float64)
    b = t.shape[0]
    y = randn((b,), generator, device=t.device, dtype=torch.float64) ** 2
    u = rand((b,), generator, device=t.device, dtype=torch.float64)
    mt = m * t
    w1 = 2.0 * t * t / (2.0 * mt + y + torch.sqrt(y * (4.0 * mt + y)))
    if m == 0:
        return w1
    keep = u * (1.0 + m * w1 / t) <= 1.0
    return torch.where(keep, w1, t * t / (m * m * w1))


def yukawa_kappa(w: torch.Tensor, t: torch.Tensor, m: float) -> torch.Tensor:
    """``κ(W, t) = m sqrt(W) M((mW + t) / sqrt(W))`` with Mills' ratio ``M(b) = sqrt(π/2) erfcx(b/√2)``.

    ``κ ∈ (0, mW / (mW + t))``: 0 for m = 0 (PFGM), ½ in the Gaussian regime. ``w``, ``t``: broadcastable.
    """
    sw = torch.sqrt(w)
    b = (m * w + t) / sw
    return m * sw * math.sqrt(math.pi / 2.0) * torch.special.erfcx(b / math.sqrt(2.0))


class YukawaProcess(Process):
    """Yukawa process in the EDM frame with ``t`` as the noise coordinate (see the module docstring).

    Args:
        m: screening mass (inverse length, ``>= 0``; ``0`` is PFGM). Exactly one of ``m`` / ``D_eff``.
        D_eff: effective PFGM++ dimension at ``s_pivot`` (default 128 when neither is given).
        s_pivot: scale at which ``D_eff`` is matched (default ``sigma_data``).
        target: ``"conservative"`` (exact) or ``"naive"`` (ignores the death term; biased).
        sigma_data, P_mean, P_std: EDM's, in the scale ``s``.
        s_min, s_max: the noise range in ``s``; ``sigma_min`` / ``sigma_max`` are their ``t``.
    """

    name = "yukawa"

    def __init__(
        self,
        m: float | None = None,
        D_eff: float | None = None,
        s_pivot: float | None = None,
        target: str = "conservative",
        sigma_data: float = 0.5,
        s_min: float = 0.002,
        s_max: float = 80.0,
        P_mean: float = -1.2,
        P_std: float = 1.2,
    ) -> None:
        if m is not None and D_eff is not None:
            raise ValueError("give m (screening mass) or D_eff (effective dimension at s_pivot), not both")
        if target not in TARGETS:
            raise ValueError(f"target must be one of {TARGETS}, got {target!r}")
        sigma_data = check_positive("sigma_data", sigma_data)
        self.s_pivot = None if s_pivot is None else check_positive("s_pivot", s_pivot)
        if m is None:
            self.D_eff = 128.0 if D_eff is None else float(D_eff)
            self.m = mass_from_d_eff(self.D_eff, self.s_pivot or sigma_data)
        else:
            self.D_eff = None
            self.m = check_positive("m", m, allow_zero=True)
        self.target = target
        self.s_min = check_positive("s_min", s_min)
        self.s_max = check_positive("s_max", s_max)
        self.P_mean = float(P_mean)
        self.P_std = check_positive("P_std", P_std)
        t = yukawa_time(torch.tensor([self.s_min, self.s_max], dtype=torch.float64), self.m)
        super().__init__(float(t[0]), float(t[1]), sigma_data)

    # -- the noise coordinate t and its scale s ------------------------------------------------------------
    def scale(self, t: torch.Tensor) -> torch.Tensor:
        """``s(t)`` (B,) -> (B,), computed in float64 and returned in ``t``'s dtype."""
        return yukawa_scale(t.to(torch.float64), self.m).to(t.dtype)

    def time(self, s: torch.Tensor) -> torch.Tensor:
        """``t(s)`` (B,) -> (B,)."""
        return yukawa_time(s.to(torch.float64), self.m).to(s.dtype)

    def schedule_range(self) -> tuple[float, float]:
        """Sampling grids are spaced in ``s`` (EDM's spacing at the preconditioning scale)..."""
        return self.s_min, self.s_max

    def schedule_to_sigma(self, grid: torch.Tensor) -> torch.Tensor:
        """... and mapped to ``t`` (``t(0) = 0`` keeps the final level)."""
        return yukawa_time(grid.to(torch.float64), self.m).to(grid.dtype)

    def sample_sigma(self, batch: int, generator: GeneratorLike = None, device=None) -> torch.Tensor:
        """Training ``t`` (B,) float32: ``ln s ~ N(P_mean, P_std²)`` mapped through ``t(s)``."""
        self._check_batch(batch)
        z = randn((batch,), generator, device=device, dtype=torch.float64)
        return yukawa_time(torch.exp(self.P_mean + self.P_std * z), self.m).to(torch.float32)

    def target_mix(self, sigma: torch.Tensor) -> torch.Tensor:
        """``κ̄(t) = κ(s(t)², t)``, the conservative target's typical share of ``x`` (0 for the naive target).

        ``ỹ = y + κ (x - y) ≈ κ̄ x + (1 - κ̄) y``, so the preconditioning hands ``κ̄ x`` to the skip path:
        without it the network would have to output ``≈ x / 2`` through ``c_out`` at high noise (κ̄ → ½ in
        the Gaussian regime), a target ~(s / σ_d)² times larger than at the data scale.
        """
        if self.target == "naive" or self.m == 0:
            return torch.zeros_like(sigma)
        t = sigma.to(torch.float64)
        s = yukawa_scale(t, self.m)
        return yukawa_kappa(s * s, t, self.m).to(sigma.dtype)

    def loss_weight(self, sigma: torch.Tensor) -> torch.Tensor:
        """``λ = 1 / c_out²`` (EDM's weight at ``s``, divided by ``(1 - κ̄)²``): ``λ c_out² = 1``."""
        s = self.scale(sigma)
        sd2 = self.sigma_data**2
        return (s**2 + sd2) / (s**2 * sd2) / (1.0 - self.target_mix(sigma)) ** 2

    def preconditioning(self, sigma: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """EDM's coefficients at ``s(t)`` (``sigma`` is ``t``), with the target's share ``κ̄`` of ``x`` in
        the skip path: ``c_skip = κ̄ + (1 - κ̄) c_skip_EDM``, ``c_out = (1 - κ̄) c_out_EDM``."""
        c_skip, c_out, c_in, c_noise = edm_coefficients(self.scale(sigma), self.sigma_data)
        k = self.target_mix(sigma)
        return k + (1.0 - k) * c_skip, (1.0 - k) * c_out, c_in, c_noise

    # -- kernel, target, prior -----------------------------------------------------------------------------
    def noise_and_mixing(
        self,
        shape: tuple[int, ...],
        sigma: torch.Tensor,
        generator: GeneratorLike = None,
        device=None,
        dtype=None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """A kernel draw ``x - y = sqrt(W) ε`` (shape) and its mixing variable ``W`` (B,) float64."""
        dtype = dtype or torch.get_default_dtype()
        t = sigma.to(device=device, dtype=torch.float64)
        w = sample_mixing(t, self.m, generator)
        eps = randn(shape, generator, device=device, dtype=dtype)
        return expand_sigma(torch.sqrt(w).to(dtype), eps) * eps, w

    def noise(self, shape, sigma, generator: GeneratorLike = None, device=None, dtype=None) -> torch.Tensor:
        return self.noise_and_mixing(shape, sigma, generator, device=device, dtype=dtype)[0]

    def perturb_with_target(
        self, x0: torch.Tensor, sigma: torch.Tensor, generator: GeneratorLike = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(x, target)``: ``x = y + sqrt(W) ε`` and ``ỹ = y + κ(W, t)(x - y)`` (conservative) or ``y``."""
        self._check_perturb(x0, sigma, generator)
        n, w = self.noise_and_mixing(tuple(x0.shape), sigma, generator, device=x0.device, dtype=x0.dtype)
        x = x0 + n
        if self.target == "naive" or self.m == 0:
            return x, x0
        kappa = yukawa_kappa(w, sigma.to(torch.float64), self.m).to(x0.dtype)
        return x, x0 + expand_sigma(kappa, n) * n

    def _kwargs(self) -> dict[str, Any]:
        kw: dict[str, Any] = {"m": self.m} if self.D_eff is None else {"D_eff": self.D_eff}
        return {
            **kw,
            "s_pivot": self.s_pivot,
            "target": self.target,
            "sigma_data": self.sigma_data,
            "s_min": self.s_min,
            "s_max": self.s_max,
            "P_mean": self.P_mean,
            "P_std": self.P_std,
        }
