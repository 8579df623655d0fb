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
  and moving ``W`` along its quantile path gives the velocity ``dx/dt = (1 - κ)(x - y) / t`` with
  ``κ(W, t) = m sqrt(W) M((mW + t) / sqrt(W))``, ``M(b) = sqrt(π/2) erfcx(b / sqrt 2)`` (Mills' ratio).
  Exact for the normalised marginals.
* ``"naive"``: follow the GenPhys field lines ``dx/dt = (x - E[y | x]) / t`` (``κ = 0``) and ignore ``R``.
  Biased: particles that the forward process would have killed are transported anyway (two points weighted
  0.8 / 0.2: the heavier one receives nearly all samples). Kept to show the effect.

**The frame samplers see.** ``t`` is not a per-coordinate scale, and in it the flow is far from EDM's straight
lines (``x - y ∝ sqrt(t)`` in the Gaussian regime), which large sampler steps overshoot. The process therefore
works in the scale ``s`` = sqrt(mode of W),

    s² = (2t²/3) / (1 + sqrt(1 + (2mt/3)²)),   inverse  t(s) = s sqrt(3 + m² s²),

(``t/√3`` at small mt, ``sqrt(t/m)`` at large mt): ``sigma`` everywhere in gen3d (training density,
preconditioning, loss weight, sampling grid, ``sigma_min`` / ``sigma_max``) is ``s``. With
``g(s) = d ln t / d ln s = (3 + 2m²s²) / (3 + m²s²)`` the flow becomes EDM's ODE ``dx/ds = (x - D(x; s)) / s``
with the regression target

    ỹ = y + κ_s (x - y),   κ_s = 1 - g(s) (1 - κ(W, t(s)))

(``κ = 0`` for the naive flow). ``κ_s`` vanishes in both limits (``g → 2, κ → ½`` in the Gaussian regime,
``g → 1, κ → 0`` in the PFGM regime) and stays small in between, so the target is close to EDM's ``y``,
EDM's preconditioning and weight at ``s`` give the network a unit-scale target at every noise level, and an
Euler step with the exact field is exact in both limits, as in EDM.

``m`` is given directly or through ``D_eff`` at the pivot scale ``s_pivot`` (default ``sigma_data``):
``D_eff = 2 m t(s_pivot) + 4`` is solved exactly for ``m``.

**Prior.** :meth:`prior` is the base class's kernel around 0 at ``sigma_max``: ``sqrt(W) ε`` with
``W ~ IG(t_max / m, t_max²)``, ``t_max = t(sigma_max)``. Its log-density (:meth:`prior_log_density`, the
PF-ODE likelihood's first term) is the normalised kernel's closed form, :func:`yukawa_log_kernel`.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from gen3d.processes.base import flat_square_norm
from gen3d.processes.edm import EDMProcess
from gen3d.random import GeneratorLike, rand, randn
from gen3d.tensors import check_positive, expand_sigma

__all__ = [
    "TARGETS",
    "YukawaProcess",
    "mass_from_d_eff",
    "sample_mixing",
    "yukawa_kappa",
    "yukawa_log_kernel",
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


def yukawa_log_kernel(r2: torch.Tensor, n: int, t: float, m: float) -> torch.Tensor:
    """``ln q_t(x | y)`` (B,) float64 of the normalised kernel in ``n`` dimensions at ``|x - y|² = r2`` (B,).

    With ``ρ = sqrt(r2 + t²)`` and ``ν = (n + 1)/2`` (shared/physics note §2-3; the density of
    ``sqrt(W) ε``, ``W ~ IG(t/m, t²)``, a normal–inverse-Gaussian law with α = m, δ = t):

        m > 0:  ln q_t = ln 2t - ν ln 2π + ν ln m - ν ln ρ + ln K_ν(mρ) + m t
        m = 0:  ln q_t = ln Γ(ν) - ν ln π + ln t - 2ν ln ρ      (PFGM: W Lévy, multivariate t, 1 d.o.f.)

    ``ln K_ν`` is :func:`gen3d.analytic.bessel.log_kv` (SciPy below order 60, Debye's expansion above: orders
    in the thousands for real shapes), evaluated in NumPy float64 (so not differentiable for m > 0).
    """
    t, m = float(t), float(m)
    r2 = r2.to(torch.float64)
    rho = torch.sqrt(r2 + t * t)
    nu = (n + 1) / 2.0
    if m == 0:
        return math.lgamma(nu) - nu * math.log(math.pi) + math.log(t) - 2.0 * nu * torch.log(rho)
    from gen3d.analytic.bessel import log_kv

    log_k = torch.as_tensor(log_kv(nu, m * rho.detach().cpu().numpy()), dtype=torch.float64, device=r2.device)
    head = math.log(2.0 * t) - nu * math.log(2.0 * math.pi) + nu * math.log(m) + m * t
    return head - nu * torch.log(rho) + log_k


class YukawaProcess(EDMProcess):
    """Yukawa process in the scale frame ``s`` (see the module docstring); EDM's training density, loss weight
    and preconditioning at ``s``.

    Args:
        m: screening mass (inverse length, ``>= 0``; ``0`` is PFGM). Exactly one of ``m`` / ``D_eff``.
        D_eff: effective PFGM++ dimension at ``s_pivot`` (default 128 when neither is given).
        s_pivot: scale at which ``D_eff`` is matched (default ``sigma_data``).
        target: ``"conservative"`` (exact) or ``"naive"`` (ignores the death term; biased).
        sigma_data, sigma_min, sigma_max, P_mean, P_std: EDM's, in the scale ``s``.
    """

    name = "yukawa"

    def __init__(
        self,
        m: float | None = None,
        D_eff: float | None = None,
        s_pivot: float | None = None,
        target: str = "conservative",
        sigma_data: float = 0.5,
        sigma_min: float = 0.002,
        sigma_max: float = 80.0,
        P_mean: float = -1.2,
        P_std: float = 1.2,
    ) -> None:
        if m is not None and D_eff is not None:
            raise ValueError("give m (screening mass) or D_eff (effective dimension at s_pivot), not both")
        if target not in TARGETS:
            raise ValueError(f"target must be one of {TARGETS}, got {target!r}")
        super().__init__(
            sigma_data=sigma_data, sigma_min=sigma_min, sigma_max=sigma_max, P_mean=P_mean, P_std=P_std
        )
        self.s_pivot = None if s_pivot is None else check_positive("s_pivot", s_pivot)
        if m is None:
            self.D_eff = 128.0 if D_eff is None else float(D_eff)
            self.m = mass_from_d_eff(self.D_eff, self.s_pivot or self.sigma_data)
        else:
            self.D_eff = None
            self.m = check_positive("m", m, allow_zero=True)
        self.target = target

    # -- the augmented coordinate t and the scale s (= sigma) ----------------------------------------------
    def scale(self, t: torch.Tensor) -> torch.Tensor:
        """``s(t)`` (B,) -> (B,), computed in float64 and returned in ``t``'s dtype."""
        return yukawa_scale(t.to(torch.float64), self.m).to(t.dtype)

    def time(self, s: torch.Tensor) -> torch.Tensor:
        """``t(s)`` (B,) -> (B,)."""
        return yukawa_time(s.to(torch.float64), self.m).to(s.dtype)

    def log_slope(self, s: torch.Tensor) -> torch.Tensor:
        """``g(s) = d ln t / d ln s = (3 + 2 m² s²) / (3 + m² s²)``, between 1 and 2."""
        a = (self.m * s) ** 2
        return (3.0 + 2.0 * a) / (3.0 + a)

    # -- kernel and target -----------------------------------------------------------------------------------
    def noise_and_mixing(
        self,
        shape: tuple[int, ...],
        sigma: torch.Tensor,
        generator: GeneratorLike = None,
        device=None,
        dtype=None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """A kernel draw ``x - y = sqrt(W) ε`` (shape) at scale ``sigma`` (B,) and its ``W`` (B,) float64."""
        dtype = dtype or torch.get_default_dtype()
        t = self.time(sigma.to(device=device, dtype=torch.float64))
        w = sample_mixing(t, self.m, generator)
        eps = randn(shape, generator, device=device, dtype=dtype)
        return expand_sigma(torch.sqrt(w).to(dtype), eps) * eps, w

    def noise(self, shape, sigma, generator: GeneratorLike = None, device=None, dtype=None) -> torch.Tensor:
        return self.noise_and_mixing(shape, sigma, generator, device=device, dtype=dtype)[0]

    def target_share(self, w: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        """``κ_s = 1 - g(s)(1 - κ(W, t(s)))`` (B,) float64 (``κ = 0`` for the naive target)."""
        s = sigma.to(torch.float64)
        if self.target == "naive":
            kappa = torch.zeros_like(s)
        else:  # κ = 0 for m = 0 too (PFGM)
            kappa = yukawa_kappa(w.to(torch.float64), self.time(s), self.m)
        return 1.0 - self.log_slope(s) * (1.0 - kappa)

    def perturb_with_target(
        self, x0: torch.Tensor, sigma: torch.Tensor, generator: GeneratorLike = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(x, ỹ)``: ``x = y + sqrt(W) ε`` and ``ỹ = y + κ_s (x - y)``, both (B, ...)."""
        self._check_perturb(x0, sigma, generator)
        n, w = self.noise_and_mixing(tuple(x0.shape), sigma, generator, device=x0.device, dtype=x0.dtype)
        share = self.target_share(w, sigma.to(x0.device)).to(x0.dtype)
        return x0 + n, x0 + expand_sigma(share, n) * n

    def prior_log_density(self, x: torch.Tensor) -> torch.Tensor:
        """``ln q_{t_max}(x | 0)`` (B,) float64, ``t_max = t(sigma_max)``: the exact log-density of the law
        :meth:`prior` draws (``sqrt(W) ε``, ``W ~ IG(t_max / m, t_max²)``); x (B, ...)."""
        r2, n = flat_square_norm(x)
        s_max = torch.tensor([self.sigma_max], dtype=torch.float64)
        return yukawa_log_kernel(r2, n, float(self.time(s_max)[0]), self.m)

    def _kwargs(self) -> dict[str, Any]:
        kw: dict[str, Any] = {"m": self.m} if self.D_eff is None else {"D_eff": self.D_eff}
        return {**kw, "s_pivot": self.s_pivot, "target": self.target, **super()._kwargs()}
