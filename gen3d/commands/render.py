"""``gen3d render``: headless pictures (PNG gallery, turntable, trajectory animation) via Open3D offscreen."""

from __future__ import annotations

import argparse

NAME = "render"
HELP = "render shapes headless: PNG gallery, turntable or trajectory animation (.png/.gif/.mp4)"


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
    parser.add_argument("--color-by", default="height", choices=["height", "sample", "uniform"])
    parser.add_argument("--max-shapes", type=int, default=16, help="render the first N shapes")
    parser.add_argument("--ncols", type=int, default=None)
    parser.add_argument("--size", type=int, default=256, help="tile size in pixels")
    parser.add_argument("--frames", type=int, default=36, help="turntable frames / max trajectory frames")
    parser.add_argument("--fps", type=float, default=12.0)
    parser.add_argument("--no-titles", action="store_true")


def run(args: argparse.Namespace) -> int:
    from gen3d.errors import UserInputError
    from gen3d.viz.backend import RenderBackendError, offscreen_problem
    from gen3d.viz.loaders import load_shapes

    shape_set = load_shapes(args.input)
    problem = offscreen_problem()
    if problem:
        raise RenderBackendError(problem)
    n = max(1, min(args.max_shapes, len(shape_set.shapes)))
    shapes, titles = shape_set.shapes[:n], shape_set.titles[:n]
    if args.representation == "voxels" and shape_set.voxels is not None:
        shapes = [v[0] for v in shape_set.voxels[:n]]
    size = (args.size, args.size)
    common = {"ncols": args.ncols, "size": size, "color_by": args.color_by}
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

        if shape_set.trajectory is None:
            raise UserInputError(f"{args.input} holds no trajectory (sample with --trajectory to record one)")
        frames = trajectory_frames(
            shape_set.trajectory, shape_set.traj_sigmas, list(range(n)), max_frames=args.frames, **common
        )
        path = save_animation(frames, args.out, fps=args.fps)
    print(f"wrote {path}")
    return 0
