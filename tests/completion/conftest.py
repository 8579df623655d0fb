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
