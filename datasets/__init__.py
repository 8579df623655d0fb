"""gen3d.datasets: adapters for mesh, point and voxel collections, preprocessing cache, synthetic collection.

``open_dataset(layout, root, ...)`` enumerates a collection in its native layout (nothing is read yet);
``gen3d.datasets.prepare`` turns it into a cache that :class:`gen3d.datasets.cache.ShapeCache` reads.
"""

from __future__ import annotations

from pathlib import Path

from gen3d.datasets.records import ShapeDataset, ShapeRecord
from gen3d.errors import UserInputError

__all__ = ["LAYOUTS", "ShapeDataset", "ShapeRecord", "default_up_axis", "open_dataset"]

#: layout name -> one-line description of what the root must look like
LAYOUTS = {
    "shapenet": "ShapeNetCore v1/v2: <root>/<synset>/<model id>/model.obj or .../models/model_normalized.obj",
    "pc15k": "PointFlow ShapeNetCore.v2.PC15k: <root>/<synset>/{train,val,test}/<model id>.npy",
    "modelnet": "ModelNet10/40: <root>/<class>/{train,test}/<class>_NNNN.off",
    "folder": "meshes by category: <root>/<category>/*.{obj,off,ply,stl,glb,gltf}",
    "points": "point files: <root>[/<category>]/*.{ply,pcd,xyz,npy,npz}",
    "voxels": "voxel files: <root>[/<category>]/*.{binvox,npy,npz}",
}

#: the up axis of a layout's data where it has a convention (``gen3d prepare --up`` overrides it): ModelNet
#: is z-up, ShapeNet and PC15k are y-up; the others default to y
_UP_AXIS = {"modelnet": "z", "shapenet": "y", "pc15k": "y"}


def default_up_axis(layout: str) -> str:
    """The up axis ("x" | "y" | "z") of ``layout``'s data when ``--up`` is not given."""
    from gen3d.geometry.up_axis import DEFAULT_UP_AXIS

    return _UP_AXIS.get(layout, DEFAULT_UP_AXIS)


def open_dataset(
    layout: str,
    root: str | Path,
    categories=None,
    splits=None,
    max_count: int | None = None,
    seed: int = 0,
    **options,
) -> ShapeDataset:
    """Enumerate the collection at ``root`` in ``layout`` (one of :data:`LAYOUTS`).

    ``categories``/``splits``: lists or comma-separated strings; ``max_count``: at most this many shapes per
    category and split; ``seed``: seeded split for layouts without an official one. ``options``:
    layout-specific: for shapenet ``split_file`` (official split CSV) and ``binvox`` ("solid"/"surface": the
    shipped v2 voxelisations instead of the meshes). Raises :class:`UserInputError` for an unknown layout or a
    root that does not match the layout (the message says what was expected).
    """
    if layout not in LAYOUTS:
        raise UserInputError(f"unknown layout {layout!r}; expected one of: {', '.join(LAYOUTS)}")
    options = {k: v for k, v in options.items() if v is not None}
    allowed = {"shapenet": ("split_file", "binvox")}.get(layout, ())
    bad = sorted(set(options) - set(allowed))
    if bad:
        raise UserInputError(
            f"layout {layout!r} does not take {', '.join(bad)} (it takes: {list(allowed) or 'none'})"
        )
    if layout == "shapenet":
        from gen3d.datasets.shapenet import open_shapenet as opener
    elif layout == "pc15k":
        from gen3d.datasets.pc15k import open_pc15k as opener
    elif layout == "modelnet":
        from gen3d.datasets.modelnet import open_modelnet as opener
    else:
        from gen3d.datasets.folder import open_file_folder

        return open_file_folder(layout, root, categories, splits, max_count, seed)
    return opener(root, categories=categories, splits=splits, max_count=max_count, seed=seed, **options)
