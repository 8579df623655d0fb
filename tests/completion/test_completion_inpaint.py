"""Training-free completion by replacement, checked with exact mixture denoisers whose answers are known."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gen3d.analytic import DiracMixtureDenoiser
from gen3d.completion.complete import CompletionSettings, complete_in_frame, complete_raw
from gen3d.completion.inpaint import InpaintingDenoiser
from gen3d.processes import get_process

from .conftest import unit_sphere_templates


def _exact(points: np.ndarray, target: np.ndarray, tol: float = 1e-3) -> np.ndarray:
    """(K,) bool: completion k equals ``target`` (N, 3) to ``tol``."""
    return np.abs(points - target[None]).max(axis=(1, 2)) < tol


def test_wrapper_returns_the_observed_points_and_feeds_them_noised_at_sigma():
    seen = {}

    def net(x, sigma, cond=None):
        seen["x"] = x.clone()
        return torch.zeros_like(x)

    y = torch.ones(2, 5, 3)
    mask = torch.tensor([[True, True, False, False, False], [True, False, False, False, False]])
    g = [torch.Generator().manual_seed(0), torch.Generator().manual_seed(1)]
    wrap = InpaintingDenoiser(net, get_process("edm"), y, mask, generator=g)
    x = torch.full((2, 5, 3), 7.0)
    out = wrap(x, torch.full((2,), 1e-4))
    assert torch.equal(out[mask], y[mask]) and torch.equal(out[~mask], torch.zeros_like(out[~mask]))
    assert torch.equal(seen["x"][~mask], x[~mask])  # free slots: the sampler's state
    assert torch.allclose(seen["x"][mask], y[mask], atol=1e-3)  # observed: y + sigma * eps
    wrap(x, torch.full((2,), 10.0))
    assert (seen["x"][mask] - 1.0).std() > 3.0  # at sigma 10 the observed slots carry noise of that scale


@pytest.mark.parametrize(
    ("sampler", "options", "at_least"),
    [("heun", {}, 0.8), ("edm_stochastic", {"S_churn": 40.0}, 0.95)],
)
def test_half_a_template_completes_to_that_template(sampler, options, at_least):
    """Data = three templates; the first half of template 1 observed. The exact posterior puts all its mass
    on template 1, so completions must equal it (replacement commits too early in a few; measured 91% with
    Heun, 98% with churn at 18 steps, 64 seeds)."""
    t = unit_sphere_templates(3, 32)
    den = DiracMixtureDenoiser(torch.tensor(t))
    settings = CompletionSettings(32, 16, sampler=sampler, sampler_options=options, batch_size=32)
    done = complete_in_frame(den, get_process("edm"), [t[1][:16]], np.arange(32)[None], settings)
    assert done.points.shape == (1, 32, 32, 3) and (done.observed == 16).all()
    np.testing.assert_array_equal(done.points[0, :, :16], np.broadcast_to(t[1][:16], (32, 16, 3)))
    assert _exact(done.points[0], t[1]).mean() >= at_least


def test_a_symmetric_shape_seen_from_one_side_comes_back_symmetric_in_distribution():
    """Two templates share their observed half and mirror each other in the other half (x -> -x): the
    posterior is 50/50, so completions over many seeds split between them (binomial 64, p = 1/2)."""
    a = unit_sphere_templates(1, 32, seed=3)[0]
    b = a.copy()
    b[16:, 0] *= -1
    den = DiracMixtureDenoiser(torch.tensor(np.stack([a, b])))
    settings = CompletionSettings(32, 16, batch_size=64)
    done = complete_in_frame(den, get_process("edm"), [a[:16]], np.arange(64)[None], settings)
    to_a, to_b = _exact(done.points[0], a).sum(), _exact(done.points[0], b).sum()
    assert to_a + to_b == 64
    assert 20 <= to_a <= 44  # P(outside) < 0.3% for a fair split


def test_pfgmpp_kernel_replacement_completes_too():
    t = unit_sphere_templates(3, 32)
    den = DiracMixtureDenoiser(torch.tensor(t), kernel="pfgmpp", D=2048)
    done = complete_in_frame(den, get_process("pfgmpp", D=2048), [t[2][:16]], np.arange(8)[None],
                             CompletionSettings(32, 16))  # fmt: skip
    assert _exact(done.points[0], t[2]).mean() >= 0.75


def test_completion_depends_on_its_seed_only_not_on_the_batch():
    a = unit_sphere_templates(1, 32, seed=3)[0]
    b = a.copy()
    b[16:, 0] *= -1
    den = DiracMixtureDenoiser(torch.tensor(np.stack([a, b])))
    seeds = np.array([[5, 6, 7], [8, 9, 10]])
    parts = [a[:16], a[:12]]
    one = complete_in_frame(den, get_process("edm"), parts, seeds, CompletionSettings(32, 16, batch_size=1))
    six = complete_in_frame(den, get_process("edm"), parts, seeds, CompletionSettings(32, 16, batch_size=6))
    np.testing.assert_allclose(one.points, six.points, atol=1e-6)
    assert one.observed.tolist() == [[16, 16, 16], [12, 12, 12]]
    sub = complete_in_frame(den, get_process("edm"), [a], np.array([[1], [2]]).T, CompletionSettings(32, 8))
    assert not np.array_equal(sub.points[0, 0, :8], sub.points[0, 1, :8])  # each seed its own subset


def test_raw_partials_come_back_in_their_units_with_the_frames_used():
    """A template seen in other units (x 3, shifted): completions contain the raw partial exactly; ``partial``
    fits the frame to the partial (unit sphere about its bounding-box centre), ``refine`` re-fits it to the
    completions of the round before (mean shift, median scale of the K fits)."""
    from gen3d.completion.frame import fit_frame

    t = unit_sphere_templates(3, 32)
    den = DiracMixtureDenoiser(torch.tensor(t))
    raw = t[1][:16] * 3.0 + np.array([1.0, 2.0, 3.0])
    seeds, settings = np.arange(4)[None], CompletionSettings(32, 16)
    first, frames = complete_raw(den, get_process("edm"), [raw], seeds, settings, "unit_sphere", "partial")
    np.testing.assert_allclose(first.points[0, :, :16], np.broadcast_to(raw, (4, 16, 3)), atol=1e-5)
    centre = (raw.min(0) + raw.max(0)) / 2
    np.testing.assert_allclose(frames[0].shift, centre)
    np.testing.assert_allclose(frames[0].scale, np.linalg.norm(raw - centre, axis=1).max())
    fits = [fit_frame("unit_sphere", c) for c in first.points[0]]
    second, refined = complete_raw(
        den, get_process("edm"), [raw], seeds, settings, "unit_sphere", "refine", 1
    )
    np.testing.assert_allclose(refined[0].shift, np.mean([f.shift for f in fits], axis=0), rtol=1e-5)
    np.testing.assert_allclose(refined[0].scale, np.median([f.scale for f in fits], axis=0), rtol=1e-5)
    np.testing.assert_allclose(second.points[0, :, :16], np.broadcast_to(raw, (4, 16, 3)), atol=1e-5)
    given, frames = complete_raw(den, get_process("edm"), [t[0][:16]], np.arange(2)[None],
                                 CompletionSettings(32, 16), "unit_sphere", "given")  # fmt: skip
    assert frames[0].scale.tolist() == [1.0, 1.0, 1.0] and _exact(given.points[0], t[0]).any()


def test_settings_validation():
    with pytest.raises(ValueError, match="n_observed"):
        CompletionSettings(16, 17).observed_slots()
    assert CompletionSettings(2048).observed_slots() == 1024 and CompletionSettings(1).observed_slots() == 1


def test_labels_reach_the_network_per_input():
    seen = []

    def net(x, sigma, cond=None):
        seen.append(None if cond is None else cond.tolist())
        return torch.zeros_like(x)

    parts = [np.zeros((4, 3), np.float32), np.ones((4, 3), np.float32)]
    seeds = np.array([[0, 1], [2, 3]])
    complete_in_frame(net, get_process("edm"), parts, seeds, CompletionSettings(8, 4, steps=2), labels=[3, 5])
    assert seen[0] == [3, 3, 5, 5]
    seen.clear()
    complete_in_frame(net, get_process("edm"), parts, seeds, CompletionSettings(8, 4, steps=2, label=2))
    assert seen[0] == [2, 2, 2, 2]
    with pytest.raises(ValueError, match="one class per input"):
        complete_in_frame(
            net, get_process("edm"), parts, seeds, CompletionSettings(8, 4, steps=2), labels=[1]
        )
