"""The training gallery renders in a child process with a deadline: a renderer that hangs or crashes its
process gives a warning and the matplotlib picture, and training goes on."""

import logging
import sys

import numpy as np
import pytest
from PIL import Image

from gen3d.training import gallery
from gen3d.training.gallery import SampleGallery

from .test_training_gallery import fit_with

HANG = [sys.executable, "-c", "import time; time.sleep(60)"]
CRASH = [sys.executable, "-c", "import os; os.abort()"]  # dies by SIGABRT, as a crashing Vulkan driver


@pytest.mark.parametrize(
    "command, message",
    [(HANG, "did not finish within 0.5 s and was killed"), (CRASH, "killed by signal 6")],
    ids=["hang", "crash"],
)
def test_hung_or_crashing_renderer_falls_back(tmp_path, monkeypatch, caplog, command, message):
    started = []

    def child_command(src, path, n, titles):
        started.append(path)
        return command

    monkeypatch.setattr(gallery, "_open3d_available", lambda: True)
    monkeypatch.setattr(gallery, "_render_command", child_command)
    cb = SampleGallery(tmp_path / "g", every_n_steps=1, n_shapes=2, steps=2, render_timeout=0.5)
    with caplog.at_level(logging.WARNING, logger="gen3d.training.gallery"):
        fit_with(cb, tmp_path)  # two steps, two galleries: training finishes
    assert len(started) == 2
    assert caplog.text.count("Open3D gallery rendering failed") == 2 and message in caplog.text
    assert sorted(p.name for p in (tmp_path / "g").iterdir()) == ["step_0000001.png", "step_0000002.png"]
    assert np.asarray(Image.open(cb.last_path)).std() > 0  # the matplotlib fallback drew something


def test_child_renderer_writes_the_picture(tmp_path, monkeypatch, caplog):
    """When the child succeeds its picture is used (no fallback): a stand-in child that writes the PNG."""
    code = "import sys; from PIL import Image; Image.new('RGB', (7, 5), (1, 2, 3)).save(sys.argv[1])"

    monkeypatch.setattr(gallery, "_open3d_available", lambda: True)
    monkeypatch.setattr(
        gallery, "_render_command", lambda src, path, n, titles: [sys.executable, "-c", code, str(path)]
    )
    cb = SampleGallery(tmp_path / "g", every_n_steps=1, n_shapes=2, steps=2, render_timeout=60)
    with caplog.at_level(logging.WARNING, logger="gen3d.training.gallery"):
        fit_with(cb, tmp_path)
    assert "failed" not in caplog.text
    assert Image.open(cb.last_path).size == (7, 5)


def test_render_command_is_gen3d_render_in_process(tmp_path):
    """The child is `gen3d render <npz> --out <png> ... --in-process`; the deadline is the gallery's."""
    cmd = gallery._render_command(tmp_path / "s.npz", tmp_path / "g.png", 3, titles=False)
    assert cmd[:3] == [sys.executable, "-m", "gen3d"]
    assert cmd[3:6] == ["render", str(tmp_path / "s.npz"), "--out"] and "--in-process" in cmd
    assert "--no-titles" in cmd
