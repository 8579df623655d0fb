"""Fixtures for the physics tests: small template mixtures on both tensor ranks (point clouds and voxel
grids)."""

from __future__ import annotations

import pytest
import torch

# Sample shapes: a point cloud of 4 points (n = 12) and a 2^3 voxel grid (n = 8).
RANKS = {"points": (4, 3), "voxels": (1, 2, 2, 2)}
WEIGHTS = (0.5, 0.3, 0.2)


def make_centres(
    sample_shape: tuple[int, ...], k: int = 3, seed: int = 0, scale: float = 1.0
) -> torch.Tensor:
    """K well-separated centres of the given sample shape, float64."""
    g = torch.Generator().manual_seed(seed)
    return scale * torch.randn((k, *sample_shape), generator=g, dtype=torch.float64)


@pytest.fixture(params=sorted(RANKS))
def rank(request) -> str:
    return request.param


@pytest.fixture
def sample_shape(rank) -> tuple[int, ...]:
    return RANKS[rank]
