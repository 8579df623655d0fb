"""``gen3d evaluate``: score generated shapes against a reference set (PointFlow protocol)."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from gen3d.errors import UserInputError

NAME = "evaluate"
HELP = "score generated shapes against reference shapes: MMD/COV/1-NNA (CD, EMD or IoU), JSD, novelty"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "samples", help="sample file (.npz/.npy) with 'points' (S,N,3) or 'voxels' (S,1,R,R,R)"
    )
    parser.add_argument("reference", help="reference: sample file (.npz/.npy) or a prepared cache directory")
    parser.add_argument("--split", default="val", help="cache split used as reference (default: val)")
    parser.add_argument("--categories", default=None, help="comma-separated cache categories (default: all)")
    parser.add_argument("--metrics", default="cd,emd", help="point metrics: cd,emd (default: both)")
    parser.add_argument(
        "--normalize",
        default="none",
        choices=["none", "bbox", "unit_cube", "unit_sphere", "global"],
        help="normalisation applied identically to both sets, recorded in the result",
    )
    parser.add_argument(
        "--max-shapes", type=int, default=None, help="use at most this many shapes of each set"
    )
    parser.add_argument(
        "--emd-tol",
        type=float,
        default=0.01,
        help="certified relative error bound of the approximate EMD (default 0.01)",
    )
    parser.add_argument(
        "--train",
        default=None,
        help="training shapes (file, or the cache's 'train' split if this is 'cache') for "
        "the novelty / memorisation score",
    )
    parser.add_argument("--no-jsd", action="store_true", help="skip the occupancy JSD")
    parser.add_argument(
        "--voxel-threshold",
        type=float,
        default=0.5,
        help="occupied where value > this (0.5 for occupancy, 0 for model-space grids)",
    )
    parser.add_argument("--out", default=None, help="write the JSON result here")
    parser.add_argument("--plot", default=None, help="PNG: histogram of nearest-neighbour distances")


def _take(arr, max_shapes):
    return arr if max_shapes is None else arr[:max_shapes]


def _load_points_or_voxels(path: str, args, split: str, n_points: int | None = None, raw_units: bool = False):
    """-> (kind "points" | "voxels", array (S,N,3) | (S,1,R,R,R), cache info or None, denormalized) from a
    sample file or a cache.

    ``n_points``: for a cache, take this many points per shape (the cache stores its points in random
    order, so the first ``n_points`` are a uniform random subset of the surface sample); the protocol needs
    equal counts. ``raw_units``: for a cache, map its (normalised) points back to raw units, to match samples
    written by ``gen3d sample --denormalize``. ``denormalized``: for a sample file its
    ``meta["denormalized"]`` (None when unrecorded), for a cache ``raw_units``.
    """
    p = Path(path)
    if p.is_dir():
        try:
            from gen3d.datasets.cache import ShapeCache
        except ImportError as e:
            raise UserInputError(
                f"{p} is a directory but the shape cache module is unavailable: {e}"
            ) from None
        cats = args.categories.split(",") if args.categories else None
        cache = ShapeCache(p)
        if n_points is not None and n_points > cache.n_points:
            raise UserInputError(
                f"samples have {n_points} points per shape but the cache {p} holds only {cache.n_points}"
            )
        pts, _, ids = cache.load_points(split, categories=cats, max_count=args.max_shapes, n_points=n_points)
        if raw_units:
            import numpy as np

            pts = np.asarray(cache.denormalize(pts, ids), dtype=np.float32)
        info = {
            "path": str(p),
            "split": split,
            "categories": cats,
            "normalization": cache.normalization,
            "denormalized": bool(raw_units),
            "points_per_shape": int(pts.shape[1]),
        }
        return "points", pts, info, bool(raw_units)
    from gen3d.sample_file import load_samples

    s = load_samples(p)
    denorm = s.meta.get("denormalized")
    if s.points is not None:
        return "points", _take(s.points, args.max_shapes), None, denorm
    return "voxels", _take(s.voxels, args.max_shapes), None, denorm


def _check_same_units(a, b, what: str) -> None:
    """Both sets must be in one unit system where both record it (``meta["denormalized"]``)."""
    if a is not None and b is not None and bool(a) != bool(b):
        raise UserInputError(
            f"the samples are {'raw' if a else 'normalised'} units but the {what} is "
            f"{'raw' if b else 'normalised'} (meta 'denormalized'); score both in one unit system"
        )


def _table(result: dict) -> str:
    rows = [
        f"{result['kind']}: {result['n_gen']} generated vs {result['n_ref']} reference"
        + (f", normalisation {result['normalization']['kind']}" if "normalization" in result else "")
    ]
    rows.append(f"{'metric':<8}{'MMD':>12}{'COV %':>9}{'1-NNA %':>10}{'time s':>9}")
    for name, r in result["metrics"].items():
        rows.append(
            f"{name:<8}{r['mmd']:>12.5g}{100 * r['cov']:>9.2f}{100 * r['1nna']:>10.2f}"
            f"{result['timings_s'].get(name, math.nan):>9.2f}"
        )
        if "emd_max_rel_gap" in r:
            rows.append(f"  EMD values certified within {100 * r['emd_max_rel_gap']:.3f}% of exact")
    if "jsd" in result:
        rows.append(f"JSD (bits): {result['jsd']['jsd']:.5f}")
    if "novelty" in result:
        n = result["novelty"]
        rows.append(
            f"novelty: median NN ratio {n['median_ratio']:.3f}; likely copies "
            f"{100 * n['copy_fraction']:.1f}% (expected {100 * n['expected_copy_fraction']:.1f}%)"
        )
    return "\n".join(rows)


def _plot(path: str, result: dict, mats: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from gen3d.atomic import atomic_path

    fig, axes = plt.subplots(1, len(mats), figsize=(5 * len(mats), 3.5), squeeze=False)
    for ax, (name, m) in zip(axes[0], mats.items()):
        if name == "novelty":
            d_gt, d_rt = m
            ax.hist(d_rt.min(1), bins=30, alpha=0.6, label="reference -> train")
            ax.hist(d_gt.min(1), bins=30, alpha=0.6, label="generated -> train")
            ax.set_title("nearest training shape (CD)")
        else:
            d_gg, d_rr, d_gr = m
            ax.hist(d_gr.min(0), bins=30, alpha=0.6, label="reference -> nearest generated")
            ax.hist(d_gr.min(1), bins=30, alpha=0.6, label="generated -> nearest reference")
            ax.set_title(f"nearest-neighbour distances ({name})")
        ax.set_xlabel("distance")
        ax.legend(fontsize=7)
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=100)
    plt.close(fig)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from gen3d.atomic import atomic_write_text
    from gen3d.metrics.evaluation import evaluate_point_sets, evaluate_voxel_sets
    from gen3d.metrics.voxel import voxels_to_surface_points

    if args.max_shapes is not None and args.max_shapes < 1:
        raise UserInputError("--max-shapes must be >= 1")
    metrics = tuple(m.strip() for m in args.metrics.split(",") if m.strip())
    kind_g, gen, _, raw_g = _load_points_or_voxels(args.samples, args, args.split)
    n_gen = gen.shape[1] if kind_g == "points" else None
    # samples written with `gen3d sample --denormalize` are in raw units: a cache reference follows them
    raw = bool(raw_g) and kind_g == "points"
    kind_r, ref, ref_cache, raw_r = _load_points_or_voxels(args.reference, args, args.split, n_gen, raw)
    _check_same_units(raw_g, raw_r, "reference")
    train = None
    if args.train is not None:
        src = args.reference if args.train == "cache" else args.train
        kind_t, train, _, raw_t = _load_points_or_voxels(src, args, "train", n_gen, raw)
        if kind_t != "points":
            raise UserInputError("--train must hold point clouds")
        _check_same_units(raw_g, raw_t, "training set")
    if kind_g == "voxels" and kind_r == "voxels":
        # grids are scored by IoU in their own frame: options that only apply to point sets are refused
        unsupported = [
            o for o, on in (("--normalize", args.normalize != "none"), ("--train", train is not None)) if on
        ]
        if unsupported:
            raise UserInputError(
                f"{' and '.join(unsupported)} apply to point clouds only; voxel grids are compared by IoU "
                "(convert them with `gen3d export` or score them against a point reference)"
            )
        result = evaluate_voxel_sets(gen, ref, threshold=args.voxel_threshold, keep_matrices=bool(args.plot))
    else:
        # grids against points: turn grids into surface points so the point metrics apply
        rng = np.random.default_rng(0)
        n = (ref if kind_r == "points" else gen).shape[1] if "points" in (kind_g, kind_r) else 2048
        if kind_g == "voxels":
            gen = voxels_to_surface_points(gen, n, rng, threshold=args.voxel_threshold)
        if kind_r == "voxels":
            ref = voxels_to_surface_points(ref, n, rng, threshold=args.voxel_threshold)
        result = evaluate_point_sets(
            gen,
            ref,
            metrics=metrics,
            normalize=args.normalize,
            emd_tol=args.emd_tol,
            train=train,
            jsd=not args.no_jsd,
            keep_matrices=bool(args.plot),
        )
        result["converted_from_voxels"] = [k for k, v in (("gen", kind_g), ("ref", kind_r)) if v == "voxels"]
    result["inputs"] = {
        "samples": str(args.samples),
        "reference": str(args.reference),
        "split": args.split if Path(args.reference).is_dir() else None,
        "train": args.train,
        "reference_cache": ref_cache,  # includes the cache's normalisation record
    }
    mats = result.pop("_matrices", None)
    print(_table(result))
    if args.out:
        atomic_write_text(args.out, json.dumps(result, indent=2))
        print(f"wrote {args.out}")
    if args.plot and mats:
        _plot(args.plot, result, mats)
        print(f"wrote {args.plot}")
    return 0
