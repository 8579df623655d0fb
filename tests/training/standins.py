"""Small stand-ins for the parts other areas provide (precond, samplers, random) while those are missing, and
tiny deterministic building blocks (backbone, in-memory DataModule) that keep training tests fast.

:func:`install_missing` only fills names that the real packages do not define yet; once the real modules land,
the tests run against them unchanged.
"""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass

import lightning as L
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, Sampler


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


class StandinPrecond(nn.Module):
    """EDM preconditioning (Karras et al. 2022, Table 1)."""

    def __init__(self, backbone, sigma_data=0.5):
        super().__init__()
        self.backbone, self.sigma_data = backbone, sigma_data

    def forward(self, x, sigma, cond=None):
        sd = self.sigma_data
        s = sigma.reshape(-1, *([1] * (x.dim() - 1))).to(x.dtype)
        c_skip = sd**2 / (s**2 + sd**2)
        c_out = s * sd / (s**2 + sd**2).sqrt()
        c_in = 1 / (s**2 + sd**2).sqrt()
        return c_skip * x + c_out * self.backbone(c_in * x, sigma.log() / 4, cond)


def standin_schedule(kind, n, sigma_min, sigma_max, rho=7.0):
    i = torch.arange(n, dtype=torch.float64)
    s = (
        sigma_max ** (1 / rho) + i / max(n - 1, 1) * (sigma_min ** (1 / rho) - sigma_max ** (1 / rho))
    ) ** rho
    return torch.cat([s, torch.zeros(1, dtype=torch.float64)]).float()


@dataclass
class StandinResult:
    x: torch.Tensor
    nfe: int


def standin_sample(name, denoiser, x, sigmas, cond=None, generator=None, callback=None, **opts):
    """Euler / Heun on the probability-flow ODE dx/dsigma = (x - D)/sigma."""
    nfe = 0
    for i in range(len(sigmas) - 1):
        s, s_next = sigmas[i], sigmas[i + 1]
        d0 = denoiser(x, s.expand(x.shape[0]), cond)
        nfe += 1
        if callback is not None:
            callback(i, s, x, d0)
        dx = (x - d0) / s
        x_next = x + (s_next - s) * dx
        if name == "heun" and s_next > 0:
            d1 = denoiser(x_next, s_next.expand(x.shape[0]), cond)
            nfe += 1
            x_next = x + (s_next - s) * 0.5 * (dx + (x_next - d1) / s_next)
        x = x_next
    return StandinResult(x, nfe)


def standin_generators(seeds, device=None):
    out = []
    for s in seeds:
        g = torch.Generator(device=device or "cpu")
        g.manual_seed(int(s))
        out.append(g)
    return out


def install_missing(monkeypatch=None) -> list[str]:
    """Provide gen3d.precond.EDMPrecond, gen3d.samplers.{get_schedule, sample},
    gen3d.random.generators_for_seeds
    where the real ones are not there yet. Returns the names that were stood in."""
    import importlib

    import gen3d

    def setattr_(obj, name, value):
        if monkeypatch is not None:
            monkeypatch.setattr(obj, name, value, raising=False)
        else:
            setattr(obj, name, value)

    wanted = {
        "gen3d.precond": {"EDMPrecond": StandinPrecond},
        "gen3d.samplers": {"get_schedule": standin_schedule, "sample": standin_sample},
        "gen3d.random": {"generators_for_seeds": standin_generators},
    }
    stood_in = []
    for modname, attrs in wanted.items():
        try:
            mod = importlib.import_module(modname)
        except ImportError:
            mod = types.ModuleType(modname)
            if monkeypatch is not None:
                monkeypatch.setitem(sys.modules, modname, mod)
            else:
                sys.modules[modname] = mod
            setattr_(gen3d, modname.split(".")[-1], mod)
        for name, value in attrs.items():
            if not hasattr(mod, name):
                setattr_(mod, name, value)
                stood_in.append(f"{modname}.{name}")
    return stood_in


class TensorDataset(Dataset):
    def __init__(self, x, labels):
        self.x, self.labels = x, labels

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return {"x": self.x[i], "label": self.labels[i], "index": torch.tensor(i)}


class EpochShuffleSampler(Sampler):
    """Permutation from (seed, epoch): the order of epoch e is the same in a resumed run."""

    def __init__(self, n, seed=0):
        self.n, self.seed, self.epoch = n, seed, 0

    def set_epoch(self, epoch):
        self.epoch = epoch

    def __len__(self):
        return self.n

    def __iter__(self):
        g = torch.Generator().manual_seed(self.seed * 1000 + self.epoch)
        return iter(torch.randperm(self.n, generator=g).tolist())


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
