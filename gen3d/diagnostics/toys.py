"""Exact-denoiser toys and their closed forms (note §§1-3), the references every estimator is tested on.

* :class:`ClassConditional`: a class-conditional denoiser built from an analytic mixture whose components are
  the classes: ``cond = c`` gives ``E[y | x, c]``, ``cond = K`` (the null label) the mixture's ``E[y | x]``,
  as a CFG-trained net with an unconditional branch would (note §0 I4).
* :func:`mixture_log_density`: ``ln p_sigma(x)`` of a Gaussian-kernel mixture (Diracs: std 0).
* :func:`two_class_phi`: ``g(r) = E_z[sig(2r^2 + 2rz)^2 + sig(-2r^2 - 2rz)^2]``, phi for two balanced
  classes ``±m`` with within-class std ``s0`` at ``r^2 = |m|^2 / (s0^2 + sigma^2)`` (note §1).
* :func:`two_class_sigma_s`: ``sqrt(|m|^2 - s0^2)`` (note §1: the Hessian of ln p_sigma at 0 changes sign).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from gen3d.analytic.mixture import DiracMixtureDenoiser, GaussianMixtureDenoiser

__all__ = ["ClassConditional", "mixture_log_density", "two_class_phi", "two_class_sigma_s"]


class ClassConditional:
    """``denoiser(x (B, ...), sigma (B,), cond (B,) int64 | None) -> (B, ...)`` from a mixture whose K
    components are the classes; ``cond = K`` or None is the unconditional mixture denoiser."""

    def __init__(self, mixture: DiracMixtureDenoiser | GaussianMixtureDenoiser) -> None:
        self.mixture = mixture
        self.num_classes = mixture.num_components

    def component(self, x: torch.Tensor, sigma: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        """``E[y | x, class c]`` for each sample: a Dirac's template, a Gaussian's shrunk mean."""
        mix = self.mixture
        xf = x.reshape(x.shape[0], -1).to(torch.float64)
        mu = mix.centres.to(x.device)[c]
        if isinstance(mix, GaussianMixtureDenoiser):
            shrink = (mix.std**2 / (mix.std**2 + sigma.to(torch.float64) ** 2))[:, None]
            out = mu + shrink * (xf - mu)
        else:
            out = mu
        return out.reshape(x.shape).to(x.dtype)

    def __call__(self, x: torch.Tensor, sigma: torch.Tensor, cond=None) -> torch.Tensor:
        full = self.mixture(x, sigma)
        if cond is None:
            return full
        null = cond >= self.num_classes
        if bool(null.all()):
            return full
        out = self.component(x, sigma, cond.clamp_max(self.num_classes - 1))
        return torch.where(null.reshape(-1, *([1] * (x.ndim - 1))), full, out)


def mixture_log_density(
    mixture: DiracMixtureDenoiser | GaussianMixtureDenoiser, x: torch.Tensor, sigma: float
) -> torch.Tensor:
    """``ln p_sigma(x) = ln sum_k pi_k N(x; mu_k, (s^2 + sigma^2) I)`` (B,), float64; x (B, ...)."""
    std = mixture.std if isinstance(mixture, GaussianMixtureDenoiser) else 0.0
    if isinstance(mixture, DiracMixtureDenoiser) and mixture.kernel != "gaussian":
        raise ValueError("mixture_log_density needs the Gaussian kernel")
    var = std**2 + float(sigma) ** 2
    xf = x.reshape(x.shape[0], -1).to(torch.float64)
    mu = mixture.centres.to(xf.device)
    d2 = (xf[:, None, :] - mu[None]).square().sum(-1)
    n = xf.shape[1]
    logw = torch.log(mixture.weights.to(xf.device))[None]
    return torch.logsumexp(logw - d2 / (2 * var), dim=1) - 0.5 * n * math.log(2 * math.pi * var)


def two_class_phi(r: float | np.ndarray, order: int = 80) -> np.ndarray:
    """``g(r)`` by Gauss-Hermite quadrature (note §1); ``g(0) = 1/2``, ``g(1) = 0.7752``, ``g(inf) = 1``."""
    z, w = np.polynomial.hermite_e.hermegauss(order)
    w = w / w.sum()
    r = np.atleast_1d(np.asarray(r, dtype=np.float64))[:, None]
    a = 2 * r**2 + 2 * r * z[None]
    p = 1.0 / (1.0 + np.exp(-a))
    return ((p**2 + (1 - p) ** 2) * w[None]).sum(1)


def two_class_sigma_s(m_norm: float, s0: float = 0.0) -> float:
    """Speciation sigma of two classes ``±m`` with within-class std ``s0``: ``sqrt(|m|^2 - s0^2)``."""
    return math.sqrt(m_norm**2 - s0**2)
