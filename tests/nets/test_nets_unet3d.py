"""3D U-Net specifics: the self-attention block against a naive formula, attention inside the net."""

import math

import torch

from gen3d.nets import get_backbone
from gen3d.nets.voxels.unet3d import SelfAttention3d


def test_self_attention_matches_naive_softmax(gen):
    attn = SelfAttention3d(8, heads=2)
    h = torch.randn(2, 8, 3, 3, 3, generator=gen)
    qkv = attn.qkv(attn.norm(h)).reshape(2, 3, 2, 4, 27)  # (B, qkv, heads, C/heads, L)
    q, k, v = qkv[:, 0], qkv[:, 1], qkv[:, 2]
    w = torch.softmax(torch.einsum("bhcl,bhcm->bhlm", q, k) / math.sqrt(4), dim=-1)
    mixed = torch.einsum("bhlm,bhcm->bhcl", w, v).reshape(2, 8, 3, 3, 3)
    want = h + attn.proj(mixed)
    torch.testing.assert_close(attn(h), want, atol=1e-5, rtol=1e-5)


def test_unet_with_attention_trains_every_parameter(gen, perturb_parameters):
    net = get_backbone("unet3d", "tiny", attention=True, attention_heads=2, num_classes=2)
    assert any(isinstance(m, SelfAttention3d) for m in net.modules())
    perturb_parameters(net)
    x = torch.randn(2, 1, 8, 8, 8, generator=gen)
    out = net(x, torch.zeros(2), torch.tensor([0, 1]))
    assert out.shape == x.shape
    out.square().mean().backward()
    assert all(p.grad is not None and torch.any(p.grad != 0) for p in net.parameters())


def test_space_to_depth_against_a_naive_loop_and_its_inverse(gen):
    from gen3d.nets.voxels.unet3d import depth_to_space, space_to_depth

    x = torch.randn(2, 3, 4, 6, 8, generator=gen)
    y = space_to_depth(x, 2)
    assert y.shape == (2, 3 * 8, 2, 3, 4)
    for c in range(3):  # channel c * 8 + (a * 4 + b * 2 + d) holds cell (2i + a, 2j + b, 2k + d)
        for a in range(2):
            for b in range(2):
                for d in range(2):
                    torch.testing.assert_close(y[:, c * 8 + a * 4 + b * 2 + d], x[:, c, a::2, b::2, d::2])
    torch.testing.assert_close(depth_to_space(y, 2), x)
    assert space_to_depth(x, 1) is x


def test_patchified_unet_shapes_gradients_and_refusals(gen, perturb_parameters):
    import pytest

    net = get_backbone("unet3d", None, base_channels=8, channel_mult=[1, 2], patch_size=4, attention=True)
    assert net.conv_in.in_channels == 64 and net.conv_out.out_channels == 64
    perturb_parameters(net)
    x = torch.randn(2, 1, 16, 16, 16, generator=gen)
    out = net(x, torch.zeros(2))
    assert out.shape == x.shape
    out.square().mean().backward()
    assert all(p.grad is not None and torch.any(p.grad != 0) for p in net.parameters())
    with pytest.raises(ValueError, match="divisible by 8"):
        net(torch.zeros(1, 1, 12, 12, 12), torch.zeros(1))
    with pytest.raises(ValueError, match="patch_size must be a positive integer"):
        get_backbone("unet3d", "tiny", patch_size=0)
    assert get_backbone(**net.config()).config() == net.config()
