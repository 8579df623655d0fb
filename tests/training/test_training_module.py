"""Gen3dModule: exact resume, EMA, NaN guard, label dropout, per-sigma-bucket logging."""

import lightning as L
import pytest
import torch
from lightning.pytorch.callbacks import ModelCheckpoint

from gen3d.precond import EDMPrecond
from gen3d.processes import get_process
from gen3d.training.checkpoint import AtomicCheckpointIO
from gen3d.training.ema import EMA
from gen3d.training.module import Gen3dModule, TrainingDivergedError
from gen3d.training.resume import SkipConsumedBatches

from .standins import InMemoryDataModule, TinyBackbone

OPTIM = {
    "lr": 1e-2,
    "betas": [0.9, 0.999],
    "weight_decay": 0.0,
    "warmup_steps": 3,
    "ema_decay": 0.9,
    "ema_warmup": True,
    "p_uncond": 0.2,
    "sigma_buckets": [-2.0, -1.0, 0.0, 1.0],
}


def make_module(num_classes=2, nan=False, seed=0):
    torch.manual_seed(seed)
    den = EDMPrecond(TinyBackbone(num_classes=num_classes, nan=nan), 0.5)
    return Gen3dModule(
        den,
        get_process("edm"),
        OPTIM,
        config={"experiment": {"name": "t"}},
        num_classes=num_classes,
        seed=seed,
    )


def trainer(tmp_path, max_steps, callbacks=(), **kw):
    return L.Trainer(
        max_steps=max_steps,
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        plugins=[AtomicCheckpointIO()],
        default_root_dir=tmp_path,
        gradient_clip_val=1.0,
        callbacks=[SkipConsumedBatches(), *callbacks],
        **{"enable_checkpointing": bool(callbacks), **kw},
    )


@pytest.mark.parametrize("ckpt_step", [6, 8])  # 4 steps per epoch: mid-epoch and on the epoch's last batch
def test_resume_is_exact(tmp_path, ckpt_step):
    """N steps straight == checkpoint at step k, then resume to N (weights, EMA, optimiser, step)."""
    n = 12
    straight = make_module()
    t1 = trainer(tmp_path / "a", n)
    t1.fit(straight, datamodule=InMemoryDataModule(batch_size=8))

    ck = ModelCheckpoint(
        dirpath=tmp_path / "ck", filename="s{step}", save_top_k=-1, every_n_train_steps=ckpt_step
    )
    trainer(tmp_path / "b", n, callbacks=[ck]).fit(make_module(), datamodule=InMemoryDataModule(batch_size=8))
    resumed = make_module()
    t3 = trainer(tmp_path / "c", n)
    t3.fit(
        resumed,
        datamodule=InMemoryDataModule(batch_size=8),
        ckpt_path=tmp_path / "ck" / f"sstep={ckpt_step}.ckpt",
    )
    assert t3.global_step == t1.global_step == n
    for (k, a), b in zip(straight.denoiser.state_dict().items(), resumed.denoiser.state_dict().values()):
        assert torch.equal(a, b), (k, (a - b).abs().max())
    for k, a in straight.ema.shadow.items():
        torch.testing.assert_close(a, resumed.ema.shadow[k], rtol=0, atol=0, msg=k)
    sa, sb = t1.optimizers[0].state_dict(), t3.optimizers[0].state_dict()
    for i in sa["state"]:
        for key in ("exp_avg", "exp_avg_sq", "step"):
            torch.testing.assert_close(sa["state"][i][key], sb["state"][i][key], rtol=0, atol=0)
    # training did something and the EMA lags the raw weights
    assert not torch.equal(
        straight.ema.shadow["backbone.mlp.0.weight"], straight.denoiser.state_dict()["backbone.mlp.0.weight"]
    )


def test_plain_restart_without_skip_differs(tmp_path):
    """Control for the test above: without SkipConsumedBatches a mid-epoch resume re-reads the start of
    the epoch."""
    straight = make_module()
    trainer(tmp_path / "a", 12).fit(straight, datamodule=InMemoryDataModule(batch_size=8))
    ck = ModelCheckpoint(dirpath=tmp_path / "ck", filename="s{step}", save_top_k=-1, every_n_train_steps=6)
    trainer(tmp_path / "b", 6, callbacks=[ck]).fit(make_module(), datamodule=InMemoryDataModule(batch_size=8))
    resumed = make_module()
    t = L.Trainer(
        max_steps=12,
        accelerator="cpu",
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
        plugins=[AtomicCheckpointIO()],
        gradient_clip_val=1.0,
        default_root_dir=tmp_path / "c",
    )
    t.fit(resumed, datamodule=InMemoryDataModule(batch_size=8), ckpt_path=tmp_path / "ck" / "sstep=6.ckpt")
    assert not torch.equal(
        straight.denoiser.state_dict()["backbone.mlp.0.weight"],
        resumed.denoiser.state_dict()["backbone.mlp.0.weight"],
    )


def test_ema_matches_naive_recursion():
    torch.manual_seed(0)
    net = torch.nn.Linear(3, 2)
    ema = EMA(net, decay=0.9, warmup=True)
    ref = {k: v.clone() for k, v in net.state_dict().items()}
    for step in range(1, 6):
        with torch.no_grad():
            for p in net.parameters():
                p.add_(torch.randn_like(p))
        ema.update(net)
        d = min(0.9, step / (9 + step))
        ref = {k: d * ref[k] + (1 - d) * v for k, v in net.state_dict().items()}
    for k in ref:
        torch.testing.assert_close(ema.shadow[k], ref[k])
    other = torch.nn.Linear(3, 2)
    ema.copy_to(other)
    torch.testing.assert_close(other.weight, ref["weight"])


def test_nan_loss_stops_with_step(tmp_path):
    mod = make_module(nan=True)
    with pytest.raises(TrainingDivergedError, match=r"loss is NaN/inf at step 0"):
        trainer(tmp_path, 3).fit(mod, datamodule=InMemoryDataModule(batch_size=8))


def test_label_dropout_rate_and_null_label():
    mod = make_module(num_classes=3)
    mod.optim_cfg["p_uncond"] = 0.25
    labels = torch.zeros(20000, dtype=torch.long)
    cond = mod._cond({"label": labels}, torch.Generator().manual_seed(0))
    assert set(cond.unique().tolist()) == {0, 3}
    assert abs((cond == 3).float().mean().item() - 0.25) < 0.015


def test_sigma_bucket_means_match_manual():
    mod = make_module()
    sigma = torch.tensor([0.05, 0.2, 0.3, 0.9, 2.0, 30.0])  # ln: -3.0, -1.6, -1.2, -0.1, 0.69, 3.4
    loss = torch.tensor([1.0, 2.0, 4.0, 8.0, 16.0, 32.0])
    logged = {}
    mod.log = lambda name, value, **kw: logged.__setitem__(name, value)
    mod._accumulate_buckets(sigma, loss)
    assert mod.bucket_names() == ["lt-2", "-2_-1", "-1_0", "0_1", "ge1"]
    assert logged == {
        "train/loss_lnsigma_lt-2": 1.0,
        "train/loss_lnsigma_-2_-1": 3.0,
        "train/loss_lnsigma_-1_0": 8.0,
        "train/loss_lnsigma_0_1": 16.0,
        "train/loss_lnsigma_ge1": 32.0,
    }


def test_ema_denoiser_is_a_copy():
    mod = make_module()
    with torch.no_grad():
        for p in mod.denoiser.parameters():
            p.add_(1.0)
    d = mod.ema_denoiser()
    assert not d.training
    assert not torch.equal(
        d.state_dict()["backbone.emb.weight"], mod.denoiser.state_dict()["backbone.emb.weight"]
    )
    torch.testing.assert_close(d.state_dict()["backbone.emb.weight"], mod.ema.shadow["backbone.emb.weight"])
    # a copy: eval() and edits of the returned network leave the training network and the EMA alone
    assert mod.denoiser.training
    raw = {k: v.clone() for k, v in mod.denoiser.state_dict().items()}
    shadow = {k: v.clone() for k, v in mod.ema.shadow.items()}
    with torch.no_grad():
        for p in d.parameters():
            p.mul_(-2.0).add_(3.0)
    for k, v in mod.denoiser.state_dict().items():
        assert torch.equal(v, raw[k]), k
    for k, v in mod.ema.shadow.items():
        assert torch.equal(v, shadow[k]), k
    train_ptrs = {p.data_ptr() for p in mod.denoiser.parameters()}
    assert not train_ptrs & {p.data_ptr() for p in d.parameters()}


def test_micro_batches_of_one_optimiser_step_draw_different_noise(tmp_path):
    """With gradient accumulation the per-step generator must differ per micro-batch (else every micro-batch
    of a step trains on the same sigma and noise)."""
    mod = make_module()
    drawn = []
    sample_sigma = mod.process.sample_sigma

    def spy(batch, generator, device):
        drawn.append((mod.global_step, generator.initial_seed()))
        return sample_sigma(batch, generator, device)

    mod.process.sample_sigma = spy
    t = trainer(tmp_path, 2, accumulate_grad_batches=2)
    t.fit(mod, datamodule=InMemoryDataModule(batch_size=8))
    assert [step for step, _ in drawn] == [0, 0, 1, 1]  # two micro-batches per optimiser step
    assert len({seed for _, seed in drawn}) == 4, drawn
    # without accumulation the key is the one it always was: (seed, step, rank)
    assert drawn[0][1] == Gen3dModule.step_key(seed=0, step=0, rank=0)
