"""Closed-form ideal denoisers ``E[y | x, sigma]`` for data drawn from a mixture of templates.

These are exact references: tests (and users checking a sampler) can run any sampler with them and compare the
result with the known data distribution. Posterior weights are computed in float64 with log-sum-exp.

* :class:`DiracMixtureDenoiser`: data = template ``y_k`` with probability ``pi_k``. Under a kernel ``p(x|y)``
  the posterior is ``w_k(x) ∝ pi_k p(x | y_k)`` and ``E[y|x] = sum_k w_k y_k``; exact for the Gaussian kernel
  (EDM/VP/VE) and for the PFGM++ kernel ``p_r(x|y) ∝ (||x-y||^2 + r^2)^(-(n+D)/2)``, ``r = sigma sqrt(D)``.
* :class:`GaussianMixtureDenoiser`: data = ``N(mu_k, s^2 I)`` with probability ``pi_k``, Gaussian kernel only:
  ``x | k ~ N(mu_k, (s^2 + sigma^2) I)`` and ``E[y | x, k] = mu_k + s^2 / (s^2 + sigma^2) (x - mu_k)``.
"""

from __future__ import annotations

import torch

from gen3d.processes.base import check_positive, check_sigma
from gen3d.processes.pfgmpp import resolve_D
from gen3d.random import GeneratorLike, check_generator, rand, randn

__all__ = ["DiracMixtureDenoiser", "GaussianMixtureDenoiser"]


def _check_weights(weights, k: int) -> torch.Tensor:
    if weights is None:
        return torch.full((k,), 1.0 / k, dtype=torch.float64)
    w = torch.as_tensor(weights, dtype=torch.float64).flatten()
    if w.shape != (k,):
        raise ValueError(f"weights must have shape ({k},) (one per template), got {tuple(w.shape)}")
    if not bool(torch.isfinite(w).all()) or bool((w < 0).any()) or float(w.sum()) <= 0:
        raise ValueError("weights must be finite, non-negative and not all zero")
    return w / w.sum()


def _sq_dist(x: torch.Tensor, centres: torch.Tensor) -> torch.Tensor:
    """Squared distances (B, K) between flattened samples x (B, n) and centres (K, n), float64."""
    d2 = (x * x).sum(1, keepdim=True) - 2.0 * x @ centres.T + (centres * centres).sum(1)[None, :]
    return d2.clamp_min(0.0)


class _Mixture:
    def __init__(self, centres: torch.Tensor, weights) -> None:
        centres = torch.as_tensor(centres)
        if centres.ndim < 2 or centres.shape[0] == 0 or centres[0].numel() == 0:
            raise ValueError(
                f"templates/means must have shape (K, ...) with K >= 1, got {tuple(centres.shape)}"
            )
        if not bool(torch.isfinite(centres).all()):
            raise ValueError("templates/means contain NaN or inf")
        self.sample_shape = tuple(centres.shape[1:])
        self.n = int(centres[0].numel())
        self.centres = centres.reshape(centres.shape[0], -1).to(torch.float64)
        self.weights = _check_weights(weights, centres.shape[0])

    @property
    def num_components(self) -> int:
        return self.centres.shape[0]

    def _flat(self, x: torch.Tensor, sigma: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if tuple(x.shape[1:]) != self.sample_shape:
            raise ValueError(
                f"x must have shape (B, {', '.join(map(str, self.sample_shape))}), got {tuple(x.shape)}"
            )
        check_sigma(sigma, x.shape[0])
        if self.centres.device != x.device:
            self.centres, self.weights = self.centres.to(x.device), self.weights.to(x.device)
        return x.reshape(x.shape[0], -1).to(torch.float64), sigma.to(torch.float64)

    def _labels(self, batch: int, generator: GeneratorLike) -> torch.Tensor:
        check_generator(generator, batch)
        u = rand((batch,), generator, dtype=torch.float64)
        cdf = torch.cumsum(self.weights, 0)
        return torch.searchsorted(cdf, u, right=True).clamp_max(self.num_components - 1)

    def classify(self, x: torch.Tensor) -> torch.Tensor:
        """Index (B,) of the nearest template/mean for each sample x (B, ...)."""
        xf = x.reshape(x.shape[0], -1).to(torch.float64)
        return _sq_dist(xf, self.centres).argmin(dim=1)

    def mean(self) -> torch.Tensor:
        """Data mean, shape of one sample."""
        return (self.weights[:, None] * self.centres).sum(0).reshape(self.sample_shape)


class DiracMixtureDenoiser(_Mixture):
    """Exact ``E[y | x, sigma]`` for data = templates (K, ...) with weights (K,) (uniform if None).

    ``kernel="gaussian"`` (EDM/VP/VE) or ``"pfgmpp"`` with ``D`` or ``D_per_dim`` (as the PFGM++ process).
    Call as ``denoiser(x (B, ...), sigma (B,), cond=None) -> (B, ...)`` in x's dtype.
    """

    def __init__(
        self,
        templates: torch.Tensor,
        weights=None,
        kernel: str = "gaussian",
        D: float | None = None,
        D_per_dim: float | None = None,
    ) -> None:
        super().__init__(templates, weights)
        if kernel not in ("gaussian", "pfgmpp"):
            raise ValueError(f"kernel must be 'gaussian' or 'pfgmpp', got {kernel!r}")
        self.kernel = kernel
        if kernel == "pfgmpp":
            self.D = resolve_D(self.n, D, D_per_dim)
        elif D is not None or D_per_dim is not None:
            raise ValueError("D / D_per_dim only apply to kernel='pfgmpp'")
        else:
            self.D = None

    def log_kernel(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        """``log p(x | y_k)`` up to a per-sample constant, shape (B, K)."""
        xf, s = self._flat(x, sigma)
        d2 = _sq_dist(xf, self.centres)
        if self.kernel == "gaussian":
            return -d2 / (2.0 * s[:, None] ** 2)
        # -(n + D)/2 log(d^2 + r^2) = -(n + D)/2 [log r^2 + log1p(d^2 / r^2)]; the first term is common to all
        # k.
        r2 = s[:, None] ** 2 * self.D
        return -0.5 * (self.n + self.D) * torch.log1p(d2 / r2)

    def posterior_weights(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        """``w_k(x) ∝ pi_k p(x | y_k)``, shape (B, K), rows sum to 1."""
        return torch.softmax(torch.log(self.weights)[None, :] + self.log_kernel(x, sigma), dim=1)

    def __call__(self, x: torch.Tensor, sigma: torch.Tensor, cond=None) -> torch.Tensor:
        w = self.posterior_weights(x, sigma)
        return (w @ self.centres).reshape(x.shape).to(x.dtype)

    def sample(self, batch: int, generator: GeneratorLike = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Data draws (B, ...) float32 and their template labels (B,)."""
        labels = self._labels(batch, generator)
        return self.centres[labels].reshape(batch, *self.sample_shape).float(), labels


class GaussianMixtureDenoiser(_Mixture):
    """Exact ``E[y | x, sigma]`` (Gaussian kernel) for data = mixture of ``N(mu_k, std^2 I)``, means (K,
    ...)."""

    def __init__(self, means: torch.Tensor, std: float, weights=None) -> None:
        super().__init__(means, weights)
        self.std = check_positive("std", std)

    def _weights_flat(self, xf: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        var = self.std**2 + s[:, None] ** 2
        logits = torch.log(self.weights)[None, :] - _sq_dist(xf, self.centres) / (2.0 * var)
        return torch.softmax(logits, dim=1)

    def posterior_weights(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        """``w_k ∝ pi_k N(x; mu_k, (std^2 + sigma^2) I)``, shape (B, K)."""
        return self._weights_flat(*self._flat(x, sigma))

    def __call__(self, x: torch.Tensor, sigma: torch.Tensor, cond=None) -> torch.Tensor:
        xf, s = self._flat(x, sigma)
        w = self._weights_flat(xf, s)
        shrink = (self.std**2 / (self.std**2 + s**2))[:, None]
        # sum_k w_k [mu_k + shrink (x - mu_k)] = shrink x + (1 - shrink) sum_k w_k mu_k
        out = shrink * xf + (1.0 - shrink) * (w @ self.centres)
        return out.reshape(x.shape).to(x.dtype)

    def sample(self, batch: int, generator: GeneratorLike = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Data draws (B, ...) float32 and their component labels (B,)."""
        labels = self._labels(batch, generator)
        eps = randn((batch, self.n), generator, dtype=torch.float64)
        y = self.centres[labels] + self.std * eps
        return y.reshape(batch, *self.sample_shape).float(), labels
