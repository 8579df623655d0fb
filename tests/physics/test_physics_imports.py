"""Importing the physics modules has no side effects and pulls in no heavy optional dependency."""

import subprocess
import sys


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
