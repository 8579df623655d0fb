"""The shapes a diagnosis runs on: training and held-out splits of a prepared cache, in the model's space.

Point clouds come as ``(S, N, 3)`` with the model's ``data.n_points`` (the first points of each cached shape,
a uniform subset); voxel grids as ``(S, 1, R, R, R)`` mapped to model space ``2 * occupancy - 1`` (as
``gen3d fit`` trains them). Labels are indices into the model's ``experiment.class_names`` when it is
class-conditional (shapes of other classes are dropped), else the cache's labels.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch

from gen3d.errors import UserInputError
from gen3d.geometry.grid_field import to_model_space

__all__ = ["ShapeSets", "load_shape_sets"]


@dataclass
class ShapeSets:
    """Training and held-out shapes (S, ...) float32 with labels (S,) int64 and the split names."""

    train: torch.Tensor
    train_labels: torch.Tensor
    heldout: torch.Tensor
    heldout_labels: torch.Tensor
    train_split: str
    heldout_split: str
    class_names: list[str]


def _pick(n: int, limit: int | None, generator: torch.Generator) -> torch.Tensor:
    idx = torch.randperm(n, generator=generator)
    return idx if limit is None else idx[: min(n, limit)]


def load_shape_sets(
    cache_dir: str | os.PathLike,
    config: dict,
    *,
    heldout_split: str | None = None,
    max_train: int | None = None,
    max_heldout: int | None = None,
    generator: torch.Generator | None = None,
) -> ShapeSets:
    """Both splits of the cache at ``cache_dir`` for the model whose resolved ``config`` is given (its
    ``data`` group fixes the representation and the splits; ``heldout_split`` overrides ``data.val_split``,
    falling back to ``test`` when the cache has no such split). ``max_*`` keep a random subset."""
    from gen3d.datasets.cache import ShapeCache

    cache = ShapeCache(cache_dir)
    data = config["data"]
    train_split = data.get("train_split", "train")
    held = heldout_split or data.get("val_split", "val")
    if heldout_split is None and held not in cache.splits and "test" in cache.splits:
        held = "test"
    if held == train_split:
        raise UserInputError(f"the held-out split must differ from the training split ({train_split!r})")
    for split in (train_split, held):
        try:
            cache.split_names(split)
        except UserInputError:
            raise UserInputError(
                f"cache {cache_dir} has no split {split!r} (it has {cache.splits}); pass --heldout-split"
            ) from None
    cats = data.get("categories")
    gen = generator or torch.Generator().manual_seed(0)

    def load(split: str):
        if data["type"] == "points":
            x, lab, _ = cache.load_points(split, categories=cats, n_points=data.get("n_points"))
        else:
            x, lab, _ = cache.load_voxels(split, data.get("resolution", 32), data.get("kind", "solid"), cats)
            x = to_model_space(x, data.get("field", "occupancy"), data.get("tsdf_truncation", 2.0))
        return torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(lab)

    class_names = list(cache.class_names)
    model_names = config["experiment"].get("class_names") or []
    xs = {}
    for split in (train_split, held):
        x, lab = load(split)
        if config["experiment"].get("class_cond") and model_names:
            names = [class_names[i] for i in lab.tolist()]
            keep = torch.tensor([n in model_names for n in names], dtype=torch.bool)
            lab = torch.tensor(
                [model_names.index(n) for n, k in zip(names, keep.tolist()) if k], dtype=torch.int64
            )
            x = x[keep]
        if x.shape[0] < 2:
            raise UserInputError(
                f"split {split!r} of {cache_dir} holds fewer than 2 shapes of the model's classes"
            )
        xs[split] = (x, lab)
    (tx, tl), (hx, hl) = xs[train_split], xs[held]
    it, ih = _pick(len(tx), max_train, gen), _pick(len(hx), max_heldout, gen)
    names = model_names if config["experiment"].get("class_cond") and model_names else class_names
    return ShapeSets(tx[it], tl[it], hx[ih], hl[ih], train_split, held, list(names))
