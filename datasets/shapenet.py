"""ShapeNetCore v1 and v2 adapter.

Layouts (detected per model, v2 preferred when both exist)::

    v1: <root>/<synset>/<modelId>/model.obj
    v2: <root>/<synset>/<modelId>/models/model_normalized.obj

``<synset>`` is an 8-digit WordNet synset id; human names come from :mod:`gen3d.datasets.taxonomy`
(``<root>/taxonomy.json`` when present). Splits come from ShapeNet's official split CSV (``all.csv``: columns
``id,synsetId,subSynsetId,modelId,split``) when given or found at ``<root>/all.csv``; models it does not list
are excluded and counted in ``dataset.notes``. Without a CSV the seeded split of :mod:`gen3d.datasets.records`
is used.

``binvox="solid"|"surface"`` reads the voxelisations ShapeNetCore v2 ships instead of the meshes
(``models/model_normalized.{solid,surface}.binvox``, 128^3): records of kind ``voxels``.
"""

from __future__ import annotations

import csv
import logging
import re
from pathlib import Path

from gen3d.datasets.records import ShapeDataset, ShapeRecord, assign_seeded_splits, select_records
from gen3d.datasets.taxonomy import load_taxonomy
from gen3d.errors import UserInputError

__all__ = ["EXPECTED", "open_shapenet", "read_split_csv"]

log = logging.getLogger(__name__)

EXPECTED = (
    "ShapeNetCore layout: <root>/<synset id, 8 digits>/<model id>/model.obj (v1) or "
    "<root>/<synset id>/<model id>/models/model_normalized.obj (v2)"
)
_SYNSET = re.compile(r"^\d{8}$")
_MODEL_FILES = (("v2", Path("models/model_normalized.obj")), ("v1", Path("model.obj")))


def read_split_csv(path: str | Path) -> dict[tuple[str, str], str]:
    """Read ShapeNet's ``all.csv`` -> {(synset id, model id): split}. Raises :class:`UserInputError`."""
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
    except OSError as e:
        raise UserInputError(f"cannot read split file {path}: {e}") from e
    need = {"synsetId", "modelId", "split"}
    if not rows or not need <= set(rows[0].keys()):
        raise UserInputError(f"{path}: expected a CSV with columns id,synsetId,subSynsetId,modelId,split")
    out = {}
    for row in rows:
        split = row["split"].strip().lower()
        if split not in ("train", "val", "test"):
            raise UserInputError(f"{path}: unknown split {row['split']!r} (expected train, val or test)")
        out[(row["synsetId"].strip().zfill(8), row["modelId"].strip())] = split
    return out


def open_shapenet(
    root, categories=None, splits=None, max_count=None, seed: int = 0, split_file=None, binvox=None
):
    """Enumerate a ShapeNetCore v1/v2 tree -> :class:`ShapeDataset` of mesh records (voxel records of the
    shipped ``.binvox`` files with ``binvox="solid"|"surface"``, v2 only)."""
    if binvox not in (None, "solid", "surface"):
        raise UserInputError(f"binvox must be 'solid' or 'surface', got {binvox!r}")
    model_files = (
        _MODEL_FILES if binvox is None else (("v2", Path(f"models/model_normalized.{binvox}.binvox")),)
    )
    kind = "mesh" if binvox is None else "voxels"
    root = Path(root)
    if not root.is_dir():
        raise UserInputError(f"shapenet root {root} is not a directory; expected {EXPECTED}")
    synsets = sorted(p for p in root.iterdir() if p.is_dir() and _SYNSET.match(p.name))
    if not synsets:
        raise UserInputError(f"no synset folders (8-digit names) in {root}; expected {EXPECTED}")
    names = load_taxonomy(root)
    if split_file is None and (root / "all.csv").is_file():
        split_file = root / "all.csv"
    official = read_split_csv(split_file) if split_file is not None else None
    records, versions = [], set()
    missing = not_in_csv = 0
    for syn in synsets:
        found = []
        for model_dir in sorted(p for p in syn.iterdir() if p.is_dir()):
            for version, rel in model_files:
                if (model_dir / rel).is_file():
                    found.append((model_dir.name, model_dir / rel))
                    versions.add(version)
                    break
            else:
                missing += 1
        if official is None:
            split_of = assign_seeded_splits([m for m, _ in found], syn.name, seed)
        else:
            split_of = {m: official[(syn.name, m)] for m, _ in found if (syn.name, m) in official}
            not_in_csv += len(found) - len(split_of)
        for model_id, path in found:
            if model_id in split_of:
                records.append(
                    ShapeRecord(
                        syn.name,
                        model_id,
                        split_of[model_id],
                        path,
                        kind,
                        names[syn.name] if syn.name in names else syn.name,
                    )
                )
    if not records and not_in_csv == 0:
        what = f"model_normalized.{binvox}.binvox files" if binvox else "model files"
        raise UserInputError(f"no {what} under {root}; expected {EXPECTED}")
    if missing:
        log.warning(
            "shapenet: %d model folders without %s ignored",
            missing,
            " / ".join(str(r) for _, r in model_files),
        )
    if not_in_csv:
        log.warning("shapenet: %d models not listed in %s excluded", not_in_csv, split_file)
    notes = {
        "versions": sorted(versions),
        "split_source": str(split_file) if official is not None else f"seeded(seed={seed})",
        "model_folders_without_mesh": missing,
        "excluded_not_in_split_file": not_in_csv,
    }
    return ShapeDataset("shapenet", root, select_records(records, categories, splits, max_count), notes)
