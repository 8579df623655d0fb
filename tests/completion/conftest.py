"""Completion fixtures: exact mixture denoisers (known answers) and a tiny checkpoint written by the real
components (``tests/core/conftest.py``)."""

from __future__ import annotations

import numpy as np
import pytest


def unit_sphere_templates(k: int, n: int, seed: int = 0) -> np.ndarray:
    """``k`` random clouds (k, n, 3) float32, each normalised to the unit sphere."""
    from gen3d.geometry import fit_normalization

    t = np.random.default_rng(seed).standard_normal((k, n, 3))
    return np.stack([fit_normalization("unit_sphere", c).apply(c) for c in t]).astype(np.float32)


@pytest.fixture(scope="session")
def tiny_ckpt(tmp_path_factory):
    """An untrained 16-point EDM checkpoint with a tiny PVCNN (unit normalisation of demo_points)."""
    from tests.core.conftest import write_checkpoint

    return write_checkpoint(tmp_path_factory.mktemp("completion_ckpt") / "edm.ckpt", "edm")[0]


@pytest.fixture(scope="session")
def mesh_cache(tmp_path_factory):
    """Six meshes (spheres of radius 1..1.5, boxes) prepared with 3 partial views each (depth scans)."""
    import trimesh

    from gen3d.cli import main

    root = tmp_path_factory.mktemp("meshes")
    for i in range(3):
        (root / "sphere").mkdir(exist_ok=True)
        (root / "box").mkdir(exist_ok=True)
        trimesh.creation.icosphere(3, radius=1.0 + 0.25 * i).export(root / "sphere" / f"s{i}.obj")
        trimesh.creation.box(extents=(1.0, 0.5 + 0.1 * i, 0.3)).export(root / "box" / f"b{i}.obj")
    out = root / "cache"
    args = ["prepare", "folder", str(root), "--out", str(out), "--points", "64", "--normalize", "unit_sphere"]
    args += ["--partial-views", "3", "--partial-points", "40", "--partial-noise", "0.001"]
    args += ["--partial-dropout", "0.2", "--workers", "1", "--no-progress"]
    assert main(args) == 0
    return out
