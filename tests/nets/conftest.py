"""Fixtures for the nets tests: small inputs per backbone kind and a parameter perturbation helper."""

import pytest
import torch

VOXEL_NETS = ("unet3d",)


def _example_input(name: str, batch: int = 2, generator: torch.Generator | None = None) -> torch.Tensor:
    """A small input for backbone ``name``: (B, 256, 3) points or (B, 1, 16, 16, 16) grids."""
    g = generator if generator is not None else torch.Generator().manual_seed(0)
    if name in VOXEL_NETS:
        return torch.randn(batch, 1, 16, 16, 16, generator=g)
    return torch.randn(batch, 256, 3, generator=g)


def _perturb_parameters(net: torch.nn.Module, scale: float = 0.05, seed: int = 1) -> None:
    """Add noise to every parameter so zero-initialised layers (output, gates) no longer hide the rest."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(scale * torch.randn(p.shape, generator=g))


@pytest.fixture
def gen():
    return torch.Generator().manual_seed(0)


@pytest.fixture
def example_input():
    return _example_input


@pytest.fixture
def perturb_parameters():
    return _perturb_parameters
