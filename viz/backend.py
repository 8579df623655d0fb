"""Is there something to draw with? Probes run Open3D in a subprocess with a timeout, so a broken or missing
graphics stack gives one clear line instead of a hang or a crash of the calling process."""

from __future__ import annotations

import functools
import os
import subprocess
import sys

from gen3d.errors import Gen3dError

__all__ = ["RenderBackendError", "offscreen_problem", "require_offscreen", "window_problem"]

_OFFSCREEN_PROBE = """
import open3d as o3d
from open3d.visualization import rendering
r = rendering.OffscreenRenderer(16, 16)
r.scene.set_background([1, 1, 1, 1])
img = r.render_to_image()
print("OK", tuple(__import__("numpy").asarray(img).shape))
"""

_WINDOW_PROBE = """
import open3d as o3d
vis = o3d.visualization.Visualizer()
ok = vis.create_window("probe", 32, 32, visible=False)
print("OK" if ok else "NOWINDOW")
vis.destroy_window()
"""


class RenderBackendError(Gen3dError):
    """No rendering backend (no display, no software Vulkan, no open3d). The message says what to do."""


def _probe(code: str, timeout: float, env: dict | None = None) -> str | None:
    try:
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout, env=env
        )
    except subprocess.TimeoutExpired:
        return f"Open3D did not start within {timeout:.0f} s"
    if out.returncode == 0 and "OK" in out.stdout:
        return None
    tail = (out.stderr.strip().splitlines() or out.stdout.strip().splitlines() or ["no output"])[-1]
    return f"Open3D failed to start (exit {out.returncode}: {tail[:200]})"


@functools.lru_cache(maxsize=1)
def offscreen_problem(timeout: float = 90.0) -> str | None:
    """None if Open3D's OffscreenRenderer (Filament; software Vulkan on a CPU machine) renders a frame here,
    else a one-line reason. Cached per process."""
    try:
        import open3d  # noqa: F401
    except ImportError:
        return "open3d is not installed (pip install 'gen3d[viz]')"
    problem = _probe(_OFFSCREEN_PROBE, timeout)
    if problem:
        return (
            f"offscreen rendering is unavailable: {problem}; install the Debian packages libvulkan1 "
            "mesa-vulkan-drivers libgl1 libegl1 (see `make setup`)"
        )
    return None


def require_offscreen() -> None:
    """Raise :class:`RenderBackendError` if :func:`offscreen_problem` finds one."""
    problem = offscreen_problem()
    if problem:
        raise RenderBackendError(problem)


def window_problem(timeout: float = 30.0) -> str | None:
    """None if an interactive Open3D window can open on ``$DISPLAY``, else a one-line reason that points to
    the headless command."""
    hint = "use `gen3d render` for PNG/GIF output without a display (or run under xvfb-run)"
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        return f"no display (DISPLAY is not set); {hint}"
    try:
        import open3d  # noqa: F401
    except ImportError:
        return "open3d is not installed (pip install 'gen3d[viz]')"
    problem = _probe(_WINDOW_PROBE, timeout)
    return (
        f"cannot open a window on display {os.environ.get('DISPLAY')!r}: {problem}; {hint}"
        if problem
        else None
    )
