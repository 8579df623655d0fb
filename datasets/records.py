"""Shape records and the selection rules shared by every adapter.

A *record* names one shape of a collection: where it lives, its category, its split and what kind of data it
holds. Adapters enumerate records; nothing is read from the shape files until preprocessing.

Selection (the same for every layout):

* ``categories``: keep only these categories (synset ids or human names both work for ShapeNet / PC15k);
* ``splits``: keep only these splits (``train``, ``val``, ``test``);
* ``max_count``: keep at most this many shapes **per category and split**, the first ones in model-id order
  (so a small selection is a prefix of a larger one).

Seeded split (layouts without an official split): inside each category the model ids are sorted, permuted with
``numpy.random.default_rng([seed, crc32(category)])`` and cut 80 % / 10 % / 10 % into train / val / test (at
least one val and one test shape once a category has three or more). The assignment depends only on the seed
and the category's model ids, never on the selection.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gen3d.errors import UserInputError

__all__ = [
    "KINDS",
    "SPLITS",
    "ShapeDataset",
    "ShapeRecord",
    "assign_seeded_splits",
    "select_records",
    "stable_key_seed",
]

SPLITS = ("train", "val", "test")
KINDS = ("mesh", "points", "voxels")
SPLIT_FRACTIONS = (0.8, 0.1, 0.1)


@dataclass(frozen=True)
class ShapeRecord:
    """One shape of a collection.

    ``category`` is the collection's own id (a ShapeNet synset id, a ModelNet class, a folder name), ``name``
    the human name used as class name (same as ``category`` where the collection has no separate name).
    ``index`` selects one grid of a file holding several (``(N,R,R,R)`` numpy voxel files), else ``None``.
    """

    category: str
    model_id: str
    split: str
    path: Path
    kind: str
    name: str = ""
    index: int | None = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")
        if not self.name:
            object.__setattr__(self, "name", self.category)

    @property
    def key(self) -> str:
        """``<category>/<model_id>``: unique inside a collection (model ids alone may repeat across
        classes)."""
        return f"{self.category}/{self.model_id}"


class ShapeDataset(Sequence):
    """A torch-free, indexable sequence of :class:`ShapeRecord` plus the collection's description."""

    def __init__(self, layout: str, root: Path, records: Iterable[ShapeRecord], notes: dict | None = None):
        self.layout = layout
        self.root = Path(root)
        self.records: list[ShapeRecord] = list(records)
        self.notes = dict(notes or {})  # e.g. {"split_source": "all.csv", "excluded_not_in_csv": 3}

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, i):
        return self.records[i]

    @property
    def categories(self) -> list[str]:
        return sorted({r.category for r in self.records})

    @property
    def class_names(self) -> list[str]:
        return sorted({r.name for r in self.records})

    def __repr__(self) -> str:
        n_cat = len(self.categories)
        return f"ShapeDataset({self.layout!r}, {str(self.root)!r}, {len(self)} shapes, {n_cat} categories)"


def stable_key_seed(*parts: str | int) -> list[int]:
    """Seed material for ``numpy.random.default_rng`` that is stable across processes and Python runs
    (unlike ``hash()``): ints pass through, strings become their CRC-32."""
    return [p if isinstance(p, int) else zlib.crc32(str(p).encode("utf-8")) for p in parts]


def assign_seeded_splits(model_ids: Sequence[str], category: str, seed: int) -> dict[str, str]:
    """Map each model id of one category to ``train``/``val``/``test`` (see module docstring)."""
    ids = sorted(model_ids)
    n = len(ids)
    perm = np.random.default_rng(stable_key_seed(seed, category)).permutation(n)
    n_val = int(round(SPLIT_FRACTIONS[1] * n))
    n_test = int(round(SPLIT_FRACTIONS[2] * n))
    if n >= 3:
        n_val, n_test = max(n_val, 1), max(n_test, 1)
    out = {}
    for rank, i in enumerate(perm):
        out[ids[i]] = "val" if rank < n_val else "test" if rank < n_val + n_test else "train"
    return out


def _parse_list(value, what: str) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = [v for v in value.split(",") if v.strip()]
    items = [str(v).strip() for v in value]
    if not items:
        raise UserInputError(f"empty {what} selection")
    return items


def select_records(
    records: Iterable[ShapeRecord],
    categories=None,
    splits=None,
    max_count: int | None = None,
    available_hint: str = "",
) -> list[ShapeRecord]:
    """Apply the selection rules of the module docstring; unknown categories/splits are a
    :class:`UserInputError` naming what exists."""
    records = sorted(records, key=lambda r: (r.category, r.split, r.model_id, r.index or 0))
    cats = _parse_list(categories, "category")
    spl = _parse_list(splits, "split")
    if spl is not None:
        bad = [s for s in spl if s not in SPLITS]
        if bad:
            raise UserInputError(f"unknown split(s) {bad}: expected some of {list(SPLITS)}")
    if cats is not None:
        known = {r.category for r in records} | {r.name for r in records}
        bad = [c for c in cats if c not in known]
        if bad:
            have = sorted(
                {f"{r.name} ({r.category})" if r.name != r.category else r.category for r in records}
            )
            raise UserInputError(
                f"unknown categor{'y' if len(bad) == 1 else 'ies'} {bad}{available_hint}; available: "
                f"{', '.join(have) if have else 'none'}"
            )
        records = [r for r in records if r.category in cats or r.name in cats]
    if spl is not None:
        records = [r for r in records if r.split in spl]
    if max_count is not None:
        if int(max_count) < 1:
            raise UserInputError(f"max_count must be >= 1, got {max_count}")
        counts: dict[tuple[str, str], int] = {}
        kept = []
        for r in records:
            k = (r.category, r.split)
            if counts.get(k, 0) < int(max_count):
                counts[k] = counts.get(k, 0) + 1
                kept.append(r)
        records = kept
    return records
