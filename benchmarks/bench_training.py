"""Training throughput of the gen3d LightningModule per backbone and size on this CPU, with peak memory.

Usage: ``python benchmarks/bench_training.py [--steps 6] [--threads N] [--cases pvcnn:tiny:2048,...]``

Each case runs in a fresh subprocess twice: with glibc's default malloc and with the tuned allocator
(``MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=100000000000``, see README "Performance" and the
Makefile). A case builds the EDM process, the backbone (random weights) in EDM preconditioning and
:class:`gen3d.training.module.Gen3dModule`, then
times full optimiser steps (``training_step`` = sigma draw + loss + backward, gradient clipping, Adam, EMA
update)
after one warm-up step; Lightning's loop overhead is not included. Peak memory is the subprocess's max RSS.
Printed per case: s/step (median), shapes/s, peak RSS, and the tuned/default speed ratio measured in this run.
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


def run_case(name: str, size: str, n: int, batch: int, steps: int, threads: int) -> dict:
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
    net = get_backbone(name, size=size, num_classes=4)
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
    times = []
    for i in range(steps + 1):
        t = time.perf_counter()
        loss = module.training_step(batch_data, i)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(module.denoiser.parameters(), 1.0)
        opt.step()
        module.ema.update(module.denoiser)
        if i:  # step 0 is warm-up
            times.append(time.perf_counter() - t)
    return {
        "s_per_step": statistics.median(times),
        "params_m": sum(p.numel() for p in net.parameters()) / 1e6,
        "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--cases", default=DEFAULT_CASES, help="name:size:points-or-R:batch,...")
    ap.add_argument("--_child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._child:
        name, size, n, batch = args._child.split(":")
        print(json.dumps(run_case(name, size, int(n), int(batch), args.steps, args.threads)))
        return
    print(f"threads={args.threads}  steps={args.steps} (median after 1 warm-up)  torch CPU")
    print(f"allocators: default glibc malloc vs tuned ({' '.join(f'{k}={v}' for k, v in TUNED.items())})")
    head = (
        f"{'backbone':<18} {'size':<6} {'N/R':>5} {'B':>3} {'params M':>8} | {'alloc':<7} {'s/step':>7} "
        f"{'shapes/s':>8} {'peak GB':>7} | {'tuned/default':>13}"
    )
    print(head)
    print("-" * len(head))
    for case in args.cases.split(","):
        name, size, n, batch = case.split(":")
        res = {}
        for label, extra in (("default", {}), ("tuned", TUNED)):
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
            ratio = res["default"]["s_per_step"] / r["s_per_step"] if "default" in res else float("nan")
            print(
                f"{name:<18} {size:<6} {n:>5} {batch:>3} {r['params_m']:>8.2f} | {label:<7} "
                f"{r['s_per_step']:>7.3f} {int(batch) / r['s_per_step']:>8.1f} {r['peak_rss_gb']:>7.2f} | "
                f"{ratio:>13.2f}"
            )


if __name__ == "__main__":
    main()
