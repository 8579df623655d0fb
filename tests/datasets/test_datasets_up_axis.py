"""gen3d prepare --up: the source data's up axis is recorded in the manifest (default by layout), read back by
ShapeCache.up_axis (old caches: y), and changing it on a re-run rewrites only the manifest."""

from __future__ import annotations

import json

import numpy as np
import pytest

from gen3d.cli import main
from gen3d.datasets.cache import ShapeCache, cache_up_axis
from gen3d.datasets.prepare import prepare
from gen3d.errors import UserInputError

from .conftest import make_folder, make_modelnet, make_pc15k


def _prepare(layout, root, out, *extra):
    argv = ["prepare", layout, str(root), "--out", str(out), "--points", "64", "--workers", "1"]
    return main([*argv, "--no-progress", *extra])


def _recorded(out) -> str | None:
    return json.loads((out / "manifest.json").read_text()).get("up_axis")


def test_default_axis_by_layout_and_explicit_axis(tmp_path, capsys):
    assert _prepare("modelnet", make_modelnet(tmp_path / "mn", n=1), tmp_path / "mn_c") == 0
    assert _prepare("pc15k", make_pc15k(tmp_path / "pc", n_points=80), tmp_path / "pc_c") == 0
    folder = make_folder(tmp_path / "f", n=1)
    assert _prepare("folder", folder, tmp_path / "f_c") == 0
    assert _prepare("folder", folder, tmp_path / "f_x", "--up", "x") == 0
    assert _prepare("modelnet", tmp_path / "mn", tmp_path / "mn_y", "--up", "y") == 0
    out = capsys.readouterr().out
    expected = {"mn_c": "z", "pc_c": "y", "f_c": "y", "f_x": "x", "mn_y": "y"}
    for name, axis in expected.items():
        assert _recorded(tmp_path / name) == axis, name
        assert ShapeCache(tmp_path / name).up_axis == axis
        assert f"{tmp_path / name}: " in out and f"up axis {axis}" in out
    with pytest.raises(SystemExit):  # argparse: not one of x, y, z
        _prepare("folder", folder, tmp_path / "bad", "--up", "w")
    with pytest.raises(UserInputError, match="--up: up axis must be one of x, y, z"):
        prepare("folder", folder, tmp_path / "bad", n_points=64, progress=False, up="up")


def test_changing_the_axis_rewrites_only_the_manifest(tmp_path, capsys):
    folder = make_folder(tmp_path / "f", n=2)
    out = tmp_path / "c"
    assert _prepare("folder", folder, out) == 0
    files = sorted((out / "shapes").rglob("*.npz"))
    mtimes = {f: f.stat().st_mtime_ns for f in files}
    params = (out / "params.json").read_text()
    points = ShapeCache(out).load_points("train")[0]

    assert _prepare("folder", folder, out, "--up", "z") == 0  # metadata only: not a parameter clash
    assert "0 processed now" in capsys.readouterr().out
    assert _recorded(out) == "z" and ShapeCache(out).up_axis == "z"
    assert all(f.stat().st_mtime_ns == t for f, t in mtimes.items())  # no shape redone
    assert (out / "params.json").read_text() == params
    np.testing.assert_array_equal(ShapeCache(out).load_points("train")[0], points)  # data are not rotated

    assert _prepare("folder", folder, out) == 0  # --up not given: the recorded axis is kept
    assert "up to date" in capsys.readouterr().out and _recorded(out) == "z"
    assert _prepare("folder", folder, out, "--up", "y") == 0
    assert _recorded(out) == "y"


def test_old_caches_read_as_y_and_unreadable_caches_give_none(tmp_path):
    out = tmp_path / "c"
    assert _prepare("modelnet", make_modelnet(tmp_path / "mn", n=1), out) == 0
    assert cache_up_axis(out) == "z"
    manifest = json.loads((out / "manifest.json").read_text())
    del manifest["up_axis"]  # as written before the axis was recorded
    (out / "manifest.json").write_text(json.dumps(manifest))
    assert ShapeCache(out).up_axis == "y" and cache_up_axis(out) == "y"
    # a re-run of such a cache without --up records the layout's axis (nothing to redo)
    assert _prepare("modelnet", tmp_path / "mn", out) == 0 and _recorded(out) == "z"
    assert cache_up_axis(tmp_path / "missing") is None and cache_up_axis(None) is None
    assert cache_up_axis("memory://gen3d-no-such-cache/c") is None  # a URL holding no cache
