"""Behaviour shared by every backbone: shapes, zero-init, equivariance, conditioning, gradients, config."""

import json

import pytest
import torch

from gen3d.nets import BACKBONES, get_backbone

POINT_NETS = ["pvcnn", "point_transformer", "pvd"]
VOXEL_NETS = ["unet3d"]
ALL_NETS = POINT_NETS + VOXEL_NETS


def build(name, num_classes=0, seed=0, **kw):
    torch.manual_seed(seed)
    return get_backbone(name, "tiny", num_classes=num_classes, **kw)


def test_every_registered_backbone_is_tested():
    assert set(BACKBONES) == set(ALL_NETS)


@pytest.mark.parametrize("name", ALL_NETS)
def test_shape_and_zero_init_output(name, gen, example_input):
    net = build(name)
    x = example_input(name, generator=gen)
    out = net(x, torch.randn(2, generator=gen))
    assert out.shape == x.shape and out.dtype == x.dtype
    assert torch.count_nonzero(out) == 0  # zero-initialised output layer: D = c_skip x at init


@pytest.mark.parametrize(
    ("name", "overrides"),
    [(n, {}) for n in POINT_NETS] + [("pvcnn", {"normalize": False, "global_feature": False})],
)
def test_point_nets_are_permutation_equivariant(name, overrides, gen, example_input, perturb_parameters):
    net = build(name, num_classes=2, **overrides)
    perturb_parameters(net)
    x = example_input(name, generator=gen)
    c = torch.randn(2, generator=gen)
    cond = torch.tensor([0, 2])
    perm = torch.randperm(x.shape[1], generator=gen)
    out = net(x, c, cond)
    out_perm = net(x[:, perm], c, cond)
    assert out.abs().max() > 1e-3  # not trivially zero
    torch.testing.assert_close(out_perm, out[:, perm], atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("name", ALL_NETS)
def test_conditioning_changes_output_and_null_class_works(name, gen, example_input, perturb_parameters):
    net = build(name, num_classes=3)
    perturb_parameters(net)
    x = example_input(name, generator=gen)
    c = torch.full((2,), 0.3)
    out_a = net(x, c, torch.tensor([0, 0]))
    out_b = net(x, c, torch.tensor([1, 1]))
    out_null = net(x, c, torch.tensor([3, 3]))
    assert (out_a - out_b).abs().max() > 1e-4
    torch.testing.assert_close(net(x, c, None), out_null)  # cond=None means the null class
    assert (net(x, torch.full((2,), -1.0), None) - out_null).abs().max() > 1e-4  # noise level matters too
    # each sample's output depends on its own label only
    mixed = net(x, c, torch.tensor([0, 1]))
    torch.testing.assert_close(mixed[0], out_a[0], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(mixed[1], out_b[1], atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("name", ALL_NETS)
def test_gradients_reach_every_parameter(name, gen, example_input, perturb_parameters):
    net = build(name, num_classes=2)
    perturb_parameters(net)
    x = example_input(name, generator=gen)
    net(x, torch.randn(2, generator=gen), torch.tensor([0, 1])).square().mean().backward()
    missing = [n for n, p in net.named_parameters() if p.grad is None or not torch.any(p.grad != 0)]
    assert missing == []


@pytest.mark.parametrize("name", ALL_NETS)
def test_deterministic_given_seed_and_config_roundtrip(name, gen, example_input, perturb_parameters):
    a, b = build(name, seed=3), build(name, seed=3)
    for pa, pb in zip(a.state_dict().values(), b.state_dict().values(), strict=True):
        torch.testing.assert_close(pa, pb, rtol=0, atol=0)
    cfg = json.loads(json.dumps(a.config()))  # JSON-serialisable
    assert cfg["name"] == name
    c = get_backbone(**cfg)
    assert c.config() == a.config()
    c.load_state_dict(a.state_dict())  # identical architecture: strict load works
    perturb_parameters(a)
    c.load_state_dict(a.state_dict())
    x, t = example_input(name, generator=gen), torch.randn(2, generator=gen)
    torch.testing.assert_close(c(x, t), a(x, t), rtol=0, atol=0)


def test_config_roundtrip_keeps_overrides():
    net = get_backbone(
        "pvcnn", "tiny", num_classes=5, blocks=[[16, 4]], normalize=False, global_feature=False
    )
    again = get_backbone(**net.config())
    assert again.config() == net.config() and again.num_classes == 5 and not again.normalize
    assert again.global_proj is None


@pytest.mark.parametrize("name", ALL_NETS)
def test_bad_inputs_raise_clear_errors(name, gen, example_input):
    net = build(name, num_classes=2)
    x = example_input(name, generator=gen)
    with pytest.raises(ValueError, match="c_noise"):
        net(x, torch.zeros(3))
    with pytest.raises(ValueError, match=r"\[0, 2\]"):
        net(x, torch.zeros(2), torch.tensor([0, 5]))
    with pytest.raises(ValueError, match="expects"):
        net(x[0], torch.zeros(2))
    with pytest.raises(ValueError, match="floating"):
        net(x.long(), torch.zeros(2))
    with pytest.raises(ValueError, match="num_classes=0"):
        build(name)(x, torch.zeros(2), torch.tensor([0, 0]))


def test_point_nets_reject_wrong_coordinate_dim():
    for name in POINT_NETS:
        with pytest.raises(ValueError, match=r"\(B, N, 3\)"):
            build(name)(torch.zeros(2, 10, 2), torch.zeros(2))


def test_unet_rejects_indivisible_resolution():
    with pytest.raises(ValueError, match="divisible by 4"):
        build("unet3d")(torch.zeros(1, 1, 18, 18, 18), torch.zeros(1))
    with pytest.raises(ValueError, match="expects"):
        build("unet3d")(torch.zeros(1, 2, 16, 16, 16), torch.zeros(1))


def test_unet_resolutions_32_and_64(gen, perturb_parameters):
    net = build("unet3d")
    perturb_parameters(net)
    x32 = torch.randn(1, 1, 32, 32, 32, generator=gen)
    net(x32, torch.zeros(1)).square().mean().backward()
    with torch.no_grad():
        out = net(torch.randn(1, 1, 64, 64, 64, generator=gen), torch.zeros(1))
    assert out.shape == (1, 1, 64, 64, 64) and torch.isfinite(out).all()


@pytest.mark.parametrize("name", ALL_NETS)
def test_tiny_net_overfits_one_shape(name):
    # Denoise one fixed noisy input into its clean target; with F = 0 at init the loss starts at mean(y^2).
    g = torch.Generator().manual_seed(0)
    if name in VOXEL_NETS:
        y = (torch.rand(1, 1, 8, 8, 8, generator=g) > 0.5).float() * 2 - 1
    else:
        y = torch.randn(1, 256, 3, generator=g)
        y = y / y.norm(dim=2, keepdim=True)  # points on the unit sphere
    # Radial noise for points (the target, y = x / |x|, is a smooth function of the input); i.i.d. for grids.
    if name in VOXEL_NETS:
        x = y + 0.3 * torch.randn(y.shape, generator=g)
    else:
        x = y * (1 + 0.3 * torch.randn(1, 256, 1, generator=g))
    c = torch.tensor([0.25 * float(torch.log(torch.tensor(0.3)))])
    net = build(name)
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    losses = []
    for _ in range(30):
        loss = (net(x, c) - y).square().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] / 20, losses[::10]  # measured: 70x-150x after 30 steps


@pytest.mark.parametrize("name", ALL_NETS)
def test_runs_under_bf16_autocast(name, gen, example_input, perturb_parameters):
    net = build(name, num_classes=2)
    perturb_parameters(net)
    x, c, cond = example_input(name, generator=gen), torch.randn(2, generator=gen), torch.tensor([0, 2])
    with torch.autocast("cpu", dtype=torch.bfloat16):
        low = net(x, c, cond)
    low.float().square().mean().backward()
    ref = net(x, c, cond)
    assert torch.isfinite(low.float()).all()
    assert (low.float() - ref).abs().max() < 0.1 * ref.abs().max() + 1e-3  # bf16 has ~3 significant digits


@pytest.mark.parametrize("name", ALL_NETS)
def test_float64_input_gives_float64_output(name, gen, example_input, perturb_parameters):
    net = build(name)
    perturb_parameters(net)
    x = example_input(name, generator=gen)
    out64 = net(x.double(), torch.zeros(2, dtype=torch.float64))
    assert out64.dtype == torch.float64
    torch.testing.assert_close(out64.float(), net(x, torch.zeros(2)))
