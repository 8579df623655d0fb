"""Benchmark the denoiser backbones: time per batch, shapes/s, parameters and peak RSS, under glibc's default
allocator settings and under ``MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=100000000000``.

Each (backbone, size, allocator) case runs in its own subprocess (the allocator variables only act when set
before the process starts, and peak RSS is per process). Sizes tiny/small are timed as training steps
(forward + backward + Adam step); larger sizes as forward passes under ``torch.no_grad`` with a smaller batch.

    .venv/bin/python benchmarks/bench_nets.py                       # tiny, small (train); 2 threads
    .venv/bin/python benchmarks/bench_nets.py --sizes tiny,small,base,paper --steps 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

TUNED_ENV = {"MALLOC_MMAP_MAX_": "0", "MALLOC_TRIM_THRESHOLD_": "100000000000"}
TRAIN_SIZES = ("tiny", "small")


def input_shape(name: str, batch: int, n_points: int, resolution: int) -> tuple[int, ...]:
    return (batch, 1, resolution, resolution, resolution) if name == "unet3d" else (batch, n_points, 3)


def run_case(args: argparse.Namespace) -> dict:
    """Child process: time one backbone/size and report JSON on stdout."""
    import resource

    import torch

    from gen3d.nets import get_backbone

    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    g = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    net = get_backbone(args.name, args.size).to(device)
    train = args.size in TRAIN_SIZES
    batch = (args.voxel_batch if args.name == "unet3d" else args.batch) if train else args.large_batch
    x = torch.randn(input_shape(args.name, batch, args.points, args.resolution), generator=g).to(device)
    c = torch.randn(batch, generator=g).to(device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    opt = torch.optim.Adam(net.parameters(), lr=1e-4) if train else None

    def step() -> None:
        if train:
            loss = (net(x, c) - x).square().mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        else:
            with torch.no_grad():
                net(x, c)

    for _ in range(args.warmup):
        step()
    times, cpu_times = [], []
    for _ in range(args.steps):
        sync()
        t0, c0 = time.perf_counter(), time.process_time()
        step()
        sync()
        times.append(time.perf_counter() - t0)
        cpu_times.append(time.process_time() - c0)
    sec = min(times)  # best of N: other processes on the machine only ever add time
    return {
        "params": net.num_parameters(),
        "mode": "train" if train else "forward",
        "batch": batch,
        "sec": sec,
        "median_sec": statistics.median(times),
        "cpu_sec": min(cpu_times),  # CPU seconds summed over threads: far less sensitive to other load
        "shapes_per_s": batch / sec,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "peak_gpu_mb": torch.cuda.max_memory_allocated() / 2**20 if device.type == "cuda" else 0.0,
    }


def launch(args: argparse.Namespace, name: str, size: str, tuned: bool) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in TUNED_ENV}
    if tuned:
        env.update(TUNED_ENV)
    env["OMP_NUM_THREADS"] = str(args.threads)
    cmd = [sys.executable, __file__, "--child", name, size] + [
        f"--{k.replace('_', '-')}={getattr(args, k)}"
        for k in (
            "threads",
            "steps",
            "warmup",
            "batch",
            "voxel_batch",
            "large_batch",
            "points",
            "resolution",
            "device",
        )
    ]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        return {
            "error": out.stderr.strip().splitlines()[-1] if out.stderr.strip() else f"rc={out.returncode}"
        }
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--child", nargs=2, metavar=("NAME", "SIZE"), help=argparse.SUPPRESS)
    p.add_argument("--nets", default="pvcnn,point_transformer,unet3d")
    p.add_argument("--sizes", default="tiny,small")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--steps", type=int, default=5, help="timed steps per process (best reported)")
    p.add_argument("--repeats", type=int, default=1, help="processes per case and allocator, interleaved")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--batch", type=int, default=16, help="point-cloud batch for tiny/small")
    p.add_argument("--voxel-batch", type=int, default=8, help="voxel batch for tiny/small")
    p.add_argument("--large-batch", type=int, default=2, help="batch for forward-only sizes (base, paper)")
    p.add_argument("--points", type=int, default=2048)
    p.add_argument("--device", default="cpu", help="cpu or cuda (peak GPU memory is then printed too)")
    p.add_argument("--resolution", type=int, default=32)
    args = p.parse_args()
    if args.child:
        args.name, args.size = args.child
        print(json.dumps(run_case(args)))
        return 0

    tuned = " ".join(f"{k}={v}" for k, v in TUNED_ENV.items())
    print(
        f"bench_nets: device {args.device}; {args.threads} torch threads; points N={args.points}; "
        f"voxels R={args.resolution}; best of {args.steps} steps after {args.warmup} warm-up,\n"
        f"in each of {args.repeats} fresh process(es) per case and allocator, launched alternately.\n"
        f"default = glibc malloc defaults (MALLOC_* unset); tuned = {tuned} set before start.\n"
        "train = forward + backward + Adam step; forward = no_grad forward only.\n"
        "cpu s = process CPU time per batch summed over threads (wall time x threads on an idle machine).\n"
        f"load average at start (1/5/15 min): {' '.join(f'{v:.2f}' for v in os.getloadavg())} "
        f"on {os.cpu_count()} CPUs (other processes slow every column alike; compare ratios).\n"
    )
    header = (
        f"{'net':<18}{'size':<7}{'params':>11}  {'mode':<8}{'batch':>5}  {'s/batch dflt':>12}"
        f"{'s/batch tuned':>14}{'dflt/tuned':>11}{'shapes/s tuned':>15}{'cpu s dflt':>11}{'cpu s tuned':>12}"
        f"{'RSS MB dflt':>12}{'RSS MB tuned':>13}"
    )
    print(header)
    print("-" * len(header))
    for name in args.nets.split(","):
        for size in args.sizes.split(","):
            runs: dict[bool, list[dict]] = {False: [], True: []}
            for _ in range(args.repeats):
                for tuned_env in (False, True):
                    runs[tuned_env].append(launch(args, name, size, tuned=tuned_env))
            errors = [r["error"] for rs in runs.values() for r in rs if "error" in r]
            if errors:
                print(f"{name:<18}{size:<7} failed: {errors[0]}")
                continue
            d, t = (min(runs[k], key=lambda r: r["sec"]) for k in (False, True))
            print(
                f"{name:<18}{size:<7}{t['params']:>11,}  {t['mode']:<8}{t['batch']:>5}  {d['sec']:>12.3f}"
                f"{t['sec']:>14.3f}{d['sec'] / t['sec']:>11.2f}{t['shapes_per_s']:>15.1f}"
                f"{d['cpu_sec']:>11.3f}{t['cpu_sec']:>12.3f}"
                f"{d['peak_rss_mb']:>12.0f}{t['peak_rss_mb']:>13.0f}"
                + (f"  GPU peak {t['peak_gpu_mb']:.0f} MB" if args.device != "cpu" else ""),
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
