"""The conditional (fine-tuned, PVD-style) completion model: pairs, the masked loss, training, the checkpoint,
and gen3d complete-train / gen3d complete through the CLI."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gen3d.cli import main
from gen3d.completion.finetune import FinetuneSettings, conditional_loss, pair_batch
from gen3d.completion.inpaint import InpaintingDenoiser
from gen3d.processes import get_process


def test_pairs_put_a_subset_of_the_partial_first_and_complete_points_after():
    rng = np.random.default_rng(0)
    partials = [
        rng.standard_normal((5, 3)).astype(np.float32),
        rng.standard_normal((30, 3)).astype(np.float32),
    ]
    completes = [rng.standard_normal((40, 3)).astype(np.float32) for _ in range(2)]
    x0, mask = pair_batch(partials, completes, np.array([0, 1]), 20, 8, rng)
    assert x0.shape == (2, 20, 3) and mask.sum(1).tolist() == [5, 8]
    np.testing.assert_array_equal(x0[0, :5].numpy(), partials[0])  # all 5, in order
    for b, j in enumerate([0, 1]):
        obs, rest = x0[b][mask[b]].numpy(), x0[b][~mask[b]].numpy()
        assert all(np.isclose(partials[j], o).all(1).any() for o in obs)
        assert all(np.isclose(completes[j], r).all(1).any() for r in rest)
        assert len({tuple(r) for r in rest}) == len(rest)  # without replacement


def test_loss_counts_the_free_slots_only():
    """A denoiser that returns the target exactly in the free slots (anything in the observed ones) has zero
    loss; one that returns zeros has lambda * mean over free coordinates of target^2."""
    proc = get_process("edm")
    x0 = torch.randn(3, 10, 3)
    mask = torch.zeros(3, 10, dtype=torch.bool)
    mask[:, :4] = True

    def exact(x, sigma, cond=None):
        return torch.where(mask[..., None], torch.full_like(x, 99.0), x0)

    assert float(conditional_loss(exact, proc, x0, mask, torch.Generator().manual_seed(0))) == 0.0
    seen = {}

    def zeros(x, sigma, cond=None):
        seen["x"], seen["sigma"] = x.clone(), sigma.clone()
        return torch.zeros_like(x)

    loss = conditional_loss(zeros, proc, x0, mask, torch.Generator().manual_seed(0))
    want = (proc.loss_weight(seen["sigma"]) * x0[:, 4:].square().reshape(3, -1).mean(1)).mean()
    assert float(loss) == pytest.approx(float(want), rel=1e-5)
    assert torch.equal(seen["x"][:, :4], x0[:, :4])  # observed slots clean
    assert not torch.allclose(seen["x"][:, 4:], x0[:, 4:])  # free slots noised


def test_clean_conditioning_feeds_the_observed_points_as_they_are():
    seen = {}

    def net(x, sigma, cond=None):
        seen["x"] = x.clone()
        return x

    y = torch.ones(1, 4, 3)
    mask = torch.tensor([[True, True, False, False]])
    wrap = InpaintingDenoiser(net, get_process("edm"), y, mask, observed_noise=False)
    wrap(torch.zeros(1, 4, 3), torch.full((1,), 50.0))
    assert torch.equal(seen["x"][mask], y[mask]) and torch.equal(seen["x"][~mask], torch.zeros(2, 3))


def test_settings_are_checked():
    with pytest.raises(ValueError, match="steps"):
        FinetuneSettings(steps=0)


# the hierarchical pvd backbone needs n_points >= stride ** levels: two levels of stride 4 take the 16 points
_PVD = ["net.name=pvd", "net.sa_blocks=[[16,0.3,4],[16,0.6,4]]", "net.fp_channels=[16,16]",
        "net.voxel_resolutions=[8]"]  # fmt: skip


@pytest.mark.parametrize(
    ("process", "overrides"),
    [("edm", None), ("pfgmpp", ["process.D=64"]), ("edm", _PVD)],
    ids=["edm-pvcnn", "pfgmpp-pvcnn", "edm-pvd"],
)
def test_complete_train_then_complete_through_the_cli(
    process, overrides, tiny_ckpt, mesh_cache, tmp_path, capsys
):
    from gen3d.completion.completion_file import load_completions
    from gen3d.models import load_denoiser, read_checkpoint
    from tests.core.conftest import write_checkpoint

    if (process, overrides) != ("edm", None):
        tiny_ckpt = write_checkpoint(tmp_path / "base.ckpt", process, overrides=overrides)[0]
    out = tmp_path / "cond.ckpt"
    args = ["complete-train", str(mesh_cache), "--ckpt", str(tiny_ckpt), "--out", str(out), "--steps", "3",
            "--batch-size", "2", "--lr", "1e-3", "--observed", "6", "--seed", "1", "--split", "train",
            "--categories", "sphere,box", "--device", "cpu"]  # fmt: skip
    assert main(args) == 0
    assert "3 steps on 6 (view, shape) pairs of 2 shapes" in capsys.readouterr().out
    record = read_checkpoint(out)["gen3d"]["completion"]
    assert record["conditioning"] == "clean" and record["steps"] == 3 and record["n_observed"] == 6
    tuned, _, _ = load_denoiser(out)
    base, _, _ = load_denoiser(tiny_ckpt)
    changed = [not torch.equal(a, b) for a, b in zip(tuned.state_dict().values(), base.state_dict().values())]
    assert any(changed)
    again = tmp_path / "again.ckpt"
    assert main([*args[:5], str(again), *args[6:]]) == 0
    for a, b in zip(load_denoiser(again)[0].state_dict().values(), tuned.state_dict().values()):
        assert torch.equal(a, b)  # deterministic given the seed
    comp = tmp_path / "c.npz"
    flags = ["--split", "train", "--n", "2", "--steps", "2", "--out", str(comp), "--device", "cpu"]
    assert main(["complete", "--ckpt", str(out), str(mesh_cache), *flags]) == 0
    done = load_completions(comp)
    assert "clean" in capsys.readouterr().out and done.meta["conditioning"] == "clean"
    assert np.isfinite(done.completions).all()
    for i, k in np.ndindex(*done.observed.shape):  # the observed slots are points of the input's partial
        seen = done.completions[i, k, : done.observed[i, k]]
        assert np.isclose(seen[:, None], done.partials[i][None], atol=1e-5).all(-1).any(1).all()
    assert main([*args[:6], "--steps", "0"]) == 2
    assert main([*args[:6], "--observed", "16"]) == 2  # the 16-point model needs free slots
