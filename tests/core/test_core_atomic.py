"""Atomic writes: complete file or nothing, ordinary permissions, no temp files left behind."""

import os
import stat

import numpy as np
import pytest

from gen3d.atomic import atomic_path, atomic_write_text, save_npz_atomic


def test_write_replaces_whole_file_with_default_permissions(tmp_path):
    p = tmp_path / "a.txt"
    atomic_write_text(p, "old")
    atomic_write_text(p, "new")
    assert p.read_text() == "new"
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(p.stat().st_mode) == 0o666 & ~mask
    assert [x.name for x in tmp_path.iterdir()] == ["a.txt"]


def test_failure_keeps_old_file_and_leaves_no_temp(tmp_path):
    p = tmp_path / "b.npz"
    save_npz_atomic(p, x=np.arange(3))
    with pytest.raises(RuntimeError), atomic_path(p) as tmp:
        tmp.write_bytes(b"partial")
        raise RuntimeError("interrupted")
    assert np.load(p)["x"].tolist() == [0, 1, 2]
    assert [x.name for x in tmp_path.iterdir()] == ["b.npz"]
