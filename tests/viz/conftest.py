"""Fixtures for rendering tests: shapes from trimesh primitives and one offscreen backend check."""

import numpy as np
import pytest
import trimesh


@pytest.fixture(scope="session")
def offscreen():
    """Fail (not skip) when the offscreen backend is missing: `make setup` installs it, so a miss is a bug."""
    from gen3d.viz.backend import offscreen_problem

    problem = offscreen_problem()
    if problem:
        pytest.fail(problem)


@pytest.fixture(scope="session")
def prim_points():
    """Surface samples (2048,3) of a box, a sphere and a torus (fixed seeds)."""
    meshes = {
        "box": trimesh.creation.box((1.2, 0.6, 0.9)),
        "sphere": trimesh.creation.icosphere(3, 0.7),
        "torus": trimesh.creation.torus(0.6, 0.25),
    }
    return {
        k: trimesh.sample.sample_surface(m, 2048, seed=0)[0].astype(np.float32) for k, m in meshes.items()
    }


def _silhouette(img: np.ndarray) -> np.ndarray:
    """Foreground mask (H,W) of a rendering on a white background."""
    return np.asarray(img)[..., :3].astype(int).sum(-1) < 3 * 245


@pytest.fixture(scope="session")
def silhouette():
    """The foreground-mask function (a fixture so test modules need not import conftest)."""
    return _silhouette
