"""Training-area fixtures: stand-ins for not-yet-available parts, tiny modules and data."""

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

from .standins import install_missing  # noqa: E402


@pytest.fixture(autouse=True)
def _standins(monkeypatch):
    """Fill in gen3d.precond / gen3d.samplers / gen3d.random names the real packages do not define (yet)."""
    return install_missing(monkeypatch)
