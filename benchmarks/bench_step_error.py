"""Where a few-step solve goes wrong: the error of each step of a coarse grid, against a fine solve.

For one trained model and ``--shapes`` prior draws, the reference path is Heun with ``--substeps`` geometric
sub-steps between consecutive levels of the coarse grid (a fine solve that passes through every coarse level).
Each row starts one coarse step of ``--solvers`` from the *reference* state at the step's start, so the row
shows that step's own (local) error and nothing inherited: the mean per-point distance to the reference state
at the step's end, the mean point radius after the step against the reference's, and the share of points
outside the unit ball (meaningful for clouds normalised into the unit sphere).

    .venv/bin/python benchmarks/bench_step_error.py --ckpt T.ckpt --steps 5            # the Karras grid
    .venv/bin/python benchmarks/bench_step_error.py --ckpt S.ckpt --grid stored        # a tuned grid
"""

from __future__ import annotations

import argparse
import os

import torch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--steps", type=int, default=5, help="steps of the Karras grid (with --grid karras)")
    ap.add_argument(
        "--grid",
        choices=("karras", "stored"),
        default="karras",
        help="karras: the Karras grid of --steps; stored: the checkpoint's sampler.sigmas",
    )
    ap.add_argument("--solvers", default="euler,heun")
    ap.add_argument("--shapes", type=int, default=32)
    ap.add_argument("--substeps", type=int, default=40)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    from gen3d.models import load_denoiser
    from gen3d.random import generators_for_seeds
    from gen3d.samplers import get_schedule, sample
    from gen3d.samplers.tuned_schedule import teacher_states

    torch.set_num_threads(os.cpu_count() or 1)
    den, cfg, process = load_denoiser(args.ckpt)
    if args.grid == "stored":
        if cfg["sampler"].get("sigmas") is None:
            raise SystemExit(f"{args.ckpt} stores no sampler.sigmas")
        grid = [float(v) for v in cfg["sampler"]["sigmas"]]
    else:
        grid = [float(v) for v in get_schedule("karras", args.steps, process.sigma_min, process.sigma_max)]
    shape = (int(cfg["data"]["n_points"]), 3)
    gens = generators_for_seeds(list(range(args.seed, args.seed + args.shapes)))
    x = torch.cat([process.prior((1, *shape), generator=g) for g in gens])
    ref, _ = teacher_states(den, x, grid, substeps=args.substeps)  # the fine solve through every level
    with torch.no_grad():
        print(
            f"# {args.ckpt}: grid {', '.join(f'{s:.4g}' for s in grid)}; {args.shapes} prior draws; "
            f"reference: Heun with {args.substeps} sub-steps per coarse step"
        )
        print("| solver | step | local error (mean per point) | mean radius (ref.) | out of ball % (ref.) |")
        print("|---|---|---|---|---|")
        for solver in args.solvers.split(","):
            for k, (a, b) in enumerate(zip(grid[:-1], grid[1:])):
                y = sample(solver, den, ref[k], torch.tensor([a, b], dtype=torch.float64)).x
                err = (y - ref[k + 1]).norm(dim=-1).mean().item()
                r, rr = y.norm(dim=-1), ref[k + 1].norm(dim=-1)
                print(
                    f"| {solver} | {a:.4g} -> {b:.4g} | {err:.4f} | {r.mean():.3f} ({rr.mean():.3f}) | "
                    f"{100 * (r > 1).float().mean():.1f} ({100 * (rr > 1).float().mean():.1f}) |"
                )


if __name__ == "__main__":
    main()
