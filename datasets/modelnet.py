"""ModelNet10/40 adapter: ``<root>/<class>/{train,test}/<class>_NNNN.off``, or the same layout with point
files (``.pcd``, ``.ply``, ``.xyz``, ``.npy``, ``.npz``: ModelNet as point clouds, the form many users have).

Splits come from the folders (ModelNet has no ``val``). Many files glue the ``OFF`` keyword to the counts
(``OFF490 518 0``); :func:`gen3d.geometry.load_mesh` reads them. Units differ between models: normalise. A
shape stored both as a mesh and as points is read from the mesh; a tree of point files only gives point
records.
"""

from __future__ import annotations

from pathlib import Path

from gen3d.datasets.pointfiles import POINT_SUFFIXES
from gen3d.datasets.records import ShapeDataset, ShapeRecord, select_records
from gen3d.errors import UserInputError

__all__ = ["EXPECTED", "open_modelnet"]

EXPECTED = (
    "ModelNet layout: <root>/<class>/{train,test}/<class>_NNNN.off "
    f"(or point files: {', '.join(POINT_SUFFIXES)})"
)


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
            if not d.is_dir():
                continue
            files = sorted(f for f in d.iterdir() if f.is_file())
            meshes = {f.stem: f for f in files if f.suffix.lower() == ".off"}
            points = {f.stem: f for f in files if f.suffix.lower() in POINT_SUFFIXES and f.stem not in meshes}
            records += [ShapeRecord(cls.name, stem, split, f, "mesh") for stem, f in meshes.items()]
            records += [ShapeRecord(cls.name, stem, split, f, "points") for stem, f in points.items()]
    if not records:
        raise UserInputError(f"no .off or point files found under {root}; expected {EXPECTED}")
    records.sort(key=lambda r: (r.category, r.split, r.model_id))
    return ShapeDataset(
        "modelnet", root, select_records(records, categories, splits, max_count), {"split_source": "folders"}
    )
