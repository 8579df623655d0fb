"""Generic folders of files by category, with a seeded split: meshes (layout ``folder``), point files
(``points``) and voxel files (``voxels``).

Layout: ``<root>/<category>/<file>``; for ``points`` and ``voxels`` files may also sit directly in ``<root>``
(category ``default``). The model id is the file stem (the file name when two files share a stem). A numpy
voxel file holding N grids gives N shapes ``<stem>_<i>``. Splits: seeded, see :mod:`gen3d.datasets.records`.
"""

from __future__ import annotations

from pathlib import Path

from gen3d.datasets.pointfiles import POINT_SUFFIXES
from gen3d.datasets.records import ShapeDataset, ShapeRecord, assign_seeded_splits, select_records
from gen3d.datasets.voxelfiles import VOXEL_SUFFIXES, count_grids
from gen3d.errors import UserInputError

__all__ = ["MESH_SUFFIXES", "open_file_folder"]

MESH_SUFFIXES = (".obj", ".off", ".ply", ".stl", ".glb", ".gltf")
ROOT_CATEGORY = "default"

_KINDS = {
    "folder": ("mesh", MESH_SUFFIXES, False),
    "points": ("points", POINT_SUFFIXES, True),
    "voxels": ("voxels", VOXEL_SUFFIXES, True),
}


def _expected(layout: str) -> str:
    kind, suffixes, flat_ok = _KINDS[layout]
    alt = " (or files directly in <root>)" if flat_ok else ""
    return f"{layout} layout: <root>/<category>/*{{{','.join(s[1:] for s in suffixes)}}}{alt}"


def _model_ids(files: list[Path]) -> list[tuple[str, Path]]:
    stems = [f.stem for f in files]
    return [(f.stem if stems.count(f.stem) == 1 else f.name, f) for f in files]


def open_file_folder(layout: str, root, categories=None, splits=None, max_count=None, seed: int = 0):
    """Enumerate ``root`` for ``layout`` in {folder, points, voxels} -> :class:`ShapeDataset`."""
    kind, suffixes, flat_ok = _KINDS[layout]
    root = Path(root)
    if not root.is_dir():
        raise UserInputError(f"{layout} root {root} is not a directory; expected {_expected(layout)}")

    def files_in(d: Path) -> list[Path]:
        return sorted(f for f in d.iterdir() if f.is_file() and f.suffix.lower() in suffixes)

    groups = {
        c.name: files_in(c) for c in sorted(root.iterdir()) if c.is_dir() and not c.name.startswith(".")
    }
    if flat_ok:
        groups[ROOT_CATEGORY] = groups.get(ROOT_CATEGORY, []) + files_in(root)
    records = []
    for category, files in groups.items():
        entries = []
        for model_id, f in _model_ids(files):
            if kind == "voxels" and f.suffix.lower() != ".binvox":
                try:
                    n = count_grids(f)
                except UserInputError:
                    n = 1  # unreadable: keep one record so preprocessing reports it
                if n != 1:
                    entries += [(f"{model_id}_{i}", f, i) for i in range(n)]
                    continue
            entries.append((model_id, f, None))
        split_of = assign_seeded_splits([m for m, _, _ in entries], category, seed)
        records += [ShapeRecord(category, m, split_of[m], f, kind, index=i) for m, f, i in entries]
    if not records:
        raise UserInputError(
            f"no {'/'.join(suffixes)} files found under {root}; expected {_expected(layout)}"
        )
    return ShapeDataset(
        layout,
        root,
        select_records(records, categories, splits, max_count),
        {"split_source": f"seeded(seed={seed})"},
    )
