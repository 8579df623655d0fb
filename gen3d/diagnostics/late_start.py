"""Using sigma_S: a Gaussian late start (note §5, after Raya & Ambrogioni 2023).

Above the speciation sigma the denoiser is close to the best Gaussian one, so the sampler may skip the
top of its grid and start at ``sigma_start`` (about 2 sigma_S) from the Gaussian that matches the data's
first two moments, noised to ``sigma_start``. For point clouds whose points are exchangeable the
permutation-symmetrised covariance is ``I ⊗ (C1 - C2) + J ⊗ C2`` (note §5): ``C1`` the per-point
covariance, ``C2`` the covariance between two different points of one shape (≈ that of the shape centroids).
A draw is ``x_a = mu + g + e_a`` with ``g ~ N(0, C2)`` shared by the shape and ``e_a ~ N(0, C1 - C2)`` per
point, plus ``sigma_start`` noise. Whether it helps is measured, not assumed (``benchmarks/bench_diagnose.py
--late-start``).
"""

from __future__ import annotations

import torch

from gen3d.random import GeneratorLike, randn

__all__ = ["PointGaussian", "late_start_grid"]


def _psd_sqrt(C: torch.Tensor) -> torch.Tensor:
    w, V = torch.linalg.eigh(C)
    return V @ torch.diag(w.clamp_min(0.0).sqrt()) @ V.T


class PointGaussian:
    """Moments of point clouds train (S, N, 3): ``mu (3,)``, ``C1``, ``C2`` (3, 3), float64."""

    def __init__(self, train: torch.Tensor) -> None:
        if train.ndim != 3 or train.shape[-1] != 3:
            raise ValueError(f"PointGaussian needs point clouds (S, N, 3), got {tuple(train.shape)}")
        y = train.double()
        self.mu = y.reshape(-1, 3).mean(0)
        z = y - self.mu
        self.C1 = torch.einsum("snj,snk->jk", z, z) / (z.shape[0] * z.shape[1])
        c = z.mean(1)  # centroids (S, 3)
        self.C2 = c.T @ c / c.shape[0] - (self.C1 - c.T @ c / c.shape[0]) / (z.shape[1] - 1)
        self.n_points = int(train.shape[1])

    def sample(
        self, n: int, sigma_start: float, generator: GeneratorLike = None, dtype=torch.float32
    ) -> torch.Tensor:
        """``n`` draws (n, N, 3) of the Gaussian noised to ``sigma_start``."""
        g = randn((n, 1, 3), generator, dtype=torch.float64) @ _psd_sqrt(self.C2).T
        e = randn((n, self.n_points, 3), generator, dtype=torch.float64) @ _psd_sqrt(self.C1 - self.C2).T
        noise = sigma_start * randn((n, self.n_points, 3), generator, dtype=torch.float64)
        return (self.mu + g + e + noise).to(dtype)


def late_start_grid(grid: torch.Tensor, sigma_start: float) -> torch.Tensor:
    """The levels of ``grid`` (decreasing, ending in 0) below ``sigma_start``, with ``sigma_start`` first."""
    below = grid[grid < sigma_start]
    return torch.cat([grid.new_tensor([float(sigma_start)]), below])
