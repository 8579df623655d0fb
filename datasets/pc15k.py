"""PointFlow's ShapeNetCore.v2.PC15k adapter: ``<root>/<synset>/{train,val,test}/<modelId>.npy``, each a
float32 (15000, 3) point cloud. Splits come from the folders (PointFlow evaluates generation against
``val``)."""

from __future__ import annotations

import re
from pathlib import Path

from gen3d.datasets.records import SPLITS, ShapeDataset, ShapeRecord, select_records
from gen3d.datasets.taxonomy import load_taxonomy
from gen3d.errors import UserInputError

__all__ = ["EXPECTED", "open_pc15k"]

EXPECTED = "PC15k layout: <root>/<synset id, 8 digits>/{train,val,test}/<model id>.npy"
_SYNSET = re.compile(r"^\d{8}$")


def open_pc15k(root, categories=None, splits=None, max_count=None, seed: int = 0):
    """Enumerate a PC15k tree -> :class:`ShapeDataset` of point records (``seed`` unused: splits are
    given)."""
    root = Path(root)
    if not root.is_dir():
        raise UserInputError(f"pc15k root {root} is not a directory; expected {EXPECTED}")
    names = load_taxonomy(root)
    records = []
    for syn in sorted(p for p in root.iterdir() if p.is_dir() and _SYNSET.match(p.name)):
        for split in SPLITS:
            for f in sorted((syn / split).glob("*.npy")) if (syn / split).is_dir() else ():
                records.append(
                    ShapeRecord(syn.name, f.stem, split, f, "points", names.get(syn.name, syn.name))
                )
    if not records:
        raise UserInputError(f"no .npy point clouds found under {root}; expected {EXPECTED}")
    return ShapeDataset(
        "pc15k", root, select_records(records, categories, splits, max_count), {"split_source": "folders"}
    )
