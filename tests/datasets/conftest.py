"""Fake collections of every layout, built from trimesh primitives in tmp_path."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

CHAIR, TABLE = "03001627", "04379243"


def box(extents=(1.0, 1.0, 1.0), offset=(0.0, 0.0, 0.0)):
    import trimesh

    m = trimesh.creation.box(extents=extents)
    m.apply_translation(offset)
    return m


def shapes(i: int):
    """Three distinguishable primitives, varied by ``i``."""
    import trimesh

    return [
        box((1.0 + 0.2 * i, 0.5, 2.0)),
        trimesh.creation.icosphere(subdivisions=1, radius=1.0 + 0.1 * i),
        trimesh.creation.cylinder(radius=0.5, height=1.0 + 0.3 * i, sections=12),
    ][i % 3]


def glued_off(mesh) -> str:
    """ModelNet's quirk: ``OFF`` glued to the counts on the first line."""
    v, f = np.asarray(mesh.vertices), np.asarray(mesh.faces)
    lines = (
        [f"OFF{len(v)} {len(f)} 0"] + [f"{a} {b} {c}" for a, b, c in v] + [f"3 {a} {b} {c}" for a, b, c in f]
    )
    return "\n".join(lines) + "\n"


def make_shapenet(root: Path, version: int = 2, n: int = 4, taxonomy: bool = True) -> Path:
    for syn in (CHAIR, TABLE):
        for i in range(n):
            d = root / syn / f"{syn[-3:]}model{i}"
            path = d / ("models/model_normalized.obj" if version == 2 else "model.obj")
            path.parent.mkdir(parents=True, exist_ok=True)
            shapes(i).export(path)
    if taxonomy:
        (root / "taxonomy.json").write_text(
            json.dumps(
                [
                    {"synsetId": CHAIR, "name": "chair", "children": []},
                    {"synsetId": TABLE, "name": "table,tabular array", "children": []},
                ]
            )
        )
    return root


def make_pc15k(root: Path, n_points: int = 300) -> Path:
    rng = np.random.default_rng(0)
    for syn in (CHAIR, TABLE):
        for split, k in (("train", 3), ("val", 1), ("test", 1)):
            d = root / syn / split
            d.mkdir(parents=True, exist_ok=True)
            for i in range(k):
                np.save(d / f"{split}{i}.npy", rng.normal(size=(n_points, 3)).astype(np.float32))
    return root


def make_modelnet(root: Path, n: int = 2) -> Path:
    for cls in ("bed", "desk"):
        for split in ("train", "test"):
            d = root / cls / split
            d.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                (d / f"{cls}_{i + 1:04d}.off").write_text(glued_off(shapes(i)))
    return root


def make_folder(root: Path, n: int = 3) -> Path:
    for cat, ext in (("cups", "ply"), ("boxes", "stl"), ("balls", "obj")):
        (root / cat).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            shapes(i).export(root / cat / f"{cat}{i}.{ext}")
    return root


@pytest.fixture
def shapenet_root(tmp_path):
    return make_shapenet(tmp_path / "ShapeNetCore.v2")


@pytest.fixture
def pc15k_root(tmp_path):
    return make_pc15k(tmp_path / "PC15k")


@pytest.fixture
def modelnet_root(tmp_path):
    return make_modelnet(tmp_path / "ModelNet10")


@pytest.fixture
def folder_root(tmp_path):
    return make_folder(tmp_path / "meshes")
