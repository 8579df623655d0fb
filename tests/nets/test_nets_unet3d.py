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
