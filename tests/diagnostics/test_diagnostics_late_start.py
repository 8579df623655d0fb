"""The Gaussian late start: moments of exchangeable point clouds and the truncated grid."""

import torch

from gen3d.diagnostics.late_start import PointGaussian, late_start_grid


def test_point_gaussian_recovers_the_symmetrised_covariance():
    # shapes: x_a = mu + g + e_a, g ~ N(0, C2) per shape, e_a ~ N(0, C1 - C2) per point (note §5)
    g = torch.Generator().manual_seed(0)
    mu = torch.tensor([0.1, -0.2, 0.3], dtype=torch.float64)
    c2 = torch.diag(torch.tensor([0.04, 0.01, 0.02], dtype=torch.float64))
    c1 = torch.diag(torch.tensor([0.3, 0.2, 0.1], dtype=torch.float64))
    shift = torch.randn(2000, 1, 3, generator=g, dtype=torch.float64) * c2.diagonal().sqrt()
    pts = torch.randn(2000, 64, 3, generator=g, dtype=torch.float64) * (c1 - c2).diagonal().sqrt()
    pg = PointGaussian(mu + shift + pts)
    assert torch.allclose(pg.mu, mu, atol=0.01)
    assert torch.allclose(pg.C1, c1, atol=0.01) and torch.allclose(pg.C2, c2, atol=0.005)
    x = pg.sample(2000, 0.5, generator=g).double()  # noised to sigma 0.5: C1 + 0.25 I per point
    z = x - x.reshape(-1, 3).mean(0)
    assert torch.allclose(
        torch.einsum("snj,snk->jk", z, z) / z[..., 0].numel(), c1 + 0.25 * torch.eye(3), atol=0.01
    )


def test_late_start_grid_keeps_the_levels_below_the_start():
    grid = torch.tensor([80.0, 10.0, 2.0, 0.5, 0.1, 0.0], dtype=torch.float64)
    assert late_start_grid(grid, 1.0).tolist() == [1.0, 0.5, 0.1, 0.0]
