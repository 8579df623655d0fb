"""Synthetic ShapeNet-like collection: deterministic procedural meshes written as a ShapeNetCore v2 tree.

Layout (what :func:`gen3d.datasets.open_dataset` ``("shapenet", root)`` reads)::

    <out>/taxonomy.json                      [{"synsetId", "name", "children", "numInstances"}, ...]
    <out>/synth_info.json                    generator parameters (seed, counts, version)
    <out>/<synset>/<modelId>/models/model_normalized.obj   one group + material per part
    <out>/<synset>/<modelId>/models/model_normalized.mtl
    <out>/<synset>/<modelId>/models/model_normalized.json  {"id", "numVertices", "min", "max", "centroid"}

Shapes come from :mod:`gen3d.datasets.synth_shapes` (y up, front +z) and are normalised like ShapeNetCore v2:
bounding-box centre at the origin, bounding-box diagonal of length 1. Shape ``i`` of a category depends only
on ``(seed, category, i)``, and its model id is a 32-hex-digit hash of the same triple, so the same seed
gives a byte-identical tree, and a larger ``per_category`` only adds models. Every file is written atomically.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gen3d.atomic import atomic_write_text
from gen3d.datasets.synth_parts import merge
from gen3d.datasets.synth_shapes import BUILDERS
from gen3d.errors import UserInputError

__all__ = [
    "CATEGORIES",
    "DEFAULT_PER_CATEGORY",
    "SynthShape",
    "model_id",
    "build_shape",
    "obj_text",
    "write_collection",
]

CATEGORIES: tuple[str, ...] = tuple(sorted(BUILDERS))
DEFAULT_PER_CATEGORY = 50
GENERATOR_VERSION = 1  # bump when shapes change, so a cache can tell collections apart

# per-material diffuse colours written to the .mtl (cosmetic; deterministic)
_PALETTE = [
    (0.55, 0.35, 0.2),
    (0.3, 0.3, 0.32),
    (0.8, 0.8, 0.78),
    (0.2, 0.35, 0.6),
    (0.7, 0.2, 0.15),
    (0.25, 0.5, 0.3),
]


@dataclass(frozen=True)
class SynthShape:
    """One generated shape: ``vertices (V, 3)`` float64 (ShapeNet v2 normalised), ``faces (F, 3)`` int64,
    ``groups`` = (material, first face, face count) per part."""

    category: str
    synset: str
    model_id: str
    vertices: np.ndarray
    faces: np.ndarray
    groups: list[tuple[str, int, int]]


def _check_category(category: str) -> tuple[str, str, object]:
    if category not in BUILDERS:
        raise UserInputError(f"unknown synthetic category {category!r}; choose from {', '.join(CATEGORIES)}")
    return BUILDERS[category]


def model_id(seed: int, category: str, index: int) -> str:
    """Deterministic ShapeNet-style model id (32 lowercase hex digits) of shape ``index`` of ``category``."""
    synset = _check_category(category)[0]
    return hashlib.sha256(f"gen3d-synth/{seed}/{synset}/{index}".encode()).hexdigest()[:32]


def _normalize_v2(vertices: np.ndarray) -> np.ndarray:
    """ShapeNetCore v2 normalisation: bounding-box centre to the origin, bounding-box diagonal to 1."""
    lo, hi = vertices.min(axis=0), vertices.max(axis=0)
    return (vertices - (lo + hi) / 2) / np.linalg.norm(hi - lo)


def build_shape(category: str, seed: int, index: int) -> SynthShape:
    """Build shape ``index`` of ``category`` for ``seed`` (independent of every other shape)."""
    synset, _, builder = _check_category(category)
    cat_index = CATEGORIES.index(category)
    rng = np.random.default_rng([int(seed), cat_index, int(index)])
    vertices, faces, groups = merge(builder(rng))
    return SynthShape(
        category, synset, model_id(seed, category, index), _normalize_v2(vertices), faces, groups
    )


def obj_text(shape: SynthShape, mtl_name: str = "model_normalized.mtl") -> str:
    """Wavefront OBJ text of a shape: one ``g``/``usemtl`` block per part, 1-based indices, 6 decimals."""
    lines = [f"# gen3d synthetic {shape.category} {shape.model_id}", f"mtllib {mtl_name}"]
    lines += [f"v {x:.6f} {y:.6f} {z:.6f}" for x, y, z in shape.vertices.tolist()]
    faces = (shape.faces + 1).tolist()
    for k, (material, first, count) in enumerate(shape.groups):
        lines += [f"g part_{k:02d}_{material}", f"usemtl {material}"]
        lines += [f"f {a} {b} {c}" for a, b, c in faces[first : first + count]]
    return "\n".join(lines) + "\n"


def _mtl_text(shape: SynthShape) -> str:
    names = sorted({m for m, _, _ in shape.groups})
    out = []
    for name in names:
        # colour from a stable hash of the name (Python's hash() is salted per process)
        r, g, b = _PALETTE[int(hashlib.md5(name.encode()).hexdigest(), 16) % len(_PALETTE)]
        out += [f"newmtl {name}", f"Kd {r:.3f} {g:.3f} {b:.3f}", "Ka 0 0 0", "Ks 0.1 0.1 0.1", "d 1", ""]
    return "\n".join(out)


def _model_json(shape: SynthShape, vertices: np.ndarray) -> str:
    info = {
        "id": shape.model_id,
        "numVertices": int(vertices.shape[0]),
        "min": [round(float(x), 6) for x in vertices.min(axis=0)],
        "max": [round(float(x), 6) for x in vertices.max(axis=0)],
        "centroid": [round(float(x), 6) for x in vertices.mean(axis=0)],
    }
    return json.dumps(info) + "\n"


def write_collection(
    out_dir: str | os.PathLike,
    per_category: int = DEFAULT_PER_CATEGORY,
    seed: int = 0,
    categories: list[str] | None = None,
    overwrite: bool = False,
) -> dict[str, int]:
    """Write the collection to ``out_dir``; returns ``{category: number of models}``.

    ``out_dir`` must be absent or empty unless ``overwrite`` (then files are replaced one by one; files from
    an earlier, larger run are left in place). Raises :class:`~gen3d.errors.UserInputError` for a bad count,
    an unknown category, or a non-empty folder.
    """
    out = Path(out_dir)
    if int(per_category) != per_category or per_category < 1:
        raise UserInputError(f"per_category must be a positive integer, got {per_category!r}")
    cats = list(CATEGORIES) if not categories else list(dict.fromkeys(categories))
    for c in cats:
        _check_category(c)
    if out.exists() and not out.is_dir():
        raise UserInputError(f"{out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise UserInputError(f"{out} is not empty; choose a new folder or pass --overwrite")
    out.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    for category in cats:
        for i in range(int(per_category)):
            shape = build_shape(category, seed, i)
            folder = out / shape.synset / shape.model_id / "models"
            atomic_write_text(folder / "model_normalized.obj", obj_text(shape))
            atomic_write_text(folder / "model_normalized.mtl", _mtl_text(shape))
            # json statistics from the vertices as written (6 decimals), like ShapeNet's own files
            written = np.round(shape.vertices, 6)
            atomic_write_text(folder / "model_normalized.json", _model_json(shape, written))
        counts[category] = int(per_category)
    taxonomy = [
        {"synsetId": BUILDERS[c][0], "name": BUILDERS[c][1], "children": [], "numInstances": counts[c]}
        for c in sorted(cats, key=lambda c: BUILDERS[c][0])
    ]
    atomic_write_text(out / "taxonomy.json", json.dumps(taxonomy, indent=1) + "\n")
    info = {
        "generator": "gen3d synth",
        "version": GENERATOR_VERSION,
        "seed": int(seed),
        "per_category": int(per_category),
        "categories": cats,
        "orientation": "y up, front +z; ShapeNetCore v2 normalisation (bbox centre 0, bbox diagonal 1)",
    }
    atomic_write_text(out / "synth_info.json", json.dumps(info, indent=1) + "\n")
    return counts
