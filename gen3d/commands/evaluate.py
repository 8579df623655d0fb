"""``gen3d evaluate``: score generated shapes against a reference set (PointFlow protocol)."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from pathlib import Path

from gen3d.errors import UserInputError

NAME = "evaluate"
HELP = "score generated shapes against reference shapes: MMD/COV/1-NNA (CD, EMD or IoU), JSD, novelty"

# choices spelled out so that building the CLI imports no metric code (a test checks them against
# gen3d.metrics.presets.PROTOCOLS, gen3d.metrics.jsd.JSD_MODES, gen3d.metrics.subsets.UNEQUAL_POLICIES and
# gen3d.metrics.evaluation.PAIRS)
PROTOCOL_CHOICES = ("pointflow", "shapegf_bbox")
JSD_MODE_CHOICES = ("pointflow", "cells")
UNEQUAL_CHOICES = ("subsample", "refuse")
PAIRS_CHOICES = ("pruned", "all")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    _add_inputs(parser)
    _add_scoring(parser)
    _add_novelty_jsd_intervals(parser)
    _add_outputs(parser)


def _add_inputs(parser: argparse.ArgumentParser) -> None:
    """The sets: samples, reference, the protocol preset and the reference's split and categories."""
    parser.add_argument(
        "--task",
        default="generation",
        choices=("generation", "completion"),
        help="generation (default: the options below) or completion: PVD's completion metrics of one "
        "completion file (gen3d complete) against the complete shapes (the reference: the cache of the "
        "partial views, an (I,T,3) truth file, or the completion file itself when it holds them); uses "
        "--metrics, --emd-tol, --seed and --out",
    )
    parser.add_argument(
        "samples",
        nargs="+",
        help="sample file(s) (.npz/.npy) with 'points' (S,N,3) or 'voxels' (S,1,R,R,R); several files (one "
        "per sampling seed) are scored one by one and summarised as mean +- std over files",
    )
    parser.add_argument(
        "reference",
        help="reference: sample file (.npz/.npy) or a prepared cache (a folder, or a URL such as "
        "s3://bucket/caches/chairs: read through a verified local copy)",
    )
    parser.add_argument(
        "--protocol",
        default=None,
        choices=PROTOCOL_CHOICES,
        help="a published protocol in one flag (normalisation, points, reference split, metrics, JSD "
        "binning; recorded in the JSON): pointflow (PointFlow/PVD/LION table 1: raw units after undoing the "
        "global normalisation), shapegf_bbox (ShapeGF/DPM/LION table 2: every shape scaled to its bounding "
        "box [-1,1]^3). Options that disagree with the protocol are refused",
    )
    parser.add_argument(
        "--split",
        default=None,
        help="cache split used as reference (default: val); several comma-separated (val,test) are one set",
    )
    parser.add_argument("--categories", default=None, help="comma-separated cache categories (default: all)")


def _add_scoring(parser: argparse.ArgumentParser) -> None:
    """What is scored and how: metrics, normalisation, points and shapes per set, unequal sizes, EMD."""
    parser.add_argument("--metrics", default=None, help="point metrics: cd,emd (default: both)")
    parser.add_argument(
        "--normalize",
        default=None,
        choices=["none", "bbox", "unit_cube", "unit_sphere", "global"],
        help="normalisation applied identically to both sets, recorded in the result (default: none)",
    )
    parser.add_argument(
        "--points",
        type=int,
        default=None,
        help="points per shape scored: the first N of each shape (default: the samples' own count)",
    )
    parser.add_argument(
        "--max-shapes",
        type=int,
        default=None,
        help="score at most N generated and at most N reference shapes (a total per set, not per category): "
        "the first N of a sample file, N drawn at random (--seed) from a cache's selected split and "
        "categories. The --train set is always used whole",
    )
    parser.add_argument(
        "--unequal",
        default="subsample",
        choices=UNEQUAL_CHOICES,
        help="unequal set sizes: subsample the larger set to the smaller one's size (seeded, recorded; "
        "default) or refuse. MMD/COV/1-NNA are always scored on equal-size sets",
    )
    parser.add_argument(
        "--emd-tol",
        type=float,
        default=0.01,
        help="certified relative error bound of the approximate EMD (default 0.01)",
    )
    parser.add_argument(
        "--pairs",
        default="pruned",
        choices=PAIRS_CHOICES,
        help="point clouds: pruned (default: only the pairs that nearest-neighbour decisions need, found by "
        "certified lower bounds; the same MMD/COV/1-NNA and intervals as all pairs, in a fraction of the "
        "time; counts and timings in the JSON under metrics.<m>.search) or all (every pair)",
    )


def _add_novelty_jsd_intervals(parser: argparse.ArgumentParser) -> None:
    """The training set for novelty, the occupancy JSD, the bootstrap intervals and the seed."""
    parser.add_argument(
        "--train",
        default=None,
        help="training shapes (file, or the cache's 'train' split if this is 'cache') for "
        "the novelty / memorisation score",
    )
    parser.add_argument("--no-jsd", action="store_true", help="skip the occupancy JSD")
    parser.add_argument(
        "--jsd-mode",
        default=None,
        choices=JSD_MODE_CHOICES,
        help="JSD binning: pointflow (PointFlow's 28^3 vertices of [-0.5,0.5]^3 inside the ball of radius "
        "0.5, each point at its nearest vertex: the papers' number) or cells (28^3 cells of [-1,1]^3; "
        "default without --protocol)",
    )
    parser.add_argument(
        "--bootstrap",
        type=int,
        default=1000,
        help="bootstrap resamples for the confidence intervals of MMD/COV/1-NNA (default 1000; 0: none)",
    )
    parser.add_argument("--ci", type=float, default=0.95, help="confidence level of the intervals (0.95)")
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of every random choice: equal-size subsets, --max-shapes on a cache, bootstrap, "
        "grid-to-points sampling (default 0)",
    )


def _add_outputs(parser: argparse.ArgumentParser) -> None:
    """Grid threshold, JSON and plot outputs."""
    parser.add_argument(
        "--voxel-threshold",
        type=float,
        default=0.5,
        help="occupied where value > this (0.5 for occupancy, 0 for model-space grids)",
    )
    parser.add_argument(
        "--grids",
        action="store_true",
        help="generated grids against a cache: score them against the cache's own grids of the same "
        "resolution (IoU; the kind, solid or surface, the model was trained on) instead of its surface "
        "points",
    )
    parser.add_argument("--out", default=None, help="write the JSON result here")
    parser.add_argument("--plot", default=None, help="PNG: histogram of nearest-neighbour distances")


@dataclass
class _Set:
    """One loaded set: ``kind`` "points" | "voxels", ``data`` (S,N,3) | (S,1,R,R,R), ``groups`` (S,) category
    names or None, ``denormalized`` (raw units? None when unrecorded), ``info`` (JSON record)."""

    kind: str
    data: object
    info: dict
    denormalized: bool | None = None
    groups: list | None = None
    meta: dict = field(default_factory=dict)


def _load_cache(
    path: str | Path,
    split: str,
    n_points: int | None,
    units: str,
    max_shapes: int | None,
    categories: str | None = None,
    seed: int = 0,
) -> _Set:
    """Points of a prepared cache's ``split`` (``categories``: comma-separated, None: all). ``n_points``: this
    many points per shape (the cache stores its points in random order, so the first ``n_points`` are a
    uniform random subset of the surface sample). ``units``: "normalised" (the cache's normalisation), "raw"
    (mapped back to raw units, to match samples written by ``gen3d sample --denormalize``) or "voxel" (each
    shape in the frame its grids were made in, to match generated grids). ``max_shapes``: a random subset
    (seeded by ``seed``) of that size over the whole selection."""
    import numpy as np

    try:
        from gen3d.datasets.cache import ShapeCache
    except ImportError as e:
        raise UserInputError(
            f"{path} is a directory but the shape cache module is unavailable: {e}"
        ) from None
    cats = categories.split(",") if categories else None
    cache = ShapeCache(path)
    if n_points is not None and n_points > cache.n_points:
        raise UserInputError(
            f"samples have {n_points} points per shape but the cache {cache.source} holds only "
            f"{cache.n_points}"
        )
    pts, labels, ids = cache.load_points(split, categories=cats, n_points=n_points)
    n_all = len(pts)
    keep, selection = _random_subset(n_all, max_shapes, seed)
    pts, labels, ids = pts[keep], labels[keep], [ids[i] for i in keep]
    if units == "raw":
        pts = np.asarray(cache.denormalize(pts, ids), dtype=np.float32)
    elif units == "voxel":
        from gen3d.metrics.frames import points_in_voxel_frame

        pts = points_in_voxel_frame(cache, pts, ids)
    info = {
        "path": cache.source,
        "split": split,
        "categories": cats,
        "normalization": cache.normalization,
        "voxel_frame": cache.voxel_frame,
        "units": units,
        "denormalized": units == "raw",
        "points_per_shape": int(pts.shape[1]),
        "n_shapes": len(pts),
        "max_shapes": max_shapes,
    }
    if selection:
        info["selection"] = selection
    groups = [cache.class_names[int(k)] for k in labels]
    return _Set("points", pts, info, units == "raw", groups, {"cache": cache})


def _random_subset(n_all: int, max_shapes, seed: int):
    """``(indices, note)``: ``--max-shapes`` shapes of a cache selection of ``n_all``, drawn at random
    (seeded); ``note`` records the draw for the JSON, None when every shape is kept."""
    from gen3d.metrics.subsets import take_shapes

    keep = take_shapes(n_all, max_shapes, random=True, seed=seed)
    if len(keep) == n_all:
        return keep, None
    return keep, f"{len(keep)} of {n_all} shapes drawn at random (--max-shapes, seed {seed})"


def _load_cache_grids(path: str, gen: _Set, split: str, max_shapes, categories=None, seed: int = 0) -> _Set:
    """``--grids``: the cache's grids at the generated grids' resolution, of the kind (solid | surface) in the
    samples' training config (solid when unrecorded), as occupancy ``(S, 1, R, R, R)``. The grids' frame must
    be the one the model's training cache recorded, when that cache is readable here."""
    import numpy as np

    from gen3d.datasets.cache import ShapeCache
    from gen3d.metrics.frames import cache_from_meta

    if gen.kind != "voxels":
        raise UserInputError("--grids scores generated voxel grids against a prepared cache's grids")
    if not _is_cache(path, "--grids"):
        raise UserInputError(f"--grids: {path} is not a prepared cache folder (gen3d prepare ... --voxels R)")
    cache = ShapeCache(path)
    trained = cache_from_meta(gen.meta)
    if trained is not None and trained.voxel_frame != cache.voxel_frame:
        raise UserInputError(
            f"--grids: the model's grids are in the {trained.voxel_frame!r} voxel frame of its training "
            f"cache but {cache.source} holds grids in the {cache.voxel_frame!r} frame; IoU needs grids in "
            "one frame"
        )
    r = int(gen.data.shape[-1])
    if r not in cache.resolutions:
        raise UserInputError(
            f"--grids: the cache {cache.source} has no {r}^3 grids (it has {cache.resolutions})"
        )
    kind = ((gen.meta.get("config") or {}).get("data") or {}).get("kind", "solid")
    cats = categories.split(",") if categories else None
    vox, labels, _ = cache.load_voxels(split, r, kind, cats)
    keep, selection = _random_subset(len(vox), max_shapes, seed)
    info = {"path": cache.source, "split": split, "categories": cats, "grids": f"{kind}_{r}"}
    info.update(n_shapes=len(keep), max_shapes=max_shapes, voxel_frame=cache.voxel_frame)
    if selection:
        info["selection"] = selection
    groups = [cache.class_names[int(labels[i])] for i in keep]
    grids = np.asarray(vox)[keep].astype(np.float32)
    return _Set("voxels", grids, info, False, groups, {"cache": cache})


def _is_cache(path: str, what: str) -> bool:
    """Whether ``path`` names a prepared cache: a local folder, or a URL that does not end in .npz/.npy (a
    prepared cache on a store, read through a verified local copy; see :class:`ShapeCache`). Such a URL is
    refused as ``samples`` (``what``): the generated shapes come from a sample file only."""
    from gen3d.storage.urls import is_url, local_path, redact

    if not is_url(path):
        return Path(path).is_dir()
    lp = local_path(path)
    if lp is not None:  # file://
        return lp.is_dir()
    from urllib.parse import urlsplit

    if urlsplit(path).path.lower().endswith((".npz", ".npy")):  # a signed URL's query is not its name
        return False
    if what == "samples":
        raise UserInputError(
            f"samples {redact(path)}: generated shapes are read from a sample file (.npz/.npy) only"
        )
    return True


def _load_file(path: str, n_points: int | None, max_shapes: int | None) -> _Set:
    """A sample file (a path or a URL string): the first ``max_shapes`` shapes, the first ``n_points``
    points of each. Category names from ``labels`` and ``meta['class_names']`` when every shape has a
    class."""
    import numpy as np

    from gen3d.sample_file import load_samples
    from gen3d.storage.urls import redact

    s = load_samples(path)
    data = s.points if s.points is not None else s.voxels
    kind = "points" if s.points is not None else "voxels"
    data = data[:max_shapes] if max_shapes is not None else data
    if kind == "points" and n_points is not None:
        if data.shape[1] < n_points:
            raise UserInputError(
                f"{redact(path)} holds {data.shape[1]} points per shape, fewer than the {n_points} scored"
            )
        data = data[:, :n_points]
    groups = None
    names = s.meta.get("class_names")
    if s.labels is not None and names:
        lab = np.asarray(s.labels[: len(data)])
        if (lab >= 0).all() and (lab < len(names)).all():
            groups = [str(names[int(k)]) for k in lab]
    info = {"path": redact(path), "n_shapes": int(len(data)), "max_shapes": max_shapes}
    return _Set(kind, data, info, s.meta.get("denormalized"), groups, s.meta)


def _load(
    path: str,
    split: str,
    n_points,
    units: str,
    max_shapes,
    file_points,
    categories=None,
    seed: int = 0,
    what: str = "reference",
) -> _Set:
    """A cache (``n_points`` per shape: the samples' count; ``categories``, ``seed``: see
    :func:`_load_cache`) or a sample file, also a URL (cut to ``file_points``, the ``--points`` option, only
    when given: Chamfer distance takes unequal counts)."""
    if _is_cache(path, what):
        return _load_cache(path, split, n_points, units, max_shapes, categories, seed)
    return _load_file(path, file_points, max_shapes)


def _check_same_units(a, b, what: str) -> None:
    """Both sets must be in one unit system where both record it (``meta["denormalized"]``)."""
    if a is not None and b is not None and bool(a) != bool(b):
        raise UserInputError(
            f"the samples are {'raw' if a else 'normalised'} units but the {what} is "
            f"{'raw' if b else 'normalised'} (meta 'denormalized'); score both in one unit system"
        )


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


def _options(
    protocol: str | None,
    given: dict,
    no_jsd: bool,
    max_shapes: int | None = None,
    bootstrap: int = 1000,
    ci: float = 0.95,
) -> tuple[dict, dict | None]:
    """Resolved option values and the protocol record: the ``protocol`` preset (``--protocol``) and the
    explicit flags ``given`` (``normalize``, ``split``, ``metrics``, ``points``, ``jsd_mode``; None: not
    given), after checking the ranges of ``--max-shapes``, ``--points``, ``--bootstrap`` and ``--ci``."""
    from gen3d.metrics.presets import resolve_options

    for flag, value, low in (("--max-shapes", max_shapes, 1), ("--points", given.get("points"), 1)):
        if value is not None and value < low:
            raise UserInputError(f"{flag} must be >= {low}, got {value}")
    if bootstrap < 0:
        raise UserInputError(f"--bootstrap must be >= 0 (0: no intervals), got {bootstrap}")
    if not 0 < ci < 1:
        raise UserInputError(f"--ci must be a level in (0, 1), e.g. 0.95, got {ci}")
    return resolve_options(protocol, given, no_jsd)


def _check_files_agree(gens: list, paths: list) -> None:
    """Several sample files are one experiment over seeds: same kind, point count, units and classes."""
    first = gens[0]
    for p, g in zip(paths[1:], gens[1:]):
        same = g.kind == first.kind and g.data.shape[1:] == first.data.shape[1:]
        if not same:
            raise UserInputError(
                f"{p} holds {g.kind} {tuple(g.data.shape[1:])} but {paths[0]} holds {first.kind} "
                f"{tuple(first.data.shape[1:])}; several sample files must hold the same kind of shapes"
            )
        _check_same_units(first.denormalized, g.denormalized, f"sample file {p}")


def _pointflow_units(gens: list, ref_path: str, protocol: dict | None) -> str | None:
    """PointFlow scores raw units (its global normalisation undone). Returns a note on how the samples got
    there, or raises when they cannot; ``None`` when another protocol (or none) is used."""
    if protocol is None or protocol["units"] != "raw":
        return None
    raw = gens[0].denormalized
    if raw:
        return "samples in raw units (meta 'denormalized'); the reference follows them"
    if _is_cache(ref_path, "reference"):
        from gen3d.datasets.cache import ShapeCache

        cache = ShapeCache(ref_path)
        kind = cache.normalization["kind"]
        if kind == "none":
            return "the cache is in raw units (normalisation none), and so are its model's samples"
        if kind == "global":
            for g in gens:
                g.data = cache.denormalize(g.data)
                g.denormalized = True
            return "samples de-normalised here with the cache's global mean/std (PointFlow's protocol)"
        raise UserInputError(
            f"--protocol pointflow scores raw units, but the cache {ref_path} is normalised per shape "
            f"({kind}) and normalised samples cannot be mapped back; sample with "
            "`gen3d sample --denormalize` or use --protocol shapegf_bbox"
        )
    if raw is False:
        raise UserInputError(
            "--protocol pointflow scores raw units, but the samples are normalised (meta 'denormalized' "
            "false); write them with `gen3d sample --denormalize` or score against the prepared cache"
        )
    return "units not recorded in the sample files: assumed raw (de-normalised), as PointFlow scores them"


def _check_frames(gen, ref) -> None:
    """Grids live in a normalised frame: refuse raw-unit points next to grids, and grids in two frames."""
    import numpy as np

    from gen3d.metrics.frames import grid_frame

    kinds = (gen.kind, ref.kind)
    if kinds == ("voxels", "points") and ref.denormalized:
        raise UserInputError(
            "the reference points are in raw units but generated grids are in a normalised frame"
        )
    if kinds == ("points", "voxels") and gen.denormalized:
        raise UserInputError("the samples are in raw units but the reference grids are in a normalised frame")
    if kinds == ("voxels", "voxels"):
        (og, hg), (orf, hr) = (grid_frame(s.meta, s.data.shape[-1]) for s in (gen, ref))
        side_g, side_r = hg * gen.data.shape[-1], hr * ref.data.shape[-1]
        if not (np.allclose(og, orf) and np.isclose(side_g, side_r)):
            raise UserInputError(
                f"the generated grids span origin {og.tolist()} side {side_g:g} but the reference grids "
                f"origin {orf.tolist()} side {side_r:g} (meta voxel_origin / voxel_spacing): IoU needs grids "
                "in one frame"
            )


def _as_points(s, n: int, rng, threshold: float):
    """Grids -> surface points in the grids' own frame (``meta`` voxel_origin / voxel_spacing, else
    [-1,1]^3); points unchanged."""
    if s.kind == "points":
        return s.data
    from gen3d.metrics.frames import grid_frame
    from gen3d.metrics.voxel import voxels_to_surface_points

    origin, spacing = grid_frame(s.meta, s.data.shape[-1])
    return voxels_to_surface_points(s.data, n, rng, threshold=threshold, origin=origin, spacing=spacing)


@dataclass(frozen=True)
class _Scoring:
    """How every sample file is scored against the reference (resolved options and the scoring flags)."""

    metrics: tuple[str, ...]
    normalize: str
    jsd: bool
    jsd_mode: str
    emd_tol: float
    pairs: str
    voxel_threshold: float
    plot: bool  # keep the distance matrices for the histogram
    n_boot: int
    level: float
    seed: int
    unequal: str

    def common(self) -> dict:
        """Keyword arguments shared by the point and the voxel evaluations (intervals, equal sizes)."""
        return {"n_boot": self.n_boot, "level": self.level, "seed": self.seed, "unequal": self.unequal}


def run(args: argparse.Namespace) -> int:
    from gen3d.storage.urls import redact

    if args.task == "completion":
        return _run_completion(args)
    given = {k: getattr(args, k) for k in ("normalize", "split", "metrics", "points", "jsd_mode")}
    selection = (args.categories, args.seed)  # a cache's categories and the seed of --max-shapes
    opts, protocol = _options(args.protocol, given, args.no_jsd, args.max_shapes, args.bootstrap, args.ci)
    gens = _load_samples(args.samples, opts["points"], args.max_shapes, protocol)
    units_note = _pointflow_units(gens, args.reference, protocol)
    n_pts = gens[0].data.shape[1] if gens[0].kind == "points" else opts["points"]
    # samples written with `gen3d sample --denormalize` are in raw units: a cache reference follows them;
    # generated grids are in the cache's voxel frame: its points are mapped into that frame, shape by shape
    units = "voxel" if gens[0].kind == "voxels" else ("raw" if gens[0].denormalized else "normalised")
    if args.grids:
        ref = _load_cache_grids(args.reference, gens[0], opts["split"], args.max_shapes, *selection)
    else:
        ref = _load(args.reference, opts["split"], n_pts, units, args.max_shapes, opts["points"], *selection)
    _check_same_units(gens[0].denormalized, ref.denormalized, "reference")
    train = None
    if args.train is not None:
        src = args.reference if args.train == "cache" else args.train
        train = _load_train(src, n_pts if ref.kind == "points" else None, units, opts["points"], *selection)
        _check_same_units(gens[0].denormalized, train.denormalized, "training set")
    _check_frames(gens[0], ref)
    scoring = _Scoring(
        metrics=tuple(m.strip() for m in opts["metrics"].split(",") if m.strip()),
        normalize=opts["normalize"],
        jsd=not args.no_jsd,
        jsd_mode=opts["jsd_mode"],
        emd_tol=args.emd_tol,
        pairs=args.pairs,
        voxel_threshold=args.voxel_threshold,
        plot=bool(args.plot),
        n_boot=args.bootstrap,
        level=args.ci,
        seed=args.seed,
        unequal=args.unequal,
    )
    results, mats = _score_files(gens, ref, train, scoring, protocol)
    is_cache = _is_cache(args.reference, "reference")
    inputs = {
        "samples": [redact(p) for p in args.samples],
        "reference": redact(args.reference),
        "split": opts["split"] if is_cache else None,
        "train": None if args.train is None else redact(args.train),
        "reference_cache": ref.info if is_cache else None,  # with its normalisation
        "reference_file": None if is_cache else ref.info,
        "max_shapes": args.max_shapes,
        "units": units_note or units,
    }
    options = {**opts, "unequal": args.unequal, "bootstrap": args.bootstrap, "ci": args.ci, "seed": args.seed}
    options["pairs"] = args.pairs
    result = _summarise(results, protocol, inputs, options, [redact(p) for p in args.samples])
    if units_note:
        print(f"units: {units_note}")
    if gens[0].groups is not None and ref.groups is None:
        print("no per-category results: the samples carry class labels but the reference does not")
    _write_outputs(result, results[0], mats, args.out, args.plot)
    return 0


def _load_samples(paths: list, points: int | None, max_shapes: int | None, protocol: dict | None) -> list:
    """The sample files, which must agree (one experiment over seeds) and hold point clouds under a
    protocol."""
    from gen3d.storage.urls import is_url

    for p in paths:
        if is_url(p):
            _is_cache(p, "samples")  # refuses a URL that is not an .npz/.npy file
    gens = [_load_file(p, points, max_shapes) for p in paths]
    _check_files_agree(gens, paths)
    if protocol is not None and gens[0].kind != "points":
        raise UserInputError(
            f"--protocol {protocol['name']} scores point clouds; the samples hold voxel grids"
        )
    return gens


def _load_train(
    src: str, n_points: int | None, units: str, file_points: int | None, categories: str | None, seed: int
) -> _Set:
    """The training set of the novelty score (``--train``): point clouds, used whole."""
    train = _load(src, "train", n_points, units, None, file_points, categories, seed, what="--train")
    if train.kind != "points":
        raise UserInputError("--train must hold point clouds")
    return train


def _score_files(gens: list, ref: _Set, train: _Set | None, scoring: _Scoring, protocol: dict | None):
    """Score every sample file against ``ref``; returns the per-file results and the distance matrices of
    the first file (for the plot; None unless ``scoring.plot``)."""
    results, mats, ref_cache = [], None, {}
    for g in gens:
        if g.kind == "voxels" and ref.kind == "voxels":
            res = _score_voxels(g, ref, train, scoring)
        else:
            keep = scoring.plot and mats is None
            res = _score_points(g, ref, train, scoring, keep_matrices=keep, cache=ref_cache)
        if g.kind == "voxels":
            from gen3d.metrics.frames import grid_frame_record

            res["grid_frame"] = grid_frame_record(g.meta, g.data.shape[-1])
        mats = res.pop("_matrices", None) if mats is None else mats
        res.pop("_matrices", None)
        res["protocol"] = protocol
        results.append(res)
    return results, mats


def _score_voxels(g: _Set, ref: _Set, train: _Set | None, scoring: _Scoring) -> dict:
    """Grids against grids, by IoU; point-cloud-only options are refused."""
    from gen3d.metrics.evaluation import evaluate_voxel_sets

    flags = (("--normalize", scoring.normalize != "none"), ("--train", train is not None))
    unsupported = [o for o, on in flags if on]
    if unsupported:
        raise UserInputError(
            f"{' and '.join(unsupported)} apply to point clouds only; voxel grids are compared by "
            "IoU (convert them with `gen3d export` or score them against a point reference)"
        )
    return evaluate_voxel_sets(
        g.data,
        ref.data,
        threshold=scoring.voxel_threshold,
        keep_matrices=scoring.plot,
        gen_groups=g.groups if ref.groups is not None else None,
        ref_groups=ref.groups,
        **scoring.common(),
    )


def _score_points(
    g: _Set, ref: _Set, train: _Set | None, scoring: _Scoring, keep_matrices: bool, cache: dict
) -> dict:
    """Point clouds against point clouds; grids on either side are first turned into surface points (in
    the grids' frame) so the point metrics apply. ``cache``: reference-side work shared across files."""
    import numpy as np

    from gen3d.metrics.evaluation import evaluate_point_sets

    rng = np.random.default_rng(scoring.seed)
    if ref.kind == "points":
        n = ref.data.shape[1]
    else:
        n = g.data.shape[1] if g.kind == "points" else 2048
    res = evaluate_point_sets(
        _as_points(g, n, rng, scoring.voxel_threshold),
        _as_points(ref, n, rng, scoring.voxel_threshold),
        metrics=scoring.metrics,
        normalize=scoring.normalize,
        emd_tol=scoring.emd_tol,
        pairs=scoring.pairs,
        train=None if train is None else train.data,
        jsd=scoring.jsd,
        jsd_mode=scoring.jsd_mode,
        keep_matrices=keep_matrices,
        gen_groups=g.groups if ref.groups is not None else None,
        ref_groups=ref.groups,
        ref_cache=cache if ref.kind == "points" else None,
        **scoring.common(),
    )
    res["converted_from_voxels"] = [k for k, s in (("gen", g), ("ref", ref)) if s.kind == "voxels"]
    return res


def _summarise(results: list, protocol, inputs: dict, options: dict, sample_paths: list[str]) -> dict:
    """Print the table; return the JSON record (one file's result, or every file's and their summary)."""
    from gen3d.metrics.aggregate import across_files
    from gen3d.metrics.table import format_across_files, format_result

    if len(results) == 1:
        result = {**results[0], "inputs": inputs, "options": options}
        print(format_result(result))
        return result
    summary = across_files(results)
    result = {
        "kind": results[0]["kind"],
        "protocol": protocol,
        "inputs": inputs,
        "options": options,
        "per_file": results,
        "across_files": summary,
    }
    print(format_across_files(results, sample_paths, summary))
    return result


def _write_outputs(result: dict, first: dict, mats, out: str | None, plot: str | None) -> None:
    """The JSON record at ``out`` and the nearest-neighbour histogram of the first file at ``plot``."""
    from gen3d.atomic import atomic_write_text

    if out:
        atomic_write_text(out, json.dumps(result, indent=2))
        print(f"wrote {out}")
    if plot and mats:
        _plot(plot, first, mats)
        print(f"wrote {plot}")


def _run_completion(args: argparse.Namespace) -> int:
    """``--task completion``: score one completion file (gen3d.completion.evaluate) and print a table."""
    from gen3d.completion.evaluate import evaluate_completion_file, format_completion_result

    given = {"--protocol": args.protocol, "--train": args.train, "--plot": args.plot}
    given |= {"--normalize": args.normalize, "--points": args.points}
    unused = [flag for flag, value in given.items() if value is not None]
    if unused:
        raise UserInputError(f"{', '.join(unused)} do not apply to --task completion")
    if len(args.samples) != 1:
        raise UserInputError(f"--task completion scores one completion file, got {len(args.samples)}")
    from gen3d.storage.urls import is_url, local_path, redact

    remote = [p for p in (args.samples[0], args.reference) if is_url(p) and local_path(p) is None]
    if remote:
        raise UserInputError(f"--task completion reads local files only, got {redact(remote[0])}")
    metrics = tuple(m.strip() for m in (args.metrics or "cd,emd").split(",") if m.strip())
    result = evaluate_completion_file(args.samples[0], args.reference, metrics, args.emd_tol, args.seed)
    print(format_completion_result(result))
    if args.out:
        from gen3d.atomic import atomic_write_text

        atomic_write_text(args.out, json.dumps(result, indent=2))
        print(f"wrote {args.out}")
    return 0
