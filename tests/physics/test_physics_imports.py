"""Importing the physics modules has no side effects and pulls in no heavy optional dependency."""

import ast
import subprocess
import sys
from pathlib import Path

import gen3d


def test_physics_imports_are_light():
    code = (
        "import sys, torch\n"
        "seed_before = torch.initial_seed()\n"
        "import gen3d.processes, gen3d.samplers, gen3d.analytic, gen3d.precond, gen3d.random\n"
        "heavy = [m for m in ('lightning', 'open3d', 'trimesh', 'matplotlib', 'scipy') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "assert torch.initial_seed() == seed_before\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def _fresh(code: str) -> None:
    res = subprocess.run([sys.executable, "-c", "import sys\n" + code], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr


def test_samplers_do_not_import_processes():
    """Samplers and processes share gen3d.tensors; the samplers never need a process."""
    _fresh(
        "import gen3d.samplers\nassert 'gen3d.processes' not in sys.modules, 'samplers import processes'\n"
    )


def test_processes_and_nets_do_not_import_each_other():
    _fresh("import gen3d.processes\nassert not [m for m in sys.modules if m.startswith('gen3d.nets')]\n")
    _fresh("import gen3d.nets\nassert not [m for m in sys.modules if m.startswith('gen3d.processes')]\n")


def _imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_no_lazy_import_crosses_the_layers_either():
    """Imports inside functions too: samplers -/-> processes, processes <-/-> nets, precond -/-> processes."""
    root = Path(gen3d.__file__).parent
    rules = [
        ("samplers", "gen3d.processes"),
        ("processes", "gen3d.nets"),
        ("nets", "gen3d.processes"),
    ]
    for sub, banned in rules:
        for f in sorted((root / sub).rglob("*.py")):
            bad = [m for m in _imported_modules(f) if m.startswith(banned)]
            assert not bad, f"{f.relative_to(root)} imports {bad}"
    assert not [m for m in _imported_modules(root / "precond.py") if m.startswith("gen3d.processes")]
