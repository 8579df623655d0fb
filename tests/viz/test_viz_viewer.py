"""The interactive viewer: under Xvfb it opens a window whose screenshot shows the shapes; with no display the
command says so in one line and points to the headless command."""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gen3d.cli import main
from gen3d.sample_file import SampleFile, save_samples


@pytest.fixture
def sample_path(tmp_path, prim_points):
    pts = np.stack([prim_points["box"], prim_points["sphere"], prim_points["torus"], prim_points["box"]])
    return save_samples(tmp_path / "s.npz", SampleFile(points=pts))


def test_view_without_display_fails_in_one_line(sample_path, monkeypatch, capsys):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert main(["view", str(sample_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no display" in err and "gen3d render" in err


def _free_display() -> int:
    for n in range(90, 190):
        if not Path(f"/tmp/.X{n}-lock").exists() and not Path(f"/tmp/.X11-unix/X{n}").exists():
            return n
    raise RuntimeError("no free X display number in 90..189")


@pytest.fixture
def xvfb():
    """Start Xvfb on a free display for this test; yield the DISPLAY string."""
    if shutil.which("Xvfb") is None:
        pytest.fail("Xvfb is not installed (make setup installs the xvfb Debian package)")
    n = _free_display()
    proc = subprocess.Popen(
        ["Xvfb", f":{n}", "-screen", "0", "1024x768x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while not Path(f"/tmp/.X11-unix/X{n}").exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"Xvfb did not start on :{n}")
        time.sleep(0.1)
    try:
        yield f":{n}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.xdist_group("viz_render")
def test_viewer_window_screenshot_shows_the_shapes(sample_path, tmp_path, xvfb, silhouette):
    shot = tmp_path / "shot.png"
    env = {**os.environ, "DISPLAY": xvfb}
    cmd = [
        sys.executable,
        "-m",
        "gen3d",
        "view",
        str(sample_path),
        "--per-page",
        "4",
        "--width",
        "400",
        "--height",
        "400",
        "--screenshot",
        str(shot),
        "--exit-after",
        "3",
    ]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "page 1/1: shapes 0-3" in out.stdout
    img = np.asarray(Image.open(shot).convert("RGB"))
    assert img.shape == (400, 400, 3)
    mask = silhouette(img)
    # four shapes on a 2x2 grid: each quadrant holds one and the background stays white
    for qy in (slice(0, 200), slice(200, 400)):
        for qx in (slice(0, 200), slice(200, 400)):
            assert 0.03 < mask[qy, qx].mean() < 0.9
    assert mask.mean() < 0.6


def test_view_up_axis_reaches_the_viewer_and_turns_shapes_upright(tmp_path, monkeypatch):
    """gen3d view --up (default: the sample file's recorded axis, else y) sets the viewer's axis, and the
    viewer places a z-up column standing in its y-up window. The window itself is stubbed out."""
    import gen3d.viz.backend
    from gen3d.viz.viewer import Viewer

    column = np.c_[np.zeros(64), np.full(64, 0.1), np.linspace(-1.0, 1.0, 64)].astype(np.float32)
    column += np.random.default_rng(0).normal(scale=0.02, size=column.shape).astype(np.float32)
    plain = save_samples(tmp_path / "plain.npz", SampleFile(points=column[None]))
    z_up = save_samples(tmp_path / "z.npz", SampleFile(points=column[None], meta={"up_axis": "z"}))
    shown = []
    monkeypatch.setattr(gen3d.viz.backend, "window_problem", lambda: None)
    monkeypatch.setattr(Viewer, "run", lambda self, **kw: shown.append(self))

    def extent(*argv) -> np.ndarray:
        assert main(["view", *map(str, argv)]) == 0
        ((_, d),) = shown[-1].placed()
        return np.ptp(d.vertices, axis=0)  # (x, y, z) extent in the window's frame, y vertical

    for argv, axis in (
        ((z_up,), "z"),
        ((plain,), "y"),
        ((plain, "--up", "z"), "z"),
        ((z_up, "--up", "y"), "y"),
    ):
        ext = extent(*argv)
        assert shown[-1].up == axis
        assert (ext[1] > 10 * ext[0]) == (axis == "z"), (argv, ext)
