"""Mesh writers and reader: .ply .obj .stl .off .glb through trimesh; every write is atomic."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from gen3d.atomic import atomic_write_bytes
from gen3d.errors import UserInputError

__all__ = ["FORMATS", "read_mesh", "write_mesh"]

FORMATS = ("ply", "obj", "stl", "off", "glb")


def _format_of(path: Path | PurePosixPath, fmt: str | None) -> str:
    fmt = (fmt or path.suffix.lstrip(".")).lower()
    if fmt not in FORMATS:
        raise UserInputError(
            f"unsupported mesh format {fmt!r} for {path}; choose one of {', '.join(FORMATS)}"
        )
    return fmt


def write_mesh(mesh, path: str | os.PathLike, fmt: str | None = None) -> Path | str:
    """Write a ``trimesh.Trimesh`` to ``path`` (format: ``fmt`` or the suffix) atomically; return it.

    PLY and GLB are binary; OBJ is written without normals or materials (geometry only). ``path`` may be an
    fsspec URL string (``s3://bucket/meshes/a.ply``): the bytes are uploaded in one operation and the URL
    string is returned.
    """
    from gen3d.storage.urls import is_url

    out: Path | str = str(path) if is_url(path) else Path(path)
    fmt = _format_of(PurePosixPath(str(out)) if isinstance(out, str) else out, fmt)
    kwargs = {"include_normals": False} if fmt == "obj" else {}
    data = mesh.export(file_type=fmt, **kwargs)
    atomic_write_bytes(out, data.encode("utf-8") if isinstance(data, str) else bytes(data))
    return out


def read_mesh(path: str | os.PathLike):
    """Read one of :data:`FORMATS` as a single ``trimesh.Trimesh`` (scenes, e.g. GLB, are merged)."""
    import trimesh

    path = Path(path)
    fmt = _format_of(path, None)
    if not path.is_file():
        raise UserInputError(f"no mesh file at {path}")
    try:
        mesh = trimesh.load(str(path), file_type=fmt, force="mesh", process=True)
    except Exception as e:  # trimesh raises many types for a bad file
        raise UserInputError(f"cannot read mesh {path}: {e}") from e
    return mesh
