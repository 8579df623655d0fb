"""Shared plumbing of the benchmarks that drive the ``gen3d`` command line (one command per step, so that a
benchmark's rows are reproduced by the same commands a user types)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["TUNED_ALLOCATOR", "run_gen3d", "cell", "fit_to_budget", "checkpoint_step"]

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


def checkpoint_step(ckpt) -> int:
    """The optimiser step a checkpoint was written at."""
    import torch

    return int(torch.load(ckpt, map_location="cpu", weights_only=True)["global_step"])


def fit_to_budget(
    config: str, cache, runs, budget: str, steps: int | None, overrides: list[str]
) -> tuple[Path, float, int]:
    """``gen3d fit --config config`` on ``cache`` under ``runs`` for ``budget`` of wall time
    (``trainer.max_time``), or ``steps`` optimiser steps when given; ``overrides`` are extra ``--set`` items.

    Returns ``(last.ckpt, fit wall seconds, steps trained)``.
    """
    from gen3d.config import load_config

    sets = ["--set", f"data.cache_dir={cache}", "--set", f"experiment.run_dir={runs}"]
    if steps:
        sets += ["--set", f"trainer.max_steps={steps}", "--set", "trainer.max_time=null"]
    else:
        sets += ["--set", f"trainer.max_time={budget}"]
    sets += ["--set", "trainer.enable_progress_bar=false"]
    for o in overrides:
        sets += ["--set", o]
    seconds = run_gen3d("fit", "--config", config, *sets)
    name = load_config(config, overrides)["experiment"]["name"]
    ckpt = Path(runs) / name / "checkpoints" / "last.ckpt"
    return ckpt, seconds, checkpoint_step(ckpt)


def cell(metrics: dict, stat: str, factor: float, fmt: str) -> str:
    """``value [lo, hi]`` of ``metrics[stat]`` scaled by ``factor`` (the value alone without intervals)."""
    v = f"{factor * metrics[stat]:{fmt}}"
    ci = metrics.get("ci", {}).get(stat)
    return v if ci is None else f"{v} [{factor * ci['lo']:{fmt}}, {factor * ci['hi']:{fmt}}]"
