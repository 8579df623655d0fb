"""Inference does not import Lightning; the Lightning-free model module and the training modules stay apart.

Each check runs in a fresh interpreter, because the test process itself has Lightning loaded.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import gen3d

TRAINING = ("lightning", "pytorch_lightning")
PKG = Path(gen3d.__file__).parent


def _run(code: str) -> None:
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr


def _assert_not_loaded(mods=TRAINING) -> str:
    return f"bad = [m for m in {mods!r} if m in sys.modules]\nassert not bad, bad\n"


def test_gen3d_sample_does_not_import_lightning(tiny_ckpt, tmp_path):
    out = tmp_path / "s.npz"
    args = ["sample", "--ckpt", str(tiny_ckpt), "--out", str(out), "--n", "2", "--steps", "2"]
    args += ["--device", "cpu", "--no-progress"]
    _run(f"import sys\nfrom gen3d.cli import main\nassert main({args!r}) == 0\n" + _assert_not_loaded())
    assert out.is_file()


def test_load_denoiser_entry_point_does_not_import_lightning(tiny_ckpt):
    _run(
        "import sys, torch\n"
        "import gen3d\n"
        f"den, config, process = gen3d.load_denoiser({str(tiny_ckpt)!r})\n"
        "x = torch.zeros(1, 16, 3)\n"
        "assert den(x, torch.ones(1)).shape == x.shape\n" + _assert_not_loaded()
    )


def test_import_gen3d_is_light_and_load_denoiser_is_lazy():
    _run(
        "import sys\n"
        "import gen3d\n"
        + _assert_not_loaded(("torch", "gen3d.models", *TRAINING))
        + "from gen3d import load_denoiser\n"
        "import gen3d.models\n"
        "assert load_denoiser is gen3d.models.load_denoiser\n"
        "assert 'load_denoiser' in dir(gen3d)\n"
    )


def _imports(path: Path) -> set[str]:
    """Every module named by an import statement in ``path`` (also imports inside functions)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_models_module_never_imports_training_code():
    bad = {
        m
        for m in _imports(PKG / "models.py")
        if m.split(".")[0] in TRAINING or m.startswith("gen3d.training")
    }
    assert not bad


def test_checkpoint_and_components_do_not_import_each_other():
    """checkpoint.py never imports components.py; components.py imports checkpoint.py only lazily (its
    Trainer uses AtomicCheckpointIO), so neither module pulls in the other when imported."""
    assert not any("components" in m for m in _imports(PKG / "training" / "checkpoint.py"))
    _run(
        "import sys\n"
        "import gen3d.training.checkpoint\n"
        "assert 'gen3d.training.components' not in sys.modules\n"
    )
    _run(
        "import sys\n"
        "import gen3d.training.components\n"
        "assert 'gen3d.training.checkpoint' not in sys.modules\n"
    )
