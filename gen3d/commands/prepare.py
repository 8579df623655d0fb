"""``gen3d prepare <layout> <root> --out <cache>``: preprocess a shape collection into a cache."""

from __future__ import annotations

import os

NAME = "prepare"
HELP = "preprocess a shape collection (points, normals, voxel grids, normalisation) into a resumable cache"


def _ints(text: str) -> list[int]:
    from gen3d.errors import UserInputError

    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise UserInputError(f"expected comma-separated integers, got {text!r}") from None


def add_arguments(parser) -> None:
    parser.add_argument("layout", help="shapenet | pc15k | modelnet | folder | points | voxels")
    parser.add_argument("root", help="root folder of the collection")
    parser.add_argument(
        "--out",
        required=True,
        help="cache folder (created; an interrupted run resumes; other parameters into it are refused), or a "
        "URL (s3://bucket/caches/name): prepared in a local working folder, then uploaded, manifest last",
    )
    parser.add_argument(
        "--categories", default=None, help="comma-separated category names or ids (default all)"
    )
    parser.add_argument(
        "--splits", default=None, help="comma-separated subset of train,val,test (default all)"
    )
    parser.add_argument("--max-count", type=int, default=None, help="at most N shapes per category and split")
    parser.add_argument("--points", type=int, default=2048, help="points per shape (15000 for PC15k-style)")
    parser.add_argument("--normals", action="store_true", help="store surface normals with the points")
    parser.add_argument(
        "--voxels", default="", help="voxel resolutions, e.g. 32,64 (surface and solid grids)"
    )
    parser.add_argument(
        "--normalize",
        default="bbox",
        help="none | unit_sphere | unit_cube | bbox (default) | global (PointFlow)",
    )
    parser.add_argument(
        "--up",
        choices=("x", "y", "z"),
        default=None,
        help="the up axis of the source data, recorded for pictures (the data are not rotated); default: "
        "the axis the cache records, else modelnet z, others y",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed for point sampling and the seeded split")
    parser.add_argument(
        "--split-file", default=None, help="ShapeNet split CSV (all.csv); default <root>/all.csv"
    )
    parser.add_argument(
        "--binvox",
        choices=("solid", "surface"),
        default=None,
        help="shapenet v2: read the shipped model_normalized.<kind>.binvox grids instead of the meshes",
    )
    parser.add_argument(
        "--partial-views",
        type=int,
        default=0,
        help="also store K partial views per shape with their camera poses (meshes: depth scans by ray "
        "casting; point files: hidden-point removal), for shape completion",
    )
    parser.add_argument(
        "--partial-points",
        type=int,
        default=None,
        help="at most this many points per partial view (default: --points)",
    )
    parser.add_argument(
        "--partial-noise", type=float, default=0.0, help="depth-scan noise, std in bounding radii (0)"
    )
    parser.add_argument(
        "--partial-dropout",
        type=float,
        default=0.0,
        help="depth scans: drop each pixel with this probability",
    )
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="worker processes")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args) -> int:
    from gen3d.datasets.prepare import prepare

    res = prepare(
        args.layout,
        args.root,
        args.out,
        categories=args.categories,
        splits=args.splits,
        max_count=args.max_count,
        n_points=args.points,
        normals=args.normals,
        voxels=_ints(args.voxels),
        normalize=args.normalize,
        seed=args.seed,
        workers=args.workers,
        progress=not args.no_progress,
        split_file=args.split_file,
        binvox=args.binvox,
        partial_views=args.partial_views,
        partial_points=args.partial_points,
        partial_noise=args.partial_noise,
        partial_dropout=args.partial_dropout,
        up=args.up,
    )
    where = res.where
    if res.up_to_date and not res.uploaded:
        print(
            f"cache {where} is up to date ({res.total} shapes, {res.skipped} skipped, up axis "
            f"{res.up_axis}): nothing to do"
        )
    else:
        see = f" (see {_report_of(res)})" if res.skipped else ""
        print(
            f"cache {where}: {res.total} shapes, {res.processed} processed now, {res.reused} already done, "
            f"{res.skipped} skipped{see}; up axis {res.up_axis}"
        )
    if res.location is not None:
        sent = f"uploaded {res.uploaded} files, manifest last" if res.uploaded else "already uploaded"
        print(f"cache {where}: {sent} (local working copy {res.out})")
    if args.partial_views:
        print(_views_line(res.out))
    return 0


def _report_of(res) -> str:
    """Where the run's ``report.json`` is, as the user named the cache."""
    if res.location is not None:
        from gen3d.storage.urls import join_url

        return join_url(res.location, "report.json")
    return str(res.out / "report.json")


def _views_line(out) -> str:
    """One line on the partial views: how many were stored and how many were skipped as degenerate."""
    import json

    report = json.loads((out / "report.json").read_text())
    pv = report.get("partial_views", {"stored": 0, "skipped": 0, "reasons": {}})
    why = ", ".join(f"{k}: {v}" for k, v in pv["reasons"].items())
    line = f"partial views: {pv['stored']} stored, {pv['skipped']} degenerate ones skipped"
    return line + (f" ({why})" if why else "")
