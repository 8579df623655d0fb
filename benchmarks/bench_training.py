"""Training throughput of the gen3d LightningModule per backbone and size on this CPU, with peak memory.

Usage: ``python benchmarks/bench_training.py [--steps 6] [--threads N] [--allocators tuned|both]
[--cases pvcnn:tiny:2048:16,pvd:tiny:1024:32:bf16,pvd:tiny:1024:32:bf16:local_neighbours=8,...]``

A case is ``name:size:points-or-R:batch[:fp32|bf16[:key=value;key=value]]``: the backbone, its size preset,
the points per shape (the grid resolution for ``unet3d``), the batch, the precision (``bf16``: CPU bf16
autocast around the forward pass and loss, as ``trainer.precision: bf16-mixed``) and backbone overrides.

Each case runs in a fresh subprocess twice: with glibc's default malloc and with the tuned allocator
(``MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=100000000000``, see README "Performance" and the
Makefile). A case builds the EDM process, the backbone (random weights) in EDM preconditioning and
:class:`gen3d.training.module.Gen3dModule`, then
times full optimiser steps (``training_step`` = sigma draw + loss + backward, gradient clipping, Adam, EMA
update)
after one warm-up step; Lightning's loop overhead is not included. Peak memory is the subprocess's max RSS.
Printed per case: s/step (median), shapes/s, the share of the step in forward (sigma draw, network, loss),
backward and the optimiser (clipping, Adam, EMA), peak RSS, and the tuned/default speed ratio measured in this
run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

TUNED = {"MALLOC_MMAP_MAX_": "0", "MALLOC_TRIM_THRESHOLD_": "100000000000"}
DEFAULT_CASES = "pvcnn:tiny:2048:16,pvcnn:small:2048:16,point_transformer:tiny:2048:16,unet3d:tiny:32:8"


def _parse_case(case: str) -> tuple[str, str, int, int, str, dict]:
    """``name:size:n:batch[:precision[:k=v;k=v]]`` -> its parts (precision fp32 by default)."""
    parts = case.split(":")
    if len(parts) < 4:
        raise SystemExit(f"case {case!r}: expected name:size:points-or-R:batch[:fp32|bf16[:k=v;...]]")
    name, size, n, batch = parts[:4]
    precision = parts[4] if len(parts) > 4 and parts[4] else "fp32"
    if precision not in ("fp32", "bf16"):
        raise SystemExit(f"case {case!r}: precision must be fp32 or bf16, got {precision!r}")
    overrides = {}
    for item in parts[5].split(";") if len(parts) > 5 and parts[5] else []:
        k, _, v = item.partition("=")
        overrides[k] = json.loads(v)
    return name, size, int(n), int(batch), precision, overrides


def run_case(
    name: str, size: str, n: int, batch: int, steps: int, threads: int, precision="fp32", overrides=None
) -> dict:
    """In the current process: time ``steps`` optimiser steps; returns timings and peak RSS."""
    import resource

    import torch

    from gen3d.nets import get_backbone
    from gen3d.precond import EDMPrecond
    from gen3d.processes import get_process
    from gen3d.training.module import Gen3dModule

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    proc = get_process("edm")
    net = get_backbone(name, size=size, num_classes=4, **(overrides or {}))
    optim = {"lr": 2e-4, "ema_decay": 0.999, "p_uncond": 0.1}
    module = Gen3dModule(EDMPrecond(net, proc.sigma_data), proc, optim, num_classes=4)
    opt = torch.optim.Adam(module.denoiser.parameters(), lr=2e-4)
    shape = (batch, n, 3) if name != "unet3d" else (batch, 1, n, n, n)
    g = torch.Generator().manual_seed(0)
    batch_data = {
        "x": torch.randn(shape, generator=g) * 0.5,
        "label": torch.randint(0, 4, (batch,), generator=g),
    }
    module.log = lambda *a, **k: None  # no trainer attached: logging is a no-op here
    times, stages = [], {"forward": [], "backward": [], "optimiser": []}
    for i in range(steps + 1):
        t = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
            loss = module.training_step(batch_data, i)
        t_fwd = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        t_bwd = time.perf_counter()
        torch.nn.utils.clip_grad_norm_(module.denoiser.parameters(), 1.0)
        opt.step()
        module.ema.update(module.denoiser)
        t_end = time.perf_counter()
        if i:  # step 0 is warm-up
            times.append(t_end - t)
            stages["forward"].append(t_fwd - t)
            stages["backward"].append(t_bwd - t_fwd)
            stages["optimiser"].append(t_end - t_bwd)
    total = sum(sum(v) for v in stages.values())
    return {
        "s_per_step": statistics.median(times),
        "shares": {k: sum(v) / total for k, v in stages.items()},
        "params_m": sum(p.numel() for p in net.parameters()) / 1e6,
        "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument(
        "--cases", default=DEFAULT_CASES, help="name:size:points-or-R:batch[:fp32|bf16[:k=v;k=v]],..."
    )
    ap.add_argument(
        "--allocators", choices=("both", "tuned"), default="both", help="tuned only: half the time"
    )
    ap.add_argument("--_child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._child:
        name, size, n, batch, precision, overrides = _parse_case(args._child)
        print(json.dumps(run_case(name, size, n, batch, args.steps, args.threads, precision, overrides)))
        return
    print(f"threads={args.threads}  steps={args.steps} (median after 1 warm-up)  torch CPU")
    print(f"allocators: default glibc malloc vs tuned ({' '.join(f'{k}={v}' for k, v in TUNED.items())})")
    head = (
        f"{'backbone':<18} {'size':<6} {'N/R':>5} {'B':>3} {'prec':<4} {'params M':>8} | {'alloc':<7} "
        f"{'s/step':>7} {'shapes/s':>8} {'fwd/bwd/opt %':>13} {'peak GB':>7} | {'tuned/default':>13}"
    )
    print(head)
    print("-" * len(head))
    allocators = (("default", {}), ("tuned", TUNED)) if args.allocators == "both" else (("tuned", TUNED),)
    for case in args.cases.split(","):
        name, size, n, batch, precision, overrides = _parse_case(case)
        res = {}
        for label, extra in allocators:
            env = {k: v for k, v in os.environ.items() if k not in TUNED}
            env.update(extra)
            env["OMP_NUM_THREADS"] = str(args.threads)
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--_child",
                    case,
                    "--steps",
                    str(args.steps),
                    "--threads",
                    str(args.threads),
                ],
                env=env,
                capture_output=True,
                text=True,
            )
            if out.returncode:
                print(f"{case}: failed: {out.stderr.strip().splitlines()[-1:]}")
                break
            res[label] = json.loads(out.stdout.strip().splitlines()[-1])
        for label, r in res.items():
            ratio = f"{res['default']['s_per_step'] / r['s_per_step']:.2f}" if "default" in res else "-"
            sh = "/".join(f"{100 * r['shares'][k]:.0f}" for k in ("forward", "backward", "optimiser"))
            print(
                f"{name:<18} {size:<6} {n:>5} {batch:>3} {precision:<4} {r['params_m']:>8.2f} | {label:<7} "
                f"{r['s_per_step']:>7.3f} {batch / r['s_per_step']:>8.1f} {sh:>13} "
                f"{r['peak_rss_gb']:>7.2f} | {ratio:>13}"
            )
            if overrides:
                print(f"{'':<18} overrides: {overrides}")


if __name__ == "__main__":
    main()
