"""Exact mid-epoch resume with the real cache-backed DataModule, and the ResumableSampler it trains with."""

import torch
from lightning.pytorch.callbacks import Callback, ModelCheckpoint

from gen3d.training.datamodules import PointCloudDataModule
from gen3d.training.resume import ResumableSampler

from .test_training_module import make_module, trainer


class RecordBatches(Callback):
    """Keeps ``(global_step, epoch, batch x)`` of every training batch."""

    def __init__(self):
        self.seen = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self.seen.append((trainer.global_step, trainer.current_epoch, batch["x"].clone()))


def datamodule(cache):
    # 6 training shapes (the tiny cache's train split), batch 4: epochs of 2 batches, the last one partial
    return PointCloudDataModule(
        cache, batch_size=4, n_points=64, augment_rotate=True, augment_scale=0.2, val_split=None, seed=5
    )


def test_real_datamodule_mid_epoch_resume_is_exact(tmp_path, tiny_cache):
    """N steps straight == N/2 steps, checkpoint mid-epoch (epoch 2, after batch 1 of 2), resume, N/2 more:
    same batches (order and per-item augmentation), weights, EMA and optimiser state."""
    n, k = 10, 5
    assert len(datamodule(tiny_cache)._set("train", True)) == 6
    straight, rec_a = make_module(num_classes=3), RecordBatches()
    t1 = trainer(tmp_path / "a", n, callbacks=[rec_a], enable_checkpointing=False)
    t1.fit(straight, datamodule=datamodule(tiny_cache))

    ck = ModelCheckpoint(dirpath=tmp_path / "ck", filename="s{step}", save_top_k=-1, every_n_train_steps=k)
    trainer(tmp_path / "b", k, callbacks=[ck]).fit(
        make_module(num_classes=3), datamodule=datamodule(tiny_cache)
    )
    resumed, rec_c = make_module(num_classes=3), RecordBatches()
    t3 = trainer(tmp_path / "c", n, callbacks=[rec_c], enable_checkpointing=False)
    t3.fit(resumed, datamodule=datamodule(tiny_cache), ckpt_path=tmp_path / "ck" / f"sstep={k}.ckpt")

    # the resumed run starts mid-epoch 2 and sees exactly the straight run's remaining batches
    assert t3.global_step == t1.global_step == n
    assert [(s, e) for s, e, _ in rec_c.seen] == [(s, e) for s, e, _ in rec_a.seen[k:]]
    assert rec_c.seen[0][:2] == (k, 2) and len(rec_c.seen[0][2]) == 2  # the partial batch
    for (_, _, xa), (_, _, xc) in zip(rec_a.seen[k:], rec_c.seen, strict=True):
        assert torch.equal(xa, xc)
    # epochs differ in order and augmentation: the test would notice an epoch counter restarted at 0
    assert not torch.equal(rec_a.seen[0][2], rec_a.seen[2][2])

    for (key, a), b in zip(straight.denoiser.state_dict().items(), resumed.denoiser.state_dict().values()):
        assert torch.equal(a, b), key
    for key, a in straight.ema.shadow.items():
        assert torch.equal(a, resumed.ema.shadow[key]), key
    sa, sb = t1.optimizers[0].state_dict(), t3.optimizers[0].state_dict()
    assert sa["state"].keys() == sb["state"].keys() and sa["state"]
    for i in sa["state"]:
        for key in ("exp_avg", "exp_avg_sq", "step"):
            assert torch.equal(sa["state"][i][key], sb["state"][i][key]), (i, key)


def test_resumable_sampler_ranks_epochs_and_skip():
    n = 11
    pairs = [list(ResumableSampler(n, seed=3, with_epoch=True, num_replicas=2, rank=r)) for r in (0, 1)]
    assert all(e == 0 for p in pairs for e, _ in p) and [len(p) for p in pairs] == [6, 6]
    idx = [[i for _, i in p] for p in pairs]
    # ranks split one permutation (padded by wrapping to 12): disjoint but for the one padded index
    assert sorted(idx[0] + idx[1][:-1]) == list(range(n)) and idx[1][-1] == idx[0][0]

    s = ResumableSampler(n, seed=3)
    s.set_epoch(4)
    e4 = list(s)
    assert sorted(e4) == list(range(n)) and e4 != list(ResumableSampler(n, seed=3))
    s.skip(5)
    assert list(s) == e4[5:]  # skip applies to the next pass only
    assert list(s) == e4
    fresh = ResumableSampler(n, seed=3, with_epoch=True)
    fresh.set_epoch(4)
    assert list(fresh) == [(4, i) for i in e4]  # order depends only on (seed, epoch)


def test_real_datamodule_splits_epochs_across_ddp_ranks(tiny_cache, monkeypatch):
    """Under DDP (here: torch.distributed faked as 2 ranks) each rank's loader holds a disjoint share of
    the epoch, and its batches are the dataset's items seeded by (seed, epoch, index)."""
    import torch.distributed as dist

    monkeypatch.setattr(dist, "is_initialized", lambda: True)
    monkeypatch.setattr(dist, "get_world_size", lambda group=None: 2)
    shares = []
    for rank in (0, 1):
        monkeypatch.setattr(dist, "get_rank", lambda group=None, r=rank: r)
        dm = datamodule(tiny_cache)
        dl = dm.train_dataloader()
        assert isinstance(dl.sampler, ResumableSampler)  # a DistributedSampler: Lightning keeps it
        dl.sampler.set_epoch(3)
        pairs = list(dl.sampler)
        assert len(dl) == 1 and {e for e, _ in pairs} == {3}  # 3 of the 6 shapes per rank: one batch
        ds = dm._set("train", True)
        want = torch.stack([ds[p]["x"] for p in pairs])
        assert torch.equal(torch.cat([b["x"] for b in dl]), want)
        shares.append({i for _, i in pairs})
    assert shares[0].isdisjoint(shares[1]) and shares[0] | shares[1] == set(range(6))
