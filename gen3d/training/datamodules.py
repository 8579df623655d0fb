"""Lightning DataModules over a prepared shape cache (:class:`gen3d.datasets.cache.ShapeCache`).

Batches:

* :class:`PointCloudDataModule`: ``{"x": (B,N,3) float32 normalised points, "label": (B,) int64}``
* :class:`VoxelDataModule`: ``{"x": (B,1,R,R,R) float32, "label": (B,) int64}``; ``field`` occupancy:
  ``x = 2*occ - 1`` in {-1,+1}; tsdf: the truncated signed distance in [-1, 1], positive inside
  (:mod:`gen3d.geometry.grid_field`). Both are occupied exactly where ``x > 0``.

``label`` indexes ``class_names``. Reproducibility: the training sampler is a
:class:`gen3d.training.resume.ResumableSampler` yielding ``(epoch, index)`` pairs. The epoch's shuffle order
depends only on ``(seed, epoch, rank)`` and every random choice for a training item (point subset,
augmentation) comes from a ``torch.Generator`` seeded by ``(seed, epoch, index)``, so an epoch's batches are
the same whatever ``num_workers`` is, and a run resumed from a mid-epoch checkpoint (epoch from Lightning's
``set_epoch``, consumed batches skipped by :class:`gen3d.training.resume.SkipConsumedBatches`) sees exactly
the batches of an uninterrupted run. Under DDP each rank gets a disjoint share of the epoch's order.
Validation and test items are deterministic (first ``n_points`` points, no augmentation).

Augmentation (training only): ``augment_rotate`` rotates about the up axis y (ShapeNet's convention): points
by a uniform angle, voxel grids by a uniform number of quarter turns (exact on the grid). ``augment_scale``
(points only): ``(low, high)`` or ``a`` meaning ``(1 - a, 1 + a)``: one isotropic factor per shape.
``augment_flip`` (voxels): grid axes among ``x``, ``y``, ``z`` (index order [x, y, z]) that are mirror
symmetries of the category (a monitor's or a chair's left-right axis); each is flipped with probability 1/2.
"""

from __future__ import annotations

import math

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from gen3d.datasets.cache import ShapeCache
from gen3d.errors import UserInputError
from gen3d.geometry.grid_field import check_voxel_field, flip_dims, to_model_space
from gen3d.training.resume import ResumableSampler

__all__ = ["PointCloudDataModule", "VoxelDataModule"]


def _item_generator(seed: int, epoch: int, index: int) -> torch.Generator:
    """A generator for one (epoch, item) of a training epoch."""
    words = [int(seed), int(epoch), int(index)]
    state = np.random.SeedSequence(words).generate_state(2, dtype=np.uint32)
    return torch.Generator().manual_seed(int(state[0]) << 32 | int(state[1]))


class _ShapeSet(Dataset):
    """Tensors ``data`` (S, ...) and ``labels`` (S,); ``transform(x, generator)`` applied when ``train``."""

    def __init__(self, data: torch.Tensor, labels: torch.Tensor, transform, seed: int, train: bool):
        self.data, self.labels, self.transform, self.seed, self.train = data, labels, transform, seed, train

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, item):
        epoch, i = item if isinstance(item, tuple) else (0, item)
        g = _item_generator(self.seed, epoch, i) if self.train else None
        return {"x": self.transform(self.data[i], g), "label": self.labels[i]}


class _CacheDataModule(L.LightningDataModule):
    """Shared loader plumbing; subclasses define ``_load(split) -> (data, labels)`` and ``_transform``."""

    def __init__(
        self, cache_dir, batch_size, num_workers, categories, train_split, val_split, seed, max_count
    ):
        super().__init__()
        if int(batch_size) < 1:
            raise UserInputError(f"batch_size must be >= 1, got {batch_size}")
        self.cache = ShapeCache(cache_dir)
        self.batch_size, self.num_workers = int(batch_size), int(num_workers)
        self.categories, self.max_count, self.seed = categories, max_count, int(seed)
        self.train_split, self.val_split = train_split, val_split
        train_parts = set(self.cache.split_names(train_split))  # one split or several: "train,val"
        if val_split is not None and train_parts & set(self.cache.split_names(val_split)):
            raise UserInputError(
                f"the validation split {val_split!r} overlaps the training split {train_split!r}"
            )
        self._sets: dict[str, _ShapeSet] = {}
        self._train_sampler: ResumableSampler | None = None

    @property
    def class_names(self) -> list[str]:
        return self.cache.class_names

    @property
    def num_classes(self) -> int:
        return self.cache.num_classes

    def _set(self, split: str, train: bool) -> _ShapeSet:
        if split not in self._sets:
            data, labels = self._load(split)
            self._sets[split] = _ShapeSet(
                torch.from_numpy(data), torch.from_numpy(labels), self._transform, self.seed, train
            )
        return self._sets[split]

    def setup(self, stage: str | None = None) -> None:
        if stage in (None, "fit"):
            self._set(self.train_split, True)
        if stage in (None, "fit", "validate") and self.val_split is not None:
            self._set(self.val_split, False)

    def _loader(self, ds: _ShapeSet, sampler=None) -> DataLoader:
        return DataLoader(
            ds,
            batch_size=self.batch_size,
            sampler=sampler,
            shuffle=False,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
        )

    def train_dataloader(self) -> DataLoader:
        ds = self._set(self.train_split, True)
        if self._train_sampler is None:
            # one sampler for the DataModule's life: Lightning sets its epoch, SkipConsumedBatches its skip
            self._train_sampler = ResumableSampler(len(ds), self.seed, shuffle=True, with_epoch=True)
        return self._loader(ds, self._train_sampler)

    def val_dataloader(self):
        if self.val_split is None:
            return []
        return self._loader(self._set(self.val_split, False))

    def test_dataloader(self):
        if "test" not in self.cache.splits:
            return []
        return self._loader(self._set("test", False))


def _rotate_y(x: torch.Tensor, angle: torch.Tensor) -> torch.Tensor:
    """Rotate points (N,3) about y: x' = x cos + z sin, z' = -x sin + z cos."""
    c, s = torch.cos(angle), torch.sin(angle)
    out = x.clone()
    out[:, 0] = x[:, 0] * c + x[:, 2] * s
    out[:, 2] = -x[:, 0] * s + x[:, 2] * c
    return out


class PointCloudDataModule(_CacheDataModule):
    """Point clouds from a cache: batches ``{"x": (B, n_points, 3) float32, "label": (B,) int64}``.

    Training items take a seeded random subset of ``n_points`` of the cached points (all of them, reordered,
    when equal); validation/test items take the first ``n_points``.
    """

    def __init__(
        self,
        cache_dir,
        batch_size: int = 16,
        num_workers: int = 0,
        n_points: int = 2048,
        categories=None,
        augment_rotate: bool = False,
        augment_scale=None,
        train_split: str = "train",
        val_split: str | None = "val",
        seed: int = 0,
        max_count: int | None = None,
    ):
        super().__init__(
            cache_dir, batch_size, num_workers, categories, train_split, val_split, seed, max_count
        )
        self.n_points = int(n_points)
        if not 1 <= self.n_points <= self.cache.n_points:
            raise UserInputError(
                f"n_points must be in 1..{self.cache.n_points} (the cache's), got {n_points}"
            )
        self.augment_rotate = bool(augment_rotate)
        if augment_scale is None:
            self.scale_range = None
        else:
            lo, hi = (1 - augment_scale, 1 + augment_scale) if np.isscalar(augment_scale) else augment_scale
            if not 0 < lo <= hi:
                raise UserInputError(f"augment_scale must give 0 < low <= high, got {augment_scale}")
            self.scale_range = (float(lo), float(hi))

    def _load(self, split):
        pts, labels, _ = self.cache.load_points(split, self.categories, self.max_count)
        return pts, labels

    def _transform(self, x: torch.Tensor, g: torch.Generator | None) -> torch.Tensor:
        if g is None:
            return x[: self.n_points]
        x = x[torch.randperm(x.shape[0], generator=g)[: self.n_points]]
        if self.augment_rotate:
            x = _rotate_y(x, torch.rand((), generator=g, dtype=torch.float64) * (2 * math.pi))
        if self.scale_range is not None:
            lo, hi = self.scale_range
            x = x * float(lo + (hi - lo) * torch.rand((), generator=g, dtype=torch.float64))
        return x


class VoxelDataModule(_CacheDataModule):
    """Voxel grids from a cache: batches ``{"x": (B,1,R,R,R) float32, "label": (B,) int64}`` (module
    docstring: ``field``, ``tsdf_truncation`` in cells, ``augment_flip``)."""

    def __init__(
        self,
        cache_dir,
        resolution: int = 32,
        kind: str = "solid",
        batch_size: int = 16,
        num_workers: int = 0,
        categories=None,
        augment_rotate: bool = False,
        augment_scale=None,
        augment_flip=(),
        field: str = "occupancy",
        tsdf_truncation: float = 2.0,
        train_split: str = "train",
        val_split: str | None = "val",
        seed: int = 0,
        max_count: int | None = None,
    ):
        super().__init__(
            cache_dir, batch_size, num_workers, categories, train_split, val_split, seed, max_count
        )
        if augment_scale is not None:
            raise UserInputError(
                "augment_scale is not supported for voxel grids (resampling a grid is lossy)"
            )
        if int(resolution) not in self.cache.resolutions:
            raise UserInputError(
                f"cache has no {resolution}^3 grids (it has {self.cache.resolutions or 'none'})"
            )
        if kind not in ("solid", "surface"):
            raise UserInputError(f"kind must be 'solid' or 'surface', got {kind!r}")
        self.resolution, self.kind, self.augment_rotate = int(resolution), kind, bool(augment_rotate)
        self.field, self.tsdf_truncation = check_voxel_field(field, tsdf_truncation)
        self.flip_dims = flip_dims(augment_flip)

    def _load(self, split):
        vox, labels, _ = self.cache.load_voxels(
            split, self.resolution, self.kind, self.categories, self.max_count
        )
        return to_model_space(vox, self.field, self.tsdf_truncation), labels

    def _transform(self, x: torch.Tensor, g: torch.Generator | None) -> torch.Tensor:
        if g is None:
            return x
        for dim in self.flip_dims:  # mirror symmetries, each with probability 1/2 (drawn before rotations)
            if bool(torch.rand((), generator=g) < 0.5):
                x = torch.flip(x, dims=(dim,))
        if not self.augment_rotate:
            return x
        # quarter turns about y: the grid axes are [C, x, y, z]; rotating x towards z leaves y fixed
        k = int(torch.randint(0, 4, (), generator=g))
        return torch.rot90(x, k, dims=(3, 1))
