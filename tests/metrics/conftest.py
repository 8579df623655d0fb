"""Fixtures for the metrics tests: small random and structured point sets."""

import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture
def naive_cd():
    return _naive_cd


def _naive_cd(x, y):
    """Chamfer distance by explicit float64 loops over point pairs (reference implementation)."""
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    rows = [min(((a - b) ** 2).sum() for b in y) for a in x]
    cols = [min(((a - b) ** 2).sum() for a in x) for b in y]
    return sum(rows) / len(x) + sum(cols) / len(y)


@pytest.fixture
def make_cache(tmp_path):
    """``make_cache(normalize="bbox", n_points=64, voxels=(), per_category=4, name="cache")`` -> path of a
    prepared cache of two categories of meshes: boxes of varied extents (offset from the origin, so raw and
    normalised units differ) and spheres of varied radii."""
    import trimesh

    from gen3d.datasets.prepare import prepare

    def make(normalize="bbox", n_points=64, voxels=(), per_category=4, name="cache"):
        root = tmp_path / f"{name}_meshes"
        for cat in ("boxes", "balls"):
            (root / cat).mkdir(parents=True, exist_ok=True)
            for i in range(per_category):
                if cat == "boxes":
                    m = trimesh.creation.box(extents=(1 + 0.3 * i, 0.5 + 0.1 * i, 1))
                else:
                    m = trimesh.creation.icosphere(2, radius=0.6 + 0.15 * i)
                m.apply_translation((2.0, 0.5, 0.0)).export(root / cat / f"{cat}{i}.obj")
        out = tmp_path / name
        prepare("folder", root, out, n_points=n_points, voxels=voxels, normalize=normalize, progress=False)
        return out

    return make
