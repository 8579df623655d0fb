"""Backbones inside the denoiser contract: EDM preconditioning, classifier-free guidance batching."""

import pytest
import torch

from gen3d.nets import get_backbone
from gen3d.precond import EDMPrecond

NETS = ["pvcnn", "point_transformer", "pvd", "unet3d"]


@pytest.mark.parametrize("name", NETS)
def test_denoiser_is_c_skip_x_at_init(name, gen, example_input):
    # Zero-initialised output layer: D(x; sigma) = c_skip x = sigma_d^2 / (sigma^2 + sigma_d^2) x exactly.
    denoiser = EDMPrecond(get_backbone(name, "tiny", num_classes=2), sigma_data=0.5)
    x = example_input(name, generator=gen)
    sigma = torch.tensor([0.1, 5.0])
    c_skip = 0.25 / (sigma**2 + 0.25)
    out = denoiser(x, sigma, torch.tensor([1, 2]))
    torch.testing.assert_close(out, c_skip.view(-1, *[1] * (x.dim() - 1)) * x)


@pytest.mark.parametrize("name", NETS)
def test_samples_in_a_batch_are_independent(name, gen, example_input, perturb_parameters):
    # Guidance runs conditional and null halves in one batch: no sample may see another.
    net = get_backbone(name, "tiny", num_classes=3)
    perturb_parameters(net)
    x = example_input(name, batch=3, generator=gen)
    c = torch.tensor([-1.0, 0.0, 1.0])
    cond = torch.tensor([0, 3, 2])
    full = net(x, c, cond)
    for i in range(3):
        one = net(x[i : i + 1], c[i : i + 1], cond[i : i + 1])
        torch.testing.assert_close(one, full[i : i + 1], atol=1e-5, rtol=1e-4)
