"""``gen3d view``: an interactive Open3D window over a sample file (paging, representations, trajectories)."""

from __future__ import annotations

import argparse

from gen3d.commands.render import add_color_by_argument

NAME = "view"
HELP = (
    "interactive Open3D viewer (N/P page, R representation, C colour, T play trajectory, G gif, S screenshot)"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "input", help="sample file (.npz/.npy), mesh or point file (.ply/.obj/.off/.stl/.glb), .binvox"
    )
    parser.add_argument("--per-page", type=int, default=9, help="shapes shown at once")
    parser.add_argument("--representation", default=None, choices=["points", "mesh", "voxels"])
    add_color_by_argument(parser)
    parser.add_argument(
        "--up",
        default=None,
        choices=["x", "y", "z"],
        help="the shapes' up axis, shown vertical (default: the sample file's recorded axis, else y)",
    )
    parser.add_argument("--width", type=int, default=1024)
    parser.add_argument("--height", type=int, default=768)
    parser.add_argument("--out-dir", default=".", help="where S (screenshot) and G (GIF) write their files")
    parser.add_argument("--screenshot", default=None, help="save a PNG of the window (with --exit-after)")
    parser.add_argument("--exit-after", type=int, default=None, help="close after N rendered frames")


def run(args: argparse.Namespace) -> int:
    from gen3d.viz.backend import RenderBackendError, window_problem
    from gen3d.viz.loaders import load_shapes, resolve_up_axis
    from gen3d.viz.observed import resolve_color_by
    from gen3d.viz.viewer import Viewer

    shape_set = load_shapes(args.input)
    up = resolve_up_axis(args.up, shape_set)
    color_by = resolve_color_by(args.color_by, shape_set, args.representation)
    problem = window_problem()
    if problem:
        raise RenderBackendError(f"{problem} (e.g. gen3d render {args.input} --out gallery.png)")
    viewer = Viewer(
        shape_set,
        per_page=args.per_page,
        representation=args.representation,
        color_by=color_by,
        size=(args.width, args.height),
        out_dir=args.out_dir,
        up=up,
    )
    shot = viewer.run(screenshot=args.screenshot, exit_after=args.exit_after)
    if shot is not None:
        print(f"wrote {shot}")
    return 0
