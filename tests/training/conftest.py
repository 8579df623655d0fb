"""Training-area fixtures: a tiny mesh collection and its prepared cache."""

import pytest


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
