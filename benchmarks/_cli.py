"""Shared plumbing of the benchmarks that drive the ``gen3d`` command line (one command per step, so that a
benchmark's rows are reproduced by the same commands a user types)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

__all__ = ["TUNED_ALLOCATOR", "run_gen3d", "cell"]

#: glibc malloc settings of the Makefile and README "Performance" (fewer page faults in torch's CPU loops).
TUNED_ALLOCATOR = {"MALLOC_MMAP_MAX_": "0", "MALLOC_TRIM_THRESHOLD_": "100000000000"}


def run_gen3d(*args: str) -> float:
    """Run ``gen3d args`` in a subprocess with the tuned allocator; return its wall time in seconds.

    The command line is printed first; a failure stops the benchmark with the command's last stderr lines.
    """
    env = dict(os.environ, **TUNED_ALLOCATOR)
    cmd = [sys.executable, "-m", "gen3d", *args]
    print("$ gen3d " + " ".join(args), flush=True)
    t = time.perf_counter()
    res = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if res.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{res.stderr[-3000:]}")
    return time.perf_counter() - t


def cell(metrics: dict, stat: str, factor: float, fmt: str) -> str:
    """``value [lo, hi]`` of ``metrics[stat]`` scaled by ``factor`` (the value alone without intervals)."""
    v = f"{factor * metrics[stat]:{fmt}}"
    ci = metrics.get("ci", {}).get(stat)
    return v if ci is None else f"{v} [{factor * ci['lo']:{fmt}}, {factor * ci['hi']:{fmt}}]"
