"""generate(): per-seed determinism independent of batching, classifier-free guidance, trajectories."""

import numpy as np
import pytest
import torch

from gen3d.generate import TrajectoryRecorder, generate
from gen3d.guidance import ClassifierFreeGuidance
from gen3d.precond import EDMPrecond
from gen3d.processes import get_process

from .standins import TinyBackbone


@pytest.fixture
def denoiser():
    torch.manual_seed(0)
    return EDMPrecond(TinyBackbone(num_classes=3), 0.5).eval()


@pytest.mark.parametrize("sampler", ["heun", "euler_maruyama"])
def test_shape_depends_on_seed_only(denoiser, sampler):
    proc = get_process("edm")
    seeds = [3, 5, 7, 11, 13]
    cond = [0, 1, 2, 0, 1]
    a, nfe_a = generate(denoiser, proc, (16, 3), seeds, sampler=sampler, steps=4, cond=cond, batch_size=5)
    b, nfe_b = generate(denoiser, proc, (16, 3), seeds, sampler=sampler, steps=4, cond=cond, batch_size=2)
    order = [4, 2, 0, 3, 1]
    c, _ = generate(
        denoiser,
        proc,
        (16, 3),
        [seeds[i] for i in order],
        sampler=sampler,
        steps=4,
        cond=[cond[i] for i in order],
        batch_size=3,
    )
    assert a.shape == (5, 16, 3) and nfe_a == nfe_b > 0
    torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(a[order], c, rtol=1e-5, atol=1e-6)
    assert not torch.allclose(a[0], a[1])  # different seeds, different shapes
    d, _ = generate(denoiser, proc, (16, 3), [3], sampler=sampler, steps=4, cond=[0])
    torch.testing.assert_close(a[:1], d, rtol=1e-5, atol=1e-6)


def test_guidance_matches_two_separate_calls(denoiser):
    x = torch.randn(4, 10, 3, generator=torch.Generator().manual_seed(1))
    sigma = torch.full((4,), 0.7)
    cond = torch.tensor([0, 1, 2, 1])
    d_c = denoiser(x, sigma, cond)
    d_u = denoiser(x, sigma, torch.full_like(cond, 3))
    for w in (0.0, 1.0, 2.5):
        got = ClassifierFreeGuidance(denoiser, w, null_label=3)(x, sigma, cond)
        torch.testing.assert_close(got, d_u + w * (d_c - d_u), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(ClassifierFreeGuidance(denoiser, 1.0, 3)(x, sigma, cond), d_c)


def test_guidance_one_batched_forward(denoiser):
    calls = []
    backbone = denoiser.backbone
    orig = backbone.forward
    backbone.forward = lambda x, c, cond=None: calls.append(x.shape[0]) or orig(x, c, cond)
    ClassifierFreeGuidance(denoiser, 2.0, 3)(
        torch.zeros(4, 5, 3), torch.ones(4), torch.zeros(4, dtype=torch.long)
    )
    assert calls == [8]


def test_trajectory_recorder_is_batch_independent(denoiser):
    proc = get_process("edm")
    rec1, rec2 = TrajectoryRecorder(5, every=2), TrajectoryRecorder(5, every=2)
    generate(
        denoiser, proc, (8, 3), range(5), sampler="euler", steps=5, batch_size=5, callback=rec1, cond=[0] * 5
    )
    generate(
        denoiser, proc, (8, 3), range(5), sampler="euler", steps=5, batch_size=2, callback=rec2, cond=[0] * 5
    )
    t1, s1 = rec1.arrays()
    t2, s2 = rec2.arrays()
    assert t1.shape == (4, 5, 8, 3) and s1.shape == (4,)  # steps 0, 2, 4 and the final state (5)
    np.testing.assert_allclose(t1, t2, rtol=1e-5, atol=1e-6)
    assert s1[0] == pytest.approx(proc.sigma_max) and np.all(np.diff(s1) < 0) and s1[-1] == 0
    final, _ = generate(denoiser, proc, (8, 3), range(5), sampler="euler", steps=5, cond=[0] * 5)
    np.testing.assert_allclose(t1[-1], final.numpy(), rtol=1e-5, atol=1e-6)


def test_bad_arguments(denoiser):
    proc = get_process("edm")
    with pytest.raises(ValueError, match="cond has 1 labels for 2 seeds"):
        generate(denoiser, proc, (4, 3), [0, 1], cond=[0])
    with pytest.raises(ValueError, match="guidance needs"):
        generate(denoiser, proc, (4, 3), [0, 1], guidance=2.0)
