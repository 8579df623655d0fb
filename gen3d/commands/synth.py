"""``gen3d synth``: write the procedural ShapeNet-like collection (a ShapeNetCore v2 tree)."""

from __future__ import annotations

import argparse

NAME = "synth"
HELP = "write a deterministic procedural ShapeNet-like mesh collection (ShapeNetCore v2 layout)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("out_dir", help="output folder (absent or empty unless --overwrite)")
    parser.add_argument("--per-category", type=int, default=50, help="models per category (default 50)")
    parser.add_argument("--seed", type=int, default=0, help="generator seed (same seed -> identical files)")
    parser.add_argument(
        "--categories",
        default=None,
        help="comma-separated subset of: airplane, car, chair, lamp, mug, table (default: all)",
    )
    parser.add_argument("--overwrite", action="store_true", help="write into a non-empty folder")


def run(args: argparse.Namespace) -> int:
    import time

    from gen3d.datasets.synth import write_collection

    cats = [c.strip() for c in args.categories.split(",") if c.strip()] if args.categories else None
    t0 = time.perf_counter()
    counts = write_collection(args.out_dir, args.per_category, args.seed, cats, args.overwrite)
    total = sum(counts.values())
    detail = ", ".join(f"{c} {n}" for c, n in counts.items())
    print(f"wrote {total} meshes ({detail}) to {args.out_dir} in {time.perf_counter() - t0:.1f} s")
    return 0
