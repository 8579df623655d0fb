"""Training-area fixtures: a tiny mesh collection and its prepared cache."""

import importlib
import sys
from pathlib import Path

import pytest


def _import_real_packaging():
    """``tests/packaging`` (a test package) shadows PyPI's ``packaging`` once ``tests/`` is on sys.path, which
    breaks ``import lightning``. Import the real one first, with ``tests/`` taken off the path."""
    mod = sys.modules.get("packaging")
    if mod is not None and hasattr(importlib.import_module("packaging"), "requirements"):
        return
    tests_dir = str(Path(__file__).resolve().parents[1])
    saved = list(sys.path)
    sys.path[:] = [p for p in sys.path if str(Path(p or ".").resolve()) != tests_dir]
    for name in [m for m in sys.modules if m == "packaging" or m.startswith("packaging.")]:
        del sys.modules[name]
    try:
        importlib.import_module("packaging.requirements")
        importlib.import_module("packaging.version")
    finally:
        sys.path[:] = saved


_import_real_packaging()


@pytest.fixture(scope="session")
def tiny_collection(tmp_path_factory):
    """A mesh-folder collection with classes airplane / car / chair, 4 primitives each."""
    import trimesh

    root = tmp_path_factory.mktemp("collection")
    makers = {
        "airplane": lambda i: trimesh.creation.box(extents=(2.0, 0.3 + 0.05 * i, 0.6)),
        "car": lambda i: trimesh.creation.cylinder(radius=0.5, height=1.0 + 0.2 * i, sections=10),
        "chair": lambda i: trimesh.creation.icosphere(subdivisions=1, radius=1.0 + 0.1 * i),
    }
    for name, make in makers.items():
        (root / name).mkdir()
        for i in range(4):
            make(i).export(root / name / f"{name}{i}.obj")
    return root


@pytest.fixture(scope="session")
def tiny_cache(tiny_collection, tmp_path_factory):
    """The collection prepared (per-shape bbox normalisation): 128 points per shape and 8^3 solid grids."""
    from gen3d.datasets.prepare import prepare

    out = tmp_path_factory.mktemp("cache") / "cache"
    prepare("folder", tiny_collection, out, n_points=128, voxels=(8,), progress=False)
    return out
