"""``gen3d render``: headless pictures (PNG gallery, turntable, trajectory animation) via Open3D offscreen."""

from __future__ import annotations

import argparse

NAME = "render"
HELP = "render shapes headless: PNG gallery, turntable or trajectory animation (.png/.gif/.mp4)"


def add_color_by_argument(parser: argparse.ArgumentParser) -> None:
    """``--color-by``, shared by ``gen3d render`` and ``gen3d view``."""
    parser.add_argument(
        "--color-by",
        default=None,
        choices=["height", "sample", "uniform", "observed"],
        help="observed: a completion's observed points dark grey, generated ones by height (default for "
        "sample files written by gen3d complete --sample-file; else height)",
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "input", help="sample file (.npz/.npy), mesh or point file (.ply/.obj/.off/.stl/.glb), .binvox"
    )
    parser.add_argument(
        "--out", required=True, help="output: .png (gallery), or .gif/.mp4 (turntable, trajectory)"
    )
    parser.add_argument("--mode", default="gallery", choices=["gallery", "turntable", "trajectory"])
    parser.add_argument(
        "--representation",
        default=None,
        choices=["points", "mesh", "voxels"],
        help="draw shapes as this (default: as stored)",
    )
    add_color_by_argument(parser)
    parser.add_argument(
        "--up",
        default=None,
        choices=["x", "y", "z"],
        help="the shapes' up axis, drawn vertical (default: the sample file's recorded axis, else y)",
    )
    parser.add_argument("--max-shapes", type=int, default=16, help="render the first N shapes")
    parser.add_argument("--ncols", type=int, default=None)
    parser.add_argument("--size", type=int, default=256, help="tile size in pixels")
    parser.add_argument("--frames", type=int, default=36, help="turntable frames / max trajectory frames")
    parser.add_argument("--fps", type=float, default=12.0)
    parser.add_argument("--no-titles", action="store_true")
    parser.add_argument(
        "--timeout",
        type=float,
        default=600.0,
        help="give up after this many seconds (0: no limit); rendering runs in a child process",
    )
    parser.add_argument("--in-process", action="store_true", help=argparse.SUPPRESS)


def _child_argv(args: argparse.Namespace) -> list[str]:
    """The same command for a child process (rendering cannot be interrupted from Python: the Open3D call
    holds the GIL, so a hung software-Vulkan frame is only escapable by killing its process)."""
    argv = [
        "render",
        args.input,
        "--out",
        args.out,
        "--mode",
        args.mode,
        "--max-shapes",
        str(args.max_shapes),
        "--size",
        str(args.size),
        "--frames",
        str(args.frames),
        "--fps",
        str(args.fps),
        "--in-process",
    ]
    if args.representation:
        argv += ["--representation", args.representation]
    if args.color_by:
        argv += ["--color-by", args.color_by]
    if args.up:
        argv += ["--up", args.up]
    if args.ncols:
        argv += ["--ncols", str(args.ncols)]
    if args.no_titles:
        argv.append("--no-titles")
    return argv


def _run_with_deadline(args: argparse.Namespace) -> int:
    from gen3d.deadline import DeadlineExceeded, gen3d_command, run_with_deadline
    from gen3d.viz.backend import RenderBackendError

    try:
        return run_with_deadline(gen3d_command(_child_argv(args)), args.timeout).returncode
    except DeadlineExceeded:
        raise RenderBackendError(
            f"rendering did not finish within {args.timeout:g} s (software Vulkan starved of CPU?); "
            "retry with a larger --timeout, fewer/smaller tiles, or on a less loaded machine"
        ) from None


def run(args: argparse.Namespace) -> int:
    from gen3d.errors import UserInputError
    from gen3d.viz.backend import RenderBackendError, offscreen_problem
    from gen3d.viz.loaders import load_shapes, resolve_up_axis
    from gen3d.viz.observed import observed_counts, resolve_color_by, with_observed

    shape_set = load_shapes(args.input)  # fail fast on a bad input before starting a renderer
    up = resolve_up_axis(args.up, shape_set)
    if args.mode == "trajectory" and shape_set.trajectory is None:
        raise UserInputError(
            f"{args.input} holds no trajectory (sample with --record-trajectory K to record one)"
        )
    color_by = resolve_color_by(args.color_by, shape_set, args.representation, args.mode)
    if args.timeout and not args.in_process:
        return _run_with_deadline(args)
    problem = offscreen_problem()
    if problem:
        raise RenderBackendError(problem)
    n = max(1, min(args.max_shapes, len(shape_set.shapes)))
    shapes, titles = shape_set.shapes[:n], shape_set.titles[:n]
    if args.representation == "voxels" and shape_set.voxels is not None:
        shapes = [v[0] for v in shape_set.voxels[:n]]
    counts = observed_counts(shape_set)
    if color_by == "observed" and counts is not None:  # stored point clouds (resolve_color_by checked)
        shapes = with_observed(shapes, counts[:n])
    size = (args.size, args.size)
    common = {"ncols": args.ncols, "size": size, "color_by": color_by, "up": up}
    if args.mode == "gallery":
        from gen3d.viz.offscreen import render_gallery

        if not args.out.lower().endswith(".png"):
            raise UserInputError(f"a gallery is written as .png, got --out {args.out}")
        path = render_gallery(
            shapes,
            args.out,
            titles=None if args.no_titles else titles,
            representation=args.representation,
            **common,
        )
    elif args.mode == "turntable":
        from gen3d.viz.offscreen import render_turntable

        path = render_turntable(
            shapes, args.out, n_frames=args.frames, fps=args.fps, representation=args.representation, **common
        )
    else:
        from gen3d.viz.animate import save_animation, trajectory_frames

        frames = trajectory_frames(
            shape_set.trajectory, shape_set.traj_sigmas, list(range(n)), max_frames=args.frames, **common
        )
        path = save_animation(frames, args.out, fps=args.fps)
    print(f"wrote {path}")
    return 0
