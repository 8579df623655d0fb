"""Tiny deterministic building blocks that keep training tests fast: an element-wise backbone (optionally
producing NaN) and an in-memory DataModule whose batches carry the dataset index."""

from __future__ import annotations

import lightning as L
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset


class TinyBackbone(nn.Module):
    """Element-wise MLP on (value, noise embedding, class embedding): works for any tensor shape (B, ...)."""

    def __init__(self, num_classes: int = 0, width: int = 16, nan: bool = False):
        super().__init__()
        self.num_classes = num_classes
        self.emb = nn.Linear(1, 8)
        self.cls = nn.Embedding(num_classes + 1, 8) if num_classes else None
        self.mlp = nn.Sequential(nn.Linear(9, width), nn.SiLU(), nn.Linear(width, 1))
        self.nan = nan

    def forward(self, x, c_noise, cond=None):
        e = self.emb(c_noise.reshape(-1, 1).to(x.dtype))
        if self.cls is not None:
            e = e + self.cls(cond)
        e = e.reshape(x.shape[0], *([1] * (x.dim() - 1)), 8).expand(*x.shape, 8)
        out = self.mlp(torch.cat([x.unsqueeze(-1), e], -1)).squeeze(-1)
        return out * float("nan") if self.nan else out


class TensorDataset(Dataset):
    def __init__(self, x, labels):
        self.x, self.labels = x, labels

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return {"x": self.x[i], "label": self.labels[i], "index": torch.tensor(i)}


class InMemoryDataModule(L.LightningDataModule):
    """Random blobs: (S, N, 3) point clouds or (S, 1, R, R, R) grids in {-1, 1}; labels cycle over classes."""

    def __init__(self, shape=(64, 3), count=32, num_classes=2, batch_size=8, seed=0, epoch_sampler=True):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.x = torch.randn(count, *shape, generator=g) * 0.5
        if len(shape) == 4:
            self.x = torch.where(self.x > 0, 1.0, -1.0)
        self.labels = torch.arange(count) % max(num_classes, 1)
        self.class_names = [f"class{i}" for i in range(num_classes)]
        self.num_classes = num_classes
        self.batch_size, self.seed, self.epoch_sampler = batch_size, seed, epoch_sampler

    def train_dataloader(self):
        ds = TensorDataset(self.x, self.labels)
        if self.epoch_sampler:
            from gen3d.training.resume import ResumableSampler

            return DataLoader(
                ds, batch_size=self.batch_size, sampler=ResumableSampler(len(ds), self.seed), drop_last=True
            )
        return DataLoader(ds, batch_size=self.batch_size, shuffle=True, drop_last=True)


def state_checksum(module: nn.Module) -> float:
    return float(sum(p.double().sum() * (i + 1) for i, p in enumerate(module.state_dict().values())))
