"""Exact Yukawa fields for data = a mixture of Dirac templates (references for tests; float64, NumPy/SciPy).

For one datum ``y`` in n dimensions, at height ``t`` with ``ρ² = |x - y|² + t²`` and ``ν = (n + 1)/2``
(shared/physics note §2):

* density (flux through the plane at t): ``p_t(x|y) = 2 t (2π)^{-ν} m^ν ρ^{-ν} K_ν(mρ)``, mass ``e^{-mt}``;
  the normalised kernel is ``q_t = e^{mt} p_t``;
* the GenPhys field ``D_t(x) = Σ w_k y_k`` with posterior weights ``w_k ∝ π_k q_t(x|y_k)``, velocity
  ``v = (x - D_t) / t`` (``∂_t p + ∇·(p v) = R``);
* the per-particle death rate ``λ₁(ρ, t) = (mρ / t) K_{ν-1}(mρ) / K_ν(mρ)`` and
  ``λ(x, t) = Σ w_k λ₁(ρ_k, t)``, ``R = -λ p``;
* the conservative target ``D̃_t(x) = Σ w_k [y_k + E[κ(W, t) | x, k] (x - y_k)]`` where
  ``W | x, k ~ GIG(-(n+1)/2, χ = t² + |x - y_k|², ψ = m²)``; the expectation is a 1-D quadrature in log W.

Everything is in log space (``log K`` from :func:`gen3d.analytic.bessel.log_kv`), so large n and large mt do
not overflow. Arrays: ``x`` (B, n), ``t`` a float, templates (K, n).
"""

from __future__ import annotations

import math

import numpy as np

from gen3d.analytic.bessel import log_kv

__all__ = ["YukawaDiracMixture", "radial_log_density"]


def _erfcx_kappa(w: np.ndarray, t: float, m: float) -> np.ndarray:
    from scipy.special import erfcx

    sw = np.sqrt(w)
    return m * sw * math.sqrt(math.pi / 2.0) * erfcx((m * w + t) / sw / math.sqrt(2.0))


def _log_q(rho: np.ndarray, n: int, t: float, m: float) -> np.ndarray:
    """``log q_t`` at ``ρ = sqrt(|x - y|² + t²)`` in n dimensions (m > 0), the closed form above."""
    nu = (n + 1) / 2.0
    return (
        math.log(2.0 * t)
        - nu * math.log(2.0 * math.pi)
        + nu * math.log(m)
        - nu * np.log(rho)
        + log_kv(nu, m * rho)
        + m * t
    )


def radial_log_density(r: np.ndarray, n: int, t: float, m: float) -> np.ndarray:
    """``log f(r)`` of ``|x - y|`` under the normalised kernel ``q_t`` in n dimensions (float64, r > 0).

    ``f(r) = S_{n-1} r^{n-1} q_t(r)``, ``S_{n-1} = 2 π^{n/2} / Γ(n/2)``; for ``m = 0`` the PFGM law
    ``q_t ∝ t / ρ^{n+1}``.
    """
    r = np.asarray(r, dtype=np.float64)
    nu = (n + 1) / 2.0
    rho = np.sqrt(r * r + t * t)
    log_s = math.log(2.0) + (n / 2.0) * math.log(math.pi) - math.lgamma(n / 2.0)
    if m == 0:
        log_q = math.lgamma(nu) - nu * math.log(math.pi) + math.log(t) - 2.0 * nu * np.log(rho)
    else:
        log_q = _log_q(rho, n, t, m)
    return log_s + (n - 1) * np.log(r) + log_q


class YukawaDiracMixture:
    """Exact fields of the Yukawa process for data = templates ``(K, n)`` with weights ``(K,)``."""

    def __init__(self, templates, weights=None, m: float = 1.0) -> None:
        y = np.asarray(templates, dtype=np.float64)
        if y.ndim != 2 or y.shape[0] < 1:
            raise ValueError(f"templates must have shape (K, n), got {y.shape}")
        self.y = y
        self.n = y.shape[1]
        w = np.full(len(y), 1.0 / len(y)) if weights is None else np.asarray(weights, dtype=np.float64)
        self.pi = w / w.sum()
        if m <= 0:
            raise ValueError("m must be > 0 (m = 0 is PFGM: use the PFGM++ references)")
        self.m = float(m)

    def _d2(self, x: np.ndarray) -> np.ndarray:
        diff = x[:, None, :] - self.y[None, :, :]  # differences, not |x|² + |y|² - 2xy (cancellation)
        return (diff * diff).sum(-1)

    def log_q(self, x: np.ndarray, t: float) -> np.ndarray:
        """``log q_t(x | y_k)`` (B, K), the normalised kernel's log-density."""
        return _log_q(np.sqrt(self._d2(x) + t * t), self.n, t, self.m)

    def log_density(self, x: np.ndarray, t: float) -> np.ndarray:
        """``log p_t(x) = log Σ π_k p_t(x | y_k)`` (B,), the unnormalised (decaying, mass e^{-mt}) density."""
        a = np.log(self.pi)[None, :] + self.log_q(x, t)
        top = a.max(1)
        return top + np.log(np.exp(a - top[:, None]).sum(1)) - self.m * t

    def posterior(self, x: np.ndarray, t: float) -> np.ndarray:
        """Posterior weights ``w_k(x)`` (B, K)."""
        a = np.log(self.pi)[None, :] + self.log_q(x, t)
        a -= a.max(1, keepdims=True)
        e = np.exp(a)
        return e / e.sum(1, keepdims=True)

    def field(self, x: np.ndarray, t: float) -> np.ndarray:
        """GenPhys field ``D_t(x) = E[y | x]`` (B, n) (the naive target's minimiser)."""
        return self.posterior(x, t) @ self.y

    def death_rate(self, x: np.ndarray, t: float) -> np.ndarray:
        """``λ(x, t) = Σ w_k λ₁(ρ_k, t)`` (B,), with ``R = -λ p``."""
        nu = (self.n + 1) / 2.0
        rho = np.sqrt(self._d2(x) + t * t)
        z = self.m * rho
        lam1 = (z / t) * np.exp(log_kv(nu - 1.0, z) - log_kv(nu, z))
        return (self.posterior(x, t) * lam1).sum(1)

    def death_log_weights(self, times, states) -> np.ndarray:
        """Importance log-weights ``∫ λ(x(t), t) dt`` (trapezoid) of reverse trajectories (B,).

        ``times`` (S,) decreasing, all > 0; ``states`` (S, B, n): the particles at those times, e.g. along the
        naive field. Self-normalised weights ``exp(log w)`` make the naive flow exact in expectation
        (birth/death bookkeeping) but have infinite variance: their effective sample size collapses.
        """
        t = np.asarray(times, dtype=np.float64)
        if t.ndim != 1 or len(t) < 2 or np.any(t <= 0) or np.any(np.diff(t) >= 0):
            raise ValueError("times must be a decreasing 1-D array of positive levels (at least two)")
        lam = np.stack(
            [self.death_rate(np.asarray(x, dtype=np.float64), float(tt)) for x, tt in zip(states, t)]
        )
        return (0.5 * (lam[1:] + lam[:-1]) * (t[:-1] - t[1:])[:, None]).sum(0)

    def expected_kappa(self, x: np.ndarray, t: float, n_grid: int = 400) -> np.ndarray:
        """``E[κ(W, t) | x, k]`` (B, K) by quadrature in ``u = log W`` over the GIG posterior of W."""
        p = -(self.n + 1) / 2.0  # GIG index; the density of u is exp(p u - (ψ e^u + χ e^-u) / 2)
        chi = self._d2(x) + t * t
        psi = self.m**2
        c = -p + 1.0  # the mode of W: χ / (c + sqrt(c² + χψ)), c = (n + 3)/2 for the density in W
        mode = chi / (c + np.sqrt(c * c + chi * psi))
        # width of the log-density at its mode; the right tail decays at least like exp(p u)
        curv = 0.5 * (psi * mode + chi / mode)
        width = 1.0 / np.sqrt(curv)
        lo = np.log(mode) - 12.0 * width
        hi = np.log(mode) + np.maximum(12.0 * width, 45.0 / -p)
        g = np.linspace(0.0, 1.0, n_grid)
        u = lo[..., None] + (hi - lo)[..., None] * g  # (B, K, G)
        w = np.exp(u)
        logf = p * u - 0.5 * (psi * w + chi[..., None] / w)
        logf -= logf.max(-1, keepdims=True)
        f = np.exp(logf)
        kap = _erfcx_kappa(w, t, self.m)
        return np.trapezoid(f * kap, u, axis=-1) / np.trapezoid(f, u, axis=-1)

    def conservative_field(self, x: np.ndarray, t: float) -> np.ndarray:
        """``D̃_t(x)`` (B, n): the conservative target's minimiser."""
        post = self.posterior(x, t)
        ek = self.expected_kappa(x, t)
        diff = x[:, None, :] - self.y[None, :, :]
        return (post[..., None] * (self.y[None] + ek[..., None] * diff)).sum(1)

    def scale_frame_field(self, x: np.ndarray, s: float, kind: str = "conservative") -> np.ndarray:
        """The exact denoiser in the scale frame the process samples in (B, n): with ``t = t(s)`` and
        ``g(s) = d ln t / d ln s``, ``D_s(x) = x - g(s)(x - D_t(x))`` for ``D_t`` the conservative field
        (or the GenPhys field for ``kind="naive"``), so that ``dx/ds = (x - D_s) / s``."""
        a = (self.m * s) ** 2
        t = s * math.sqrt(3.0 + a)
        g = (3.0 + 2.0 * a) / (3.0 + a)
        d_t = self.conservative_field(x, t) if kind == "conservative" else self.field(x, t)
        return x - g * (x - d_t)

    def sample_kernel(self, labels: np.ndarray, t: float, rng: np.random.Generator) -> np.ndarray:
        """Exact draws of ``q_t`` around the templates ``labels`` (B,): ``y + sqrt(W) ε`` (B, n)."""
        from scipy.stats import invgauss

        mu, lam = t / self.m, t * t
        w = invgauss.rvs(mu / lam, scale=lam, size=len(labels), random_state=rng)
        return self.y[labels] + np.sqrt(w)[:, None] * rng.standard_normal((len(labels), self.n))

    def denoiser(self, kind: str = "conservative", frame: str = "t"):
        """A torch denoiser ``(x (B, n), level (B,), cond) -> (B, n)`` for running gen3d's samplers on the
        exact fields: ``frame="t"`` takes ``t`` (:meth:`conservative_field` or, ``kind="naive"``,
        :meth:`field`); ``frame="s"`` takes the process's scale ``s`` (:meth:`scale_frame_field`)."""
        import torch

        if frame == "s":

            def fn(xs, level):
                return self.scale_frame_field(xs, level, kind)

        else:
            fn = self.conservative_field if kind == "conservative" else self.field

        def call(x, sigma, cond=None):
            xs = x.detach().cpu().double().numpy()
            ts = sigma.detach().cpu().double().numpy()
            out = np.empty_like(xs)
            for tv in np.unique(ts):
                sel = ts == tv
                out[sel] = fn(xs[sel], float(tv))
            return torch.as_tensor(out, dtype=x.dtype, device=x.device)

        return call
