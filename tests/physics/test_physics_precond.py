"""EDM preconditioning: coefficients (EDM Table 1), any tensor rank, and the loss normalisation it implies."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from gen3d.precond import EDMPrecond
from gen3d.processes import get_process


class Recorder(nn.Module):
    """Backbone returning a fixed function of its input, remembering what it saw."""

    def forward(self, x_in, c_noise, cond=None):
        self.seen = (x_in.clone(), c_noise.clone(), cond)
        return torch.sin(x_in) + 0.1 * c_noise.reshape(-1, *([1] * (x_in.ndim - 1)))


def test_precond_formula_any_rank(sample_shape):
    sd = 0.5
    den = EDMPrecond(Recorder(), sigma_data=sd)
    x = torch.randn((3, *sample_shape), dtype=torch.float64)
    sigma = torch.tensor([0.01, 1.0, 50.0], dtype=torch.float64)
    out = den(x, sigma, cond="c")
    xn, sn = x.numpy().reshape(3, -1), sigma.numpy()
    for b in range(3):
        s = sn[b]
        c_skip = sd**2 / (s**2 + sd**2)
        c_out = s * sd / math.sqrt(s**2 + sd**2)
        c_in = 1 / math.sqrt(s**2 + sd**2)
        c_noise = math.log(s) / 4
        f = np.sin(c_in * xn[b]) + 0.1 * c_noise
        np.testing.assert_allclose(out.numpy().reshape(3, -1)[b], c_skip * xn[b] + c_out * f, rtol=1e-12)
        np.testing.assert_allclose(den.backbone.seen[0].numpy().reshape(3, -1)[b], c_in * xn[b], rtol=1e-12)
        assert den.backbone.seen[1][b].item() == pytest.approx(c_noise)
    assert den.backbone.seen[2] == "c"


def test_precond_zero_backbone_is_exact_for_gaussian_data_and_loss_is_one():
    """For y ~ N(0, sigma_d^2 I) the ideal denoiser is c_skip x, i.e. F = 0; EDM's lambda makes its loss 1."""

    class Zero(nn.Module):
        def forward(self, x_in, c_noise, cond=None):
            return torch.zeros_like(x_in)

    sd = 0.5
    proc = get_process("edm", sigma_data=sd)
    den = EDMPrecond(Zero(), sigma_data=sd)
    m = 4000
    x0 = sd * torch.randn(m, 16, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    loss = proc.loss(den, x0, generator=torch.Generator().manual_seed(1))
    # E[loss] = lambda(s) * sigma^2 sigma_d^2 / (sigma^2 + sigma_d^2) = 1; per-sample loss ~ chi2_48 / 48
    assert loss.mean().item() == pytest.approx(1.0, abs=5 * math.sqrt(2 / 48 / m))


def test_precond_validation():
    den = EDMPrecond(Recorder(), sigma_data=0.5)
    x = torch.randn(2, 4, 3)
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        den(x, torch.ones(3))
    with pytest.raises(ValueError, match="positive"):
        den(x, torch.tensor([1.0, -1.0]))
    assert den(x, 0.7).shape == x.shape  # a scalar sigma is broadcast over the batch
    with pytest.raises(ValueError, match="sigma_data"):
        EDMPrecond(Recorder(), sigma_data=0.0)

    class Bad(nn.Module):
        def forward(self, x_in, c_noise, cond=None):
            return x_in[:, :1]

    with pytest.raises(ValueError, match="backbone returned"):
        EDMPrecond(Bad())(x, torch.ones(2))


def test_precond_gradients_flow():
    lin = nn.Linear(3, 3)
    den = EDMPrecond(_PointwiseLinear(lin))
    x = torch.randn(2, 5, 3)
    den(x, torch.tensor([0.5, 2.0])).square().sum().backward()
    assert lin.weight.grad is not None and torch.isfinite(lin.weight.grad).all()


class _PointwiseLinear(nn.Module):
    def __init__(self, lin):
        super().__init__()
        self.lin = lin

    def forward(self, x_in, c_noise, cond=None):
        return self.lin(x_in)


def test_precond_half_precision_input_uses_float32_coefficients():
    den = EDMPrecond(Recorder(), sigma_data=0.5)
    x = torch.randn(2, 4, 3).to(torch.bfloat16)
    out = den(x, torch.tensor([0.003, 40.0], dtype=torch.bfloat16))
    assert out.dtype == torch.float32
    assert den.backbone.seen[1].dtype == torch.float32
