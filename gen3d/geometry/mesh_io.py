"""Mesh loading and validity checks.

:func:`load_mesh` reads obj/off/ply/stl/glb/gltf into plain arrays (vertices ``(V, 3)`` float64, faces
``(F, 3)`` int64). Scenes (ShapeNet objs with many groups/materials, glTF node trees) are flattened with
their node transforms applied; materials and textures are never needed, so missing ``.mtl``/image files
cannot fail a load. OFF files are parsed here (ModelNet writes the keyword glued to the counts: ``OFF490 518
0``). Polygons are fan-triangulated. Nothing is repaired or merged: :func:`check_mesh` says whether the
arrays are usable.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from gen3d.errors import UserInputError

__all__ = ["MESH_SUFFIXES", "load_mesh", "check_mesh", "parse_off"]

MESH_SUFFIXES = (".obj", ".off", ".ply", ".stl", ".glb", ".gltf")

_EMPTY = (np.zeros((0, 3), dtype=np.float64), np.zeros((0, 3), dtype=np.int64))


def load_mesh(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Load a triangle mesh: ``(vertices (V, 3) float64, faces (F, 3) int64)``.

    A file without any triangle geometry (empty scene, point-only PLY) gives empty arrays, which
    :func:`check_mesh` reports. Raises :class:`~gen3d.errors.UserInputError` when the file is missing, has an
    unsupported suffix, or cannot be parsed.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in MESH_SUFFIXES:
        raise UserInputError(f"{path}: unsupported mesh format {suffix!r}; expected one of {MESH_SUFFIXES}")
    if not path.is_file():
        raise UserInputError(f"{path}: mesh file not found")
    try:
        if suffix == ".off":
            return parse_off(path.read_bytes())
        return _load_trimesh(path, suffix)
    except UserInputError:
        raise
    except Exception as e:  # every parser failure is a bad file, reported with its cause
        raise UserInputError(f"{path}: unreadable mesh ({type(e).__name__}: {e})") from e


def _load_trimesh(path: Path, suffix: str) -> tuple[np.ndarray, np.ndarray]:
    import trimesh

    kwargs = {"process": False}
    if suffix == ".obj":
        kwargs["skip_materials"] = True  # ShapeNet's .mtl/textures are often missing and never needed
    with open(path, "rb") as f:
        loaded = trimesh.load(
            f, file_type=suffix[1:], resolver=trimesh.resolvers.FilePathResolver(path), **kwargs
        )
    if isinstance(loaded, trimesh.Scene):
        parts = []
        # dump() applies each node's transform; keep triangle geometry only (skip paths, point clouds)
        for geom in loaded.dump(concatenate=False):
            if isinstance(geom, trimesh.Trimesh):
                parts.append((np.asarray(geom.vertices, np.float64), np.asarray(geom.faces, np.int64)))
        return _concatenate(parts)
    if isinstance(loaded, trimesh.Trimesh):
        return np.asarray(loaded.vertices, np.float64).reshape(-1, 3), np.asarray(
            loaded.faces, np.int64
        ).reshape(-1, 3)
    if isinstance(loaded, trimesh.PointCloud):  # vertices without faces: check_mesh reports "no faces"
        return np.asarray(loaded.vertices, np.float64).reshape(-1, 3), np.zeros((0, 3), dtype=np.int64)
    return _EMPTY  # Path and other non-surface geometry


def _concatenate(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Stack meshes into one, offsetting each part's face indices by the vertices before it."""
    if not parts:
        return _EMPTY
    offsets = np.cumsum([0] + [v.shape[0] for v, _ in parts[:-1]])
    vertices = np.concatenate([v.reshape(-1, 3) for v, _ in parts], axis=0)
    faces = np.concatenate([f.reshape(-1, 3) + o for (_, f), o in zip(parts, offsets)], axis=0)
    return vertices, faces


def parse_off(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Parse OFF bytes into ``(vertices (V, 3) float64, faces (F, 3) int64)``.

    Accepts the keyword on its own line or glued to the counts (``OFF490 518 0``), ``#`` comments, blank
    lines, and polygons of any size (fan-triangulated: ``v0 v1 v2``, ``v0 v2 v3``, ...). Per-vertex and
    per-face colours after the listed values are ignored.
    """
    text = data.decode("utf-8", errors="replace")
    lines = [ln.split("#", 1)[0].strip() for ln in text.splitlines()]
    lines = [ln for ln in lines if ln]
    if not lines:
        raise ValueError("empty OFF file")
    head = lines[0]
    m = re.match(r"^(C?N?OFF)\s*(.*)$", head, flags=re.IGNORECASE)
    if not m:
        raise ValueError(f"not an OFF file (first line {head[:40]!r})")
    rest = m.group(2)
    body = lines[1:]
    if not rest:  # counts on the next line
        if not body:
            raise ValueError("OFF file has no vertex/face count line")
        rest, body = body[0], body[1:]
    counts = rest.split()
    if len(counts) < 2:
        raise ValueError(f"malformed OFF count line {rest!r}")
    n_vertices, n_faces = int(counts[0]), int(counts[1])
    if n_vertices < 0 or n_faces < 0 or len(body) < n_vertices + n_faces:
        raise ValueError(
            f"OFF file declares {n_vertices} vertices and {n_faces} faces but has {len(body)} data lines"
        )
    vertex_lines = body[:n_vertices]
    vertices = _fixed_width(vertex_lines, 3, np.float64)
    if vertices is None:  # extra per-vertex values (colours, normals): keep the first three
        vertices = np.array([ln.split()[:3] for ln in vertex_lines], dtype=np.float64).reshape(-1, 3)
    faces = _off_faces(body[n_vertices : n_vertices + n_faces])
    return vertices, faces


def _fixed_width(lines: list[str], width: int, dtype) -> np.ndarray | None:
    """Fast path: lines of exactly ``width`` numbers each, parsed by numpy's C reader (which rejects ragged
    rows); None when they are not all of that form."""
    if not lines:
        return np.zeros((0, width), dtype=dtype)
    try:
        out = np.loadtxt(lines, dtype=dtype, ndmin=2, comments=None)
    except ValueError:
        return None
    return out if out.shape == (len(lines), width) else None


def _off_faces(face_lines: list[str]) -> np.ndarray:
    if not face_lines:
        return np.zeros((0, 3), dtype=np.int64)
    quick = _fixed_width(face_lines, 4, np.int64)
    if quick is not None and np.all(quick[:, 0] == 3):  # all triangles, no colours
        return quick[:, 1:].copy()
    rows = [ln.split() for ln in face_lines]
    if all(r[0] == "3" for r in rows):  # fast path: all triangles (colours after index 4 ignored)
        return np.array([r[1:4] for r in rows], dtype=np.int64).reshape(-1, 3)
    tris = []
    for r in rows:
        k = int(r[0])
        idx = [int(v) for v in r[1 : k + 1]]
        if k < 3 or len(idx) < k:
            raise ValueError(f"malformed OFF face line {' '.join(r)!r}")
        tris.extend((idx[0], idx[i], idx[i + 1]) for i in range(1, k - 1))
    return np.array(tris, dtype=np.int64).reshape(-1, 3)


def check_mesh(vertices: np.ndarray, faces: np.ndarray) -> str | None:
    """``None`` if the mesh can be sampled and voxelised, else a short reason.

    Reasons, in the order checked: ``"empty"`` (no vertices), ``"nan/inf vertices"``, ``"no faces"``,
    ``"face index out of range"``, ``"zero surface area"`` (every face collapses to a point),
    ``"degenerate (all faces collinear)"`` (faces have extent but no area). Areas are compared with a
    tolerance relative to the mesh's size, so a zero-area test does not depend on units.
    """
    v = np.asarray(vertices)
    f = np.asarray(faces)
    if v.size == 0:
        return "empty"
    if v.ndim != 2 or v.shape[1] != 3:
        raise ValueError(f"vertices must have shape (V, 3), got {v.shape}")
    if f.size and (f.ndim != 2 or f.shape[1] != 3):
        raise ValueError(f"faces must have shape (F, 3), got {f.shape}")
    if not np.all(np.isfinite(v)):
        return "nan/inf vertices"
    if f.size == 0:
        return "no faces"
    if f.min() < 0 or f.max() >= v.shape[0]:
        return "face index out of range"
    v = v.astype(np.float64, copy=False)
    tri = v[f]  # (F, 3, 3)
    e1, e2 = tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]
    longest_edge = np.sqrt(np.maximum((e1**2).sum(1), np.maximum((e2**2).sum(1), ((e2 - e1) ** 2).sum(1))))
    size = float(longest_edge.max())
    if size == 0.0:
        return "zero surface area"
    area = 0.5 * np.linalg.norm(np.cross(e1, e2), axis=1).sum()
    if area <= 1e-12 * size**2:
        return "degenerate (all faces collinear)"
    return None
