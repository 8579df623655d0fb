"""The import rules of docs/ARCHITECTURE.md: Lightning only in gen3d.training and gen3d.commands, no open3d in
gen3d's core (gen3d.export imports it inside functions only), nothing in gen3d's core imports the viewer wing;
inference does not import Lightning; the Lightning-free model module and the training modules stay apart.

Statement checks read every import with ``ast`` (imports inside functions too). Runtime checks run in a fresh
interpreter, because the test process itself has Lightning loaded. The processes <-/-> nets and samplers -/->
processes rules are in tests/physics/test_physics_imports.py.
"""

from __future__ import annotations

import ast
import importlib.util
import subprocess
import sys
from pathlib import Path

import gen3d

TRAINING = ("lightning", "pytorch_lightning")
PKG = Path(gen3d.__file__).parent
#: source folder of each top-level package (pyproject's package-dir: datasets/ and viz/ are gen3d subpackages)
SOURCES = {
    name: Path(importlib.util.find_spec(name).origin).parent for name in ("gen3d.datasets", "gen3d.viz")
} | {"gen3d": PKG}


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


def _module_name(path: Path) -> str:
    """Dotted name of a source file through the package-dir mapping: ``gen3d/x/y.py`` -> ``gen3d.x.y``,
    ``datasets/cache.py`` -> ``gen3d.datasets.cache``, ``viz/viewer.py`` -> ``gen3d.viz.viewer``."""
    for package, folder in SOURCES.items():
        if folder in path.parents:
            parts = [*package.split("."), *path.relative_to(folder).with_suffix("").parts]
            return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
    raise ValueError(f"{path} is in none of {sorted(SOURCES)}")


def _imports(path: Path, top_level_only: bool = False, module: str | None = None) -> set[str]:
    """Every module named by an import statement in ``path`` (dotted name ``module``, found from the path by
    default): also imports inside functions (unless ``top_level_only``: then only those that run when the
    module is imported), relative ones made absolute, and ``from a import b`` counted as ``a`` and ``a.b``."""
    tree = ast.parse(path.read_text())
    nodes = ast.walk(tree) if not top_level_only else _module_level(tree)
    names = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                module = module or _module_name(path)
                package = module if path.name == "__init__.py" else module.rpartition(".")[0]
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            names.add(base)
            names.update(f"{base}.{a.name}" for a in node.names)
    return names


def _module_level(tree: ast.Module):
    """The nodes of ``tree`` that run at import time: everything except function bodies."""
    todo = list(tree.body)
    while todo:
        node = todo.pop()
        yield node
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            todo.extend(ast.iter_child_nodes(node))


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


def _sources(*folders: str, root: Path = PKG) -> list[Path]:
    """Every ``.py`` file under ``root/<folder>`` (a folder or a single file name)."""
    out = []
    for f in folders:
        p = root / f
        out += [p] if p.is_file() else sorted(p.rglob("*.py"))
    assert out, f"no sources under {folders}"
    return out


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _offenders(files: list[Path], banned: tuple[str, ...], top_level_only: bool = False) -> dict[str, list]:
    """``{file: [imported modules starting with one of banned]}`` for the files that import any."""
    bad = {}
    for f in files:
        hits = sorted(m for m in _imports(f, top_level_only) if any(_within(m, b) for b in banned))
        if hits:
            bad[str(f)] = hits
    return bad


#: the only Lightning code (gen3d.cli only names Lightning's loggers)
LIGHTNING_PACKAGES = ("training", "commands")
#: the core maths: no open3d (and no viewer) at all, not even inside functions
OPEN3D_FREE = (
    "processes", "samplers", "nets", "metrics", "analytic", "physics", "precond.py", "geometry", "tensors.py",
    "random.py", "models.py", "generate.py", "guidance.py", "sample_file.py",
)  # fmt: skip


def test_no_lightning_below_training_and_commands():
    """models.py, processes, samplers, nets, metrics, geometry, export, analytic, physics, ..., the data and
    viewer wings: every module outside gen3d.training and gen3d.commands."""
    below = [f for f in _sources(".") if not any(PKG / p in f.parents for p in LIGHTNING_PACKAGES)]
    below += _sources(".", root=SOURCES["gen3d.datasets"]) + _sources(".", root=SOURCES["gen3d.viz"])
    assert PKG / "models.py" in below and PKG / "processes" / "base.py" in below
    cli = PKG / "cli.py"  # the entry point above the commands: it loads them, never Lightning
    assert not _offenders([f for f in below if f != cli], (*TRAINING, "gen3d.training", "gen3d.commands"))
    assert not _offenders([cli], TRAINING)


def test_no_open3d_or_viewer_in_the_core_and_export_imports_open3d_lazily():
    assert not _offenders(_sources(*OPEN3D_FREE), ("open3d", "gen3d.viz"))
    assert not _offenders(_sources("export"), ("gen3d.viz",))
    assert not _offenders(_sources("export"), ("open3d",), top_level_only=True)


def test_only_the_commands_import_the_viewer_wing():
    outside = [f for f in _sources(".") if PKG / "commands" not in f.parents]
    assert not _offenders(outside, ("gen3d.viz",))


def test_the_import_reader_sees_lazy_relative_and_from_imports(tmp_path):
    """The checks above can fail: a banned import inside a function, a relative one and a ``from`` one."""
    f = tmp_path / "fake.py"
    f.write_text(
        "import numpy\n"
        "from . import edm\n"
        "from ..nets import registry\n"
        "def later():\n"
        "    import lightning.pytorch as pl\n"
        "    from open3d.visualization import rendering\n"
    )
    found = _imports(f, module="gen3d.processes.fake")
    assert found >= {"numpy", "gen3d.processes.edm", "gen3d.nets.registry", "lightning.pytorch"}
    assert "open3d.visualization" in found
    top = _imports(f, top_level_only=True, module="gen3d.processes.fake")
    assert "lightning.pytorch" not in top and "open3d.visualization" not in top and "numpy" in top
    g = tmp_path / "absolute.py"
    g.write_text("def later():\n    from open3d.visualization import rendering\n    import lightningx\n")
    lazy = ["open3d.visualization", "open3d.visualization.rendering"]
    assert _offenders([g], ("open3d", "lightning")) == {str(g): lazy}
    assert not _offenders([g], ("open3d",), top_level_only=True)
    assert _module_name(PKG / "nets" / "points" / "pvcnn.py") == "gen3d.nets.points.pvcnn"
    assert _module_name(SOURCES["gen3d.datasets"] / "cache.py") == "gen3d.datasets.cache"
    assert _module_name(PKG / "processes" / "__init__.py") == "gen3d.processes"


def test_importing_the_core_loads_neither_lightning_nor_open3d():
    """At run time too (physics-side packages: tests/physics/test_physics_imports.py)."""
    _run(
        "import sys\n"
        "import gen3d.models, gen3d.nets, gen3d.metrics, gen3d.geometry, gen3d.export, gen3d.generate\n"
        "import gen3d.sample_file, gen3d.config, gen3d.datasets, gen3d.datasets.cache\n"
        + _assert_not_loaded((*TRAINING, "open3d", "gen3d.viz", "gen3d.training"))
    )
