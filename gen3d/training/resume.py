"""Exact mid-epoch resume: a shuffling sampler whose order depends only on (seed, epoch, rank) and which can
skip the batches a resumed run has already trained on.

Lightning restores the step, optimiser, EMA and epoch counter, but restarts a plain DataLoader at the
beginning of the interrupted epoch (so some batches are seen twice and the rest of the run differs).
DataModules that use :class:`ResumableSampler` for training, together with :class:`SkipConsumedBatches`
(added by :func:`gen3d.training.components.build_trainer`), continue with exactly the batches the
uninterrupted run would have used.
"""

from __future__ import annotations

import lightning as L
import torch
from torch.utils.data import DistributedSampler

__all__ = ["ResumableSampler", "SkipConsumedBatches"]


class ResumableSampler(DistributedSampler):
    """Shuffled indices of a dataset of ``n`` items, permuted by ``(seed, epoch)``, split across DDP ranks.

    Subclasses ``DistributedSampler`` so Lightning keeps it under DDP instead of wrapping it. The epoch is
    whatever :meth:`set_epoch` last set (Lightning calls it at the start of every epoch, including the epoch
    a checkpoint is resumed in). The rank and world size are ``rank`` / ``num_replicas`` when given, else
    read from ``torch.distributed`` when iteration starts (1 process when not initialised). Each rank gets
    ``ceil(n / world)`` indices (padded by wrapping, as ``DistributedSampler``), or ``floor`` with
    ``drop_last``; rank ``r`` takes positions ``r, r + world, ...`` of the epoch's order, so ranks are
    disjoint apart from the padding. ``skip(k)`` drops the first ``k`` indices of the next iteration only.

    With ``with_epoch`` it yields ``(epoch, index)`` pairs instead of bare indices, so a dataset can seed
    per-item randomness by the epoch too (the pair travels to DataLoader worker processes with the index).
    """

    def __init__(
        self,
        n: int,
        seed: int = 0,
        shuffle: bool = True,
        drop_last: bool = False,
        with_epoch: bool = False,
        num_replicas: int | None = None,
        rank: int | None = None,
    ):
        if num_replicas is not None and (rank is None or not 0 <= int(rank) < int(num_replicas)):
            raise ValueError(f"need 0 <= rank < num_replicas, got rank={rank}, num_replicas={num_replicas}")
        self.n = int(n)
        self.seed = int(seed)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.with_epoch = bool(with_epoch)
        self._fixed_world = None if num_replicas is None else (int(rank), int(num_replicas))
        self.epoch = 0
        self._skip = 0

    def _world(self) -> tuple[int, int]:
        if self._fixed_world is not None:
            return self._fixed_world
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            return dist.get_rank(), dist.get_world_size()
        return 0, 1

    def __len__(self) -> int:
        _, world = self._world()
        return self.n // world if self.drop_last else -(-self.n // world)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def skip(self, k: int) -> None:
        self._skip = int(k)

    def __iter__(self):
        rank, world = self._world()
        epoch = self.epoch
        if self.shuffle:
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            order = torch.randperm(self.n, generator=g).tolist()
        else:
            order = list(range(self.n))
        per_rank = len(self)
        total = per_rank * world
        order = order[:total] if self.drop_last else (order * (-(-total // max(self.n, 1))))[:total]
        mine = order[rank:total:world]
        skip, self._skip = self._skip, 0
        mine = mine[skip:]
        return iter([(epoch, i) for i in mine] if self.with_epoch else mine)


class SkipConsumedBatches(L.Callback):
    """On a mid-epoch resume, tell every :class:`ResumableSampler` of the training loader how many of its
    indices the interrupted run already consumed in this epoch (``batches done x batch size``)."""

    def on_train_start(self, trainer, pl_module) -> None:
        if not getattr(trainer.fit_loop, "restarted_mid_epoch", False):
            return
        # the checkpoint was written in on_train_batch_end: `processed` counts the batch of that step
        done = trainer.fit_loop.epoch_loop.batch_progress.current.processed
        if done <= 0:
            return
        loaders = trainer.train_dataloader
        for dl in loaders if isinstance(loaders, (list, tuple)) else [loaders]:
            sampler = getattr(dl, "sampler", None)
            # a checkpoint on the epoch's last batch resumes at the next epoch: nothing to skip
            if callable(getattr(sampler, "skip", None)) and dl.batch_size and done < len(dl):
                sampler.skip(done * dl.batch_size)
