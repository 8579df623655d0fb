"""Run a command in a child process with a deadline (for rendering: ``gen3d render``, the training gallery).

An Open3D offscreen frame cannot be interrupted from Python (the call holds the GIL) and a software-Vulkan
driver may hang or crash the whole process, so rendering runs in a child that is killed at the deadline.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass

__all__ = ["ChildResult", "DeadlineExceeded", "gen3d_command", "run_with_deadline"]


class DeadlineExceeded(TimeoutError):
    """The child did not finish within its deadline and was killed."""


@dataclass
class ChildResult:
    """Exit status of the child (negative: killed by that signal, e.g. a crash) and, when captured, the last
    line it wrote to stderr."""

    returncode: int
    stderr_tail: str = ""

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def describe(self) -> str:
        """One line: ``exit 1: <last stderr line>`` / ``killed by signal 6``."""
        how = f"killed by signal {-self.returncode}" if self.returncode < 0 else f"exit {self.returncode}"
        return f"{how}: {self.stderr_tail}" if self.stderr_tail else how


def gen3d_command(argv: list[str]) -> list[str]:
    """``gen3d <argv>`` run by this interpreter (``python -m gen3d``)."""
    return [sys.executable, "-m", "gen3d", *argv]


def run_with_deadline(cmd: list[str], timeout: float | None, capture: bool = False) -> ChildResult:
    """Run ``cmd``; kill it after ``timeout`` s (None or 0: no limit), raising :class:`DeadlineExceeded`.

    ``capture``: discard the child's stdout and keep its stderr (its last line goes into the result); else
    the child shares this process's stdout/stderr. The child is also killed when waiting is interrupted
    (Ctrl-C).
    """
    pipe = subprocess.PIPE if capture else None
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL if capture else None, stderr=pipe, text=capture or None
    )
    try:
        _, err = proc.communicate(timeout=timeout or None)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise DeadlineExceeded(f"did not finish within {timeout:g} s and was killed") from None
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    lines = (err or "").strip().splitlines()
    return ChildResult(proc.returncode, lines[-1][:300] if lines else "")
