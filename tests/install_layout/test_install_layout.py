"""The install layout (``[tool.setuptools.package-dir]`` in pyproject.toml): gen3d.datasets / gen3d.viz /
gen3d.configs come from the top-level folders, nothing named ``datasets`` or ``viz`` is installed, every
source package is listed in pyproject, and importing gen3d has no side effects."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _pyproject():
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_every_source_package_is_listed_in_pyproject():
    cfg = _pyproject()["tool"]["setuptools"]
    listed = set(cfg["packages"])
    mapping = cfg["package-dir"]
    found = set()
    for pkg, folder in mapping.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder)
            found.add(".".join([pkg, *rel.parts]) if rel.parts else pkg)
    # subpackages of a mapped package that is itself mapped elsewhere are counted once
    missing = sorted(p for p in found if p not in listed)
    assert not missing, f"packages not listed in pyproject [tool.setuptools].packages: {missing}"


def test_no_top_level_datasets_or_viz_installed():
    code = (
        "import importlib.util, gen3d.datasets, gen3d.viz, gen3d.configs;"
        "import sys;"
        "print(importlib.util.find_spec('viz') is None, "
        "importlib.util.find_spec('datasets') is None or "
        "'gen3d' not in (importlib.util.find_spec('datasets').origin or ''))"
    )
    # run outside the repo root so the source folders are not on sys.path by accident
    out = subprocess.run([sys.executable, "-c", code], cwd="/", capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "True"], out.stdout


def test_import_has_no_side_effects():
    code = (
        "import sys, torch; s = torch.initial_seed(); import gen3d, gen3d.cli;"
        "heavy = [m for m in ('open3d', 'trimesh', 'lightning', 'matplotlib') if m in sys.modules];"
        "print(torch.initial_seed() == s, heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd="/", capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True []", out.stdout


def test_cli_help_lists_commands():
    out = subprocess.run(
        [sys.executable, "-m", "gen3d", "--help"], capture_output=True, text=True, check=True
    )
    for name in ("prepare", "synth", "fit", "sample", "evaluate", "export", "render", "view", "demo"):
        assert name in out.stdout, f"`gen3d {name}` missing from --help"
