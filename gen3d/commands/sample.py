"""``gen3d sample``: generate shapes from a checkpoint into a sample file (.npz, optional .ply per shape)."""

from __future__ import annotations

import argparse

NAME = "sample"
HELP = "generate shapes from a trained checkpoint into an .npz sample file"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ckpt", required=True, help="checkpoint written by gen3d fit (.ckpt)")
    parser.add_argument("--n", type=int, default=16, help="number of shapes")
    parser.add_argument(
        "--sampler",
        default=None,
        help="sampler name (default: the config's sampler.name); a different sampler than the checkpoint's "
        "drops the checkpoint's sampler options (set new ones with --set)",
    )
    parser.add_argument(
        "--steps", type=int, default=None, help="sampling steps, >= 1 (default: the config's sampler.steps)"
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="sampler.KEY=VALUE",
        help="override the checkpoint config's sampler group, as in gen3d fit: e.g. --set "
        "sampler.S_churn=40, --set sampler.rtol=1e-4 (repeatable; the options the sampler's function takes)",
    )
    parser.add_argument("--seed", type=int, default=0, help="first seed; shape i uses seed + i")
    parser.add_argument(
        "--class", dest="cls", default=None, help="class name (or index) for conditional models"
    )
    parser.add_argument("--guidance", type=float, default=None, help="classifier-free guidance weight w")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument(
        "--record-trajectory",
        type=int,
        default=0,
        metavar="K",
        help="store every K-th sampler state in 'trajectory' (0: off)",
    )
    parser.add_argument("--out", default="samples.npz", help="output .npz")
    parser.add_argument("--ply-dir", default=None, help="also write one .ply per point cloud here")
    parser.add_argument(
        "--denormalize",
        action="store_true",
        help="map points back to the data's units (needs the cache named in the config)",
    )
    parser.add_argument(
        "--raw-ema", action="store_true", help="use the raw weights instead of the EMA weights"
    )
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1 (default: cuda if available)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def _class_label(cls: str, class_names: list[str]) -> int:
    from gen3d.errors import UserInputError

    if cls in class_names:
        return class_names.index(cls)
    if cls.isdigit() and int(cls) < len(class_names):
        return int(cls)
    raise UserInputError(f"--class {cls!r} is not a class of this model; classes: {class_names}")


def _write_ply(path, points) -> None:
    """One point cloud (N, 3) as a binary PLY (float32 vertices), atomically, with gen3d export's writer."""
    import trimesh

    from gen3d.export.writers import write_mesh

    write_mesh(trimesh.PointCloud(points), path, fmt="ply")


def resolve_sampler_group(stored: dict, args: argparse.Namespace) -> tuple[dict, list[str]]:
    """The sampler group to sample with: the checkpoint's ``stored`` group, ``--set sampler.*`` overrides and
    the ``--sampler``/``--steps`` shortcuts over it, checked as at config load. When the sampler name
    changes, the stored options (which belong to the stored sampler) are dropped; returns ``(group,
    dropped option names)``."""
    from gen3d.config import SAMPLER_KEYS, apply_overrides, check_sampler_group
    from gen3d.errors import UserInputError

    for item in args.overrides:
        if not item.partition("=")[0].strip().startswith("sampler."):
            raise UserInputError(
                f"gen3d sample --set takes sampler.KEY=VALUE overrides only (the other groups are fixed by "
                f"the trained model), got {item!r}"
            )
    over = apply_overrides({}, args.overrides).get("sampler", {})
    for flag, key, value in (("--sampler", "name", args.sampler), ("--steps", "steps", args.steps)):
        if value is None:
            continue
        if key in over and over[key] != value:
            raise UserInputError(f"{flag} {value} and --set sampler.{key}={over[key]} disagree; give one")
        over[key] = value
    group = dict(stored)
    dropped: list[str] = []
    if over.get("name", group.get("name")) != group.get("name"):
        dropped = sorted(k for k in group if k not in SAMPLER_KEYS and k not in over)
        group = {k: v for k, v in group.items() if k in SAMPLER_KEYS}
    group.update(over)
    return check_sampler_group(group), dropped


def _check_args(args: argparse.Namespace, data: dict, sampler: str) -> None:
    """Argument combinations that need no model: refused before anything is sampled."""
    import math

    from gen3d.errors import UserInputError

    if not str(args.out).endswith(".npz"):
        raise UserInputError(f"--out must be an .npz file (a gen3d sample file), got {args.out}")
    if args.guidance is not None and not math.isfinite(args.guidance):
        raise UserInputError(f"--guidance must be a finite number, got {args.guidance}")
    if args.record_trajectory < 0:
        raise UserInputError(f"--record-trajectory K must be >= 0 (0: off), got {args.record_trajectory}")
    if args.record_trajectory and sampler == "adaptive" and args.n > args.batch_size:
        raise UserInputError(
            "--record-trajectory with the adaptive sampler needs all shapes in one batch (the solver picks "
            f"its own steps per batch, so their frames do not align): use --batch-size {args.n} or a "
            "fixed-grid sampler"
        )
    if data["type"] != "points":
        if args.denormalize:
            raise UserInputError("--denormalize applies to point clouds only")
        if args.ply_dir:
            raise UserInputError("--ply-dir applies to point clouds only (use gen3d export for voxels)")


def _denormalizer(data: dict):
    """The cache whose normalisation ``--denormalize`` inverts, checked on a dummy cloud before sampling."""
    import numpy as np

    from gen3d.errors import UserInputError

    if not data.get("cache_dir"):
        raise UserInputError("--denormalize needs data.cache_dir in the checkpoint's config")
    from gen3d.datasets.cache import ShapeCache

    cache = ShapeCache(data["cache_dir"])
    try:
        cache.denormalize(np.zeros((1, 1, 3), dtype=np.float32))
    except (TypeError, ValueError) as e:
        raise UserInputError(f"cannot de-normalise: {e} (per-shape normalisations need model ids)") from e
    return cache


def run(args: argparse.Namespace) -> int:
    import numpy as np
    import torch

    from gen3d import __version__
    from gen3d.config import SAMPLER_KEYS
    from gen3d.errors import UserInputError
    from gen3d.generate import TrajectoryRecorder, generate
    from gen3d.models import load_denoiser
    from gen3d.sample_file import SampleFile, save_samples
    from gen3d.samplers.options import effective_options

    if args.n < 1 or args.batch_size < 1:
        raise UserInputError("--n and --batch-size must be >= 1")
    if args.steps is not None and args.steps < 1:
        raise UserInputError(f"--steps must be >= 1, got {args.steps}")
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    denoiser, config, process = load_denoiser(args.ckpt, ema=not args.raw_ema, map_location=device)
    group, dropped = resolve_sampler_group(config["sampler"], args)
    if dropped:
        print(
            f"gen3d sample: sampler {group['name']!r} replaces {config['sampler']['name']!r}: dropped its "
            f"option(s) {', '.join(dropped)}"
        )
    config = dict(config, sampler=group)
    sampler, steps = group["name"], group["steps"]
    options = {k: v for k, v in group.items() if k not in SAMPLER_KEYS}
    data = config["data"]
    _check_args(args, data, sampler)
    cache = _denormalizer(data) if args.denormalize else None
    if data["type"] == "points":
        shape = (int(data["n_points"]), 3)
    else:
        shape = (1, int(data["resolution"]), int(data["resolution"]), int(data["resolution"]))
    class_names = config["experiment"].get("class_names") or []
    num_classes = len(class_names) if config["experiment"].get("class_cond") else 0
    cond = label = None
    if args.cls is not None:
        if num_classes == 0:
            raise UserInputError("--class given but the model is unconditional")
        label = _class_label(args.cls, class_names)
    elif num_classes:
        label = num_classes  # null class: the unconditional model learned through label dropout
    if label is not None:
        cond = torch.full((args.n,), label, dtype=torch.long)
    if args.guidance is not None and (args.cls is None):
        raise UserInputError("--guidance needs --class")
    if num_classes and (args.cls is None or args.guidance is not None):
        # the null class (unconditional samples, the D_u half of guidance) is only trained by label dropout
        if float(config["optim"].get("p_uncond", 0.0)) <= 0.0:
            raise UserInputError(
                "this class-conditional model was trained without label dropout (optim.p_uncond = 0), "
                "so it has no unconditional model: pass --class and no --guidance"
            )
    seeds = np.arange(args.seed, args.seed + args.n, dtype=np.int64)
    recorder = TrajectoryRecorder(args.n, args.record_trajectory) if args.record_trajectory else None
    try:
        result = generate(
            denoiser,
            process,
            shape,
            seeds.tolist(),
            sampler=sampler,
            steps=steps,
            cond=cond,
            guidance=args.guidance,
            null_label=num_classes,
            batch_size=args.batch_size,
            callback=recorder,
            device=device,
            schedule=group["schedule"],
            rho=group["rho"],
            progress=not args.no_progress,
            **options,
        )
    except (KeyError, ValueError) as e:
        raise UserInputError(f"sampling failed: {e}") from e
    x, nfe = result
    x = x.numpy()
    meta = {
        "config": config,
        "sampler": sampler,
        "steps": steps,
        "schedule": group["schedule"],
        "rho": group["rho"],
        "sampler_options": effective_options(sampler, options),
        **result.nfe_meta(),
        "guidance": args.guidance,
        "checkpoint": str(args.ckpt),
        "ema": not args.raw_ema,
        "class_names": class_names,
        "denormalized": bool(args.denormalize),
        "gen3d_version": __version__,
    }
    if cache is not None:
        x = np.asarray(cache.denormalize(x), dtype=np.float32)
        meta["normalization"] = cache.normalization
    labels = np.full(args.n, label if (label is not None and label < num_classes) else -1, dtype=np.int64)
    sf = SampleFile(seeds=seeds, labels=labels, meta=meta)
    if data["type"] == "points":
        sf.points = x.astype(np.float32)
    else:
        sf.voxels = (x > 0).astype(np.float32)  # model space {-1, +1} -> occupancy
        meta["voxel_kind"] = "occupancy"
    if recorder is not None:
        sf.trajectory, sf.traj_sigmas = recorder.arrays()
    path = save_samples(args.out, sf)
    if args.ply_dir:
        from pathlib import Path

        for i, s in enumerate(seeds):
            _write_ply(Path(args.ply_dir) / f"shape_{i:04d}_seed{s}.ply", sf.points[i])
    opts = "".join(f" {k}={v:g}" if isinstance(v, float) else f" {k}={v}" for k, v in options.items())
    per_batch = f", per batch {result.nfe_per_batch}" if "nfe_per_batch" in meta else ""
    print(
        f"gen3d sample: wrote {args.n} shapes to {path} ({sampler}{opts}, {steps} steps, "
        f"NFE {nfe:g} per shape{per_batch})"
    )
    return 0
