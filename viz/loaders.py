"""Read shapes to show: sample files (.npz/.npy), point files (.ply/.npy/.npz), meshes
(.obj/.off/.ply/.stl/.glb) and .binvox grids, into one :class:`ShapeSet`."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np

from gen3d.errors import UserInputError

__all__ = ["ShapeSet", "load_shapes", "resolve_up_axis"]

_MESH_SUFFIXES = (".obj", ".off", ".stl", ".glb", ".gltf", ".ply")


@dataclass
class ShapeSet:
    """``shapes``: list of inputs gen3d.viz can draw; ``titles`` one per shape; optional ``trajectory``
    (T,S,...) with ``traj_sigmas`` (T,); ``voxels`` kept as an alternative representation when a sample file
    holds both points and voxels."""

    shapes: list
    titles: list[str]
    trajectory: np.ndarray | None = None
    traj_sigmas: np.ndarray | None = None
    voxels: np.ndarray | None = None
    meta: dict = field(default_factory=dict)


def resolve_up_axis(given: str | None, shape_set: ShapeSet) -> str:
    """The up axis to draw ``shape_set`` with: ``given`` (``--up``), else the one its sample file records
    (``meta["up_axis"]``, written by ``gen3d sample``), else "y". UserInputError for an unknown axis."""
    from gen3d.geometry.up_axis import DEFAULT_UP_AXIS, check_up_axis

    axis = given if given is not None else shape_set.meta.get("up_axis", DEFAULT_UP_AXIS)
    try:
        return check_up_axis(axis)
    except ValueError as e:
        where = "--up" if given is not None else "the sample file's meta['up_axis']"
        raise UserInputError(f"{where}: {e}") from None


def _from_sample_file(path: Path) -> ShapeSet:
    from gen3d.sample_file import load_samples

    sf = load_samples(path)
    names = sf.meta.get("class_names") or []
    titles = []
    for i in range(sf.num_shapes):
        t = f"#{i}"
        if sf.seeds is not None:
            t += f" seed {int(sf.seeds[i])}"
        if sf.labels is not None and 0 <= int(sf.labels[i]) < len(names):
            t += f" {names[int(sf.labels[i])]}"
        titles.append(t)
    shapes = list(sf.points) if sf.points is not None else [v[0] for v in sf.voxels]
    voxels = sf.voxels if sf.points is not None else None
    return ShapeSet(shapes, titles, sf.trajectory, sf.traj_sigmas, voxels, sf.meta)


def _from_binvox(path: Path) -> ShapeSet:
    from gen3d.datasets.binvox import read_binvox

    return ShapeSet([read_binvox(path).occupancy.astype(np.float32)], [path.stem])


def _from_mesh_file(path: Path) -> ShapeSet:
    import trimesh

    try:
        obj = trimesh.load(str(path), process=False)
    except Exception as e:  # trimesh raises many types for a bad file
        raise UserInputError(f"cannot read {path}: {e}") from e
    if isinstance(obj, trimesh.Scene):
        obj = obj.to_geometry() if hasattr(obj, "to_geometry") else obj.dump(concatenate=True)
    if isinstance(obj, trimesh.PointCloud) or not len(getattr(obj, "faces", [])):
        return ShapeSet([np.asarray(obj.vertices, dtype=np.float32)], [path.stem])
    return ShapeSet([obj], [path.stem])


def load_shapes(path: str | os.PathLike) -> ShapeSet:
    """Load every shape in ``path``; raise :class:`UserInputError` for a missing file or unknown format.
    ``path`` may be an fsspec URL string (``s3://bucket/samples.npz``): streamed into a temporary file first.
    """
    from gen3d.storage.urls import is_url, local_path

    if is_url(path) and local_path(path) is None:
        from gen3d.storage.transfer import fetched

        name = PurePosixPath(str(path))
        with fetched(str(path), suffix=name.suffix) as local:
            shape_set = load_shapes(local)
        if name.suffix.lower() not in (".npz", ".npy"):  # one mesh or grid, titled by its file name
            shape_set.titles = [name.stem]
        return shape_set
    path = local_path(path) or Path(path)
    if not path.is_file():
        raise UserInputError(f"no file at {path}")
    suffix = path.suffix.lower()
    if suffix in (".npz", ".npy"):
        return _from_sample_file(path)
    if suffix == ".binvox":
        return _from_binvox(path)
    if suffix in _MESH_SUFFIXES:
        return _from_mesh_file(path)
    raise UserInputError(
        f"unsupported file {path.name}: expected a sample file (.npz/.npy), a mesh or point file "
        f"({' '.join(_MESH_SUFFIXES)}) or a .binvox grid"
    )
