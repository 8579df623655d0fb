"""``gen3d export``: turn a sample file (or a raw point/voxel array) into mesh files plus a report."""

from __future__ import annotations

import argparse

NAME = "export"
HELP = "mesh generated shapes (marching cubes, Poisson, ball pivoting, alpha) to .ply .obj .stl .off .glb"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "samples", help="sample file (.npz from `gen3d sample`) or a .npy array (S,N,3)/(S,R,R,R)"
    )
    parser.add_argument(
        "--out",
        required=True,
        help="output folder or URL (s3://bucket/meshes: each file uploaded whole; one mesh per shape + "
        "report.json)",
    )
    parser.add_argument("--format", default="ply", choices=["ply", "obj", "stl", "off", "glb"])
    parser.add_argument(
        "--source",
        default="auto",
        choices=["auto", "points", "voxels"],
        help="which representation to mesh (auto: voxels if present)",
    )
    parser.add_argument(
        "--method",
        default="poisson",
        choices=["poisson", "ball_pivoting", "alpha"],
        help="point cloud reconstruction method",
    )
    parser.add_argument("--depth", type=int, default=8, help="Poisson octree depth")
    parser.add_argument(
        "--density-quantile",
        type=float,
        default=0.02,
        help="Poisson: trim vertices below this density quantile (0: keep all)",
    )
    parser.add_argument(
        "--alpha", type=float, default=None, help="alpha-shape radius (default: from spacing)"
    )
    parser.add_argument("--smooth", type=int, default=0, help="Taubin smoothing iterations (voxels)")
    parser.add_argument("--largest-component", action="store_true", help="keep only the largest component")
    parser.add_argument("--indices", default=None, help="comma-separated shape indices (default: all)")
    parser.add_argument(
        "--frame",
        default="grid",
        choices=["grid", "points"],
        help="grids: mesh in the grids' own frame (default; recorded in report.json) or in the frame of "
        "the model's cache points (only where that map is the same for every shape)",
    )


def run(args: argparse.Namespace) -> int:
    from gen3d.export import export_samples

    recon = {"depth": args.depth, "density_quantile": args.density_quantile}
    if args.method == "alpha":
        recon = {"alpha": args.alpha}
    elif args.method == "ball_pivoting":
        recon = {}
    indices = None
    if args.indices:
        from gen3d.errors import UserInputError

        try:
            indices = [int(s) for s in args.indices.split(",") if s.strip()]
        except ValueError as e:
            raise UserInputError(f"--indices must be comma-separated integers, got {args.indices!r}") from e

    def show(res):
        if res.error is None:
            name = str(res.path).rstrip("/").rsplit("/", 1)[-1]
            print(f"[{res.index}] {name}: {res.report.line()}")
        else:
            print(f"[{res.index}] skipped: {res.error}")

    results = export_samples(
        args.samples,
        args.out,
        fmt=args.format,
        source=args.source,
        method=args.method,
        recon_kwargs=recon,
        smooth_iterations=args.smooth,
        largest_component=args.largest_component,
        indices=indices,
        progress=show,
        frame=args.frame,
    )
    failed = sum(r.error is not None for r in results)
    import json

    from gen3d.storage.transfer import read_bytes
    from gen3d.storage.urls import join_url, redact

    rec = json.loads(read_bytes(join_url(args.out, "report.json"))).get("grid_frame")
    if rec:
        line = f"grid frame: {rec['source']}"
        if "points_frame" in rec and rec["frame"] == "grid" and rec.get("points_scale") != 1.0:
            line += (
                f"; the cache's points are in another frame ('{rec['points_frame']}', grids per-shape "
                f"'{rec['voxel_frame']}'): these meshes do not overlay the points"
            )
        print(line)
    done = len(results) - failed
    print(f"exported {done} of {len(results)} shapes to {redact(args.out)} (report: report.json)")
    return 0 if failed == 0 else 1
