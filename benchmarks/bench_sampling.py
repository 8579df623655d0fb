"""Sampling cost through :func:`gen3d.generate.generate`: wall time per shape and NFE per sampler and step
count.

Usage: ``python benchmarks/bench_sampling.py [--backbone pvcnn] [--size tiny] [--points 2048] [--batch 16]
[--samplers euler,heun,dpmpp_2m,edm_stochastic] [--steps 8,18] [--threads N]``

The denoiser is the backbone with random weights in EDM preconditioning (the cost of a network evaluation
does not
depend on training). Per (sampler, steps) the table gives NFE per shape, wall seconds per shape, and the
ratio of
its time to the first row's (the baseline, measured in the same run). One shape batch of ``--batch`` shapes
per
row, after one warm-up forward. The allocator environment and thread count are printed in the header.
"""

from __future__ import annotations

import argparse
import os
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backbone", default="pvcnn")
    ap.add_argument("--size", default="tiny")
    ap.add_argument("--points", type=int, default=2048, help="points per shape (or R for unet3d)")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--samplers", default="euler,heun,dpmpp_2m,edm_stochastic")
    ap.add_argument("--steps", default="8,18")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    args = ap.parse_args()

    import torch

    from gen3d.generate import generate
    from gen3d.nets import get_backbone
    from gen3d.precond import EDMPrecond
    from gen3d.processes import get_process

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    proc = get_process("edm")
    den = EDMPrecond(get_backbone(args.backbone, size=args.size), proc.sigma_data).eval()
    n = args.points
    shape = (1, n, n, n) if args.backbone == "unet3d" else (n, 3)
    tuned = {k: os.environ.get(k) for k in ("MALLOC_MMAP_MAX_", "MALLOC_TRIM_THRESHOLD_")}
    alloc = "tuned " + str(tuned) if all(tuned.values()) else "default glibc malloc (MALLOC_* unset)"
    print(f"{args.backbone}/{args.size}, shape {shape}, batch {args.batch}, threads={args.threads}")
    print(f"allocator: {alloc}")
    with torch.no_grad():  # warm-up
        den(torch.zeros(args.batch, *shape), torch.ones(args.batch))
    head = f"{'sampler':<16} {'steps':>5} {'NFE':>4} {'s/shape':>8} {'s total':>8} {'x baseline':>10}"
    print(head)
    print("-" * len(head))
    base = None
    seeds = list(range(args.batch))
    for sampler in args.samplers.split(","):
        for steps in (int(s) for s in args.steps.split(",")):
            t = time.perf_counter()
            _, nfe = generate(den, proc, shape, seeds, sampler=sampler, steps=steps, batch_size=args.batch)
            dt = time.perf_counter() - t
            base = base or dt
            print(f"{sampler:<16} {steps:>5} {nfe:>4} {dt / args.batch:>8.3f} {dt:>8.2f} {dt / base:>10.2f}")


if __name__ == "__main__":
    main()
