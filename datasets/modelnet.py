"""ModelNet10/40 adapter: ``<root>/<class>/{train,test}/<class>_NNNN.off``.

Splits come from the folders (ModelNet has no ``val``). Many files glue the ``OFF`` keyword to the counts
(``OFF490 518 0``); :func:`gen3d.geometry.load_mesh` reads them. Units differ between models: normalise.
"""

from __future__ import annotations

from pathlib import Path

from gen3d.datasets.records import ShapeDataset, ShapeRecord, select_records
from gen3d.errors import UserInputError

__all__ = ["EXPECTED", "open_modelnet"]

EXPECTED = "ModelNet layout: <root>/<class>/{train,test}/<class>_NNNN.off"


def open_modelnet(root, categories=None, splits=None, max_count=None, seed: int = 0):
    """Enumerate a ModelNet tree -> :class:`ShapeDataset` of mesh records (``seed`` unused: splits are
    given)."""
    root = Path(root)
    if not root.is_dir():
        raise UserInputError(f"modelnet root {root} is not a directory; expected {EXPECTED}")
    records = []
    for cls in sorted(p for p in root.iterdir() if p.is_dir()):
        for split in ("train", "test"):
            d = cls / split
            if d.is_dir():
                records += [
                    ShapeRecord(cls.name, f.stem, split, f, "mesh")
                    for f in sorted(d.iterdir())
                    if f.is_file() and f.suffix.lower() == ".off"
                ]
    if not records:
        raise UserInputError(f"no .off files found under {root}; expected {EXPECTED}")
    return ShapeDataset(
        "modelnet", root, select_records(records, categories, splits, max_count), {"split_source": "folders"}
    )
