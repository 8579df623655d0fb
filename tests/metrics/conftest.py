"""Fixtures for the metrics tests: small random and structured point sets."""

import importlib
import sys
from pathlib import Path

import numpy as np
import pytest


@pytest.fixture
def real_packaging():
    """Make PyPI's ``packaging`` (needed by matplotlib) importable: ``tests/packaging`` shadows it whenever
    ``tests/`` is on sys.path (pytest's rootdir insertion)."""
    mod = sys.modules.get("packaging")
    if mod is not None and hasattr(mod, "version"):
        return
    tests_dir = Path(__file__).resolve().parents[1]
    saved = list(sys.path)
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != tests_dir]
    for name in [m for m in sys.modules if m == "packaging" or m.startswith("packaging.")]:
        del sys.modules[name]
    try:
        importlib.import_module("packaging.version")
    finally:
        sys.path[:] = saved


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
