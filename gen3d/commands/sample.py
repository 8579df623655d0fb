"""``gen3d sample``: generate shapes from a checkpoint into a sample file (.npz, optional .ply per shape)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

NAME = "sample"
HELP = "generate shapes from a trained checkpoint into an .npz sample file"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--ckpt", help="checkpoint written by gen3d fit (.ckpt; a path or a URL: s3://...)")
    source.add_argument(
        "--model",
        help="published model <registry>/<name> (latest version) or <registry>/<name>@v<k> (gen3d publish); "
        "every file is checked against the version's sha256 manifest",
    )
    parser.add_argument("--n", type=int, default=16, help="number of shapes")
    parser.add_argument(
        "--points",
        type=int,
        default=None,
        help="point clouds: points per generated shape (default: the training config's data.n_points); "
        "the point backbones take any count (pvd: at least 4^levels), so a model trained on 512 points can "
        "make 2048-point shapes. Recorded in the sample file (points, points_trained); refused for PFGM++ "
        "with D_per_dim, whose kernel depends on the point count",
    )
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
        "--voxel-post",
        default="none",
        metavar="STEPS",
        help="voxel grids: post-processing steps in order, comma-separated: lcc (keep the largest "
        "face-connected piece), fill (fill enclosed holes); none (default). Recorded in the sample file with "
        "the pieces per shape before it",
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


def resolve_sampler_group(
    stored: dict, overrides: list[str], sampler: str | None = None, steps: int | None = None
) -> tuple[dict, list[str]]:
    """The sampler group to sample with: the checkpoint's ``stored`` group, ``sampler.KEY=VALUE``
    ``overrides`` (``--set``) and the ``sampler``/``steps`` shortcuts (``--sampler``/``--steps``; None: not
    given) over it, checked as at config load. When the sampler name changes, the stored options (which
    belong to the stored sampler) are dropped; returns ``(group, dropped option names)``."""
    from gen3d.config import SAMPLER_KEYS, apply_overrides, check_sampler_group
    from gen3d.errors import UserInputError

    for item in overrides:
        if not item.partition("=")[0].strip().startswith("sampler."):
            raise UserInputError(
                f"gen3d sample --set takes sampler.KEY=VALUE overrides only (the other groups are fixed by "
                f"the trained model), got {item!r}"
            )
    over = apply_overrides({}, overrides).get("sampler", {})
    for flag, key, value in (("--sampler", "name", sampler), ("--steps", "steps", steps)):
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
    _voxel_post_steps(args.voxel_post, data["type"])
    if args.points is not None and data["type"] == "points" and args.points < 1:
        raise UserInputError(f"--points must be >= 1, got {args.points}")
    if data["type"] != "points":
        if args.points is not None:
            raise UserInputError("--points applies to point clouds only (a grid's size is its resolution)")
        if args.denormalize:
            raise UserInputError("--denormalize applies to point clouds only")
        if args.ply_dir:
            raise UserInputError("--ply-dir applies to point clouds only (use gen3d export for voxels)")


def _voxel_post_steps(text: str, data_type: str) -> tuple[str, ...]:
    """``--voxel-post`` -> the step names, checked (voxel models only)."""
    from gen3d.errors import UserInputError
    from gen3d.geometry.components import VOXEL_POST_STEPS

    steps = tuple(s.strip() for s in str(text).split(",") if s.strip() and s.strip() != "none")
    bad = [s for s in steps if s not in VOXEL_POST_STEPS]
    if bad:
        raise UserInputError(
            f"--voxel-post: unknown step(s) {bad}; choose from {list(VOXEL_POST_STEPS)} or none"
        )
    if steps and data_type != "voxels":
        raise UserInputError("--voxel-post applies to voxel grids only")
    return steps


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

    from gen3d.sample_file import save_samples

    _check_counts(args.n, args.batch_size, args.steps)
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    denoiser, config, process, source = _load(args.ckpt, args.model, args.raw_ema, device)
    config = _with_sampler_group(config, args.overrides, args.sampler, args.steps)
    data = config["data"]
    _check_args(args, data, config["sampler"]["name"])
    points_meta = _point_count(args.points, data, denoiser, process)
    cache = _denormalizer(data) if args.denormalize else None
    labels = _Labels.of(config, args.cls, args.guidance, args.n)
    seeds = np.arange(args.seed, args.seed + args.n, dtype=np.int64)
    recorder = _recorder(args.n, args.record_trajectory)
    result = _generate(
        denoiser,
        process,
        config,
        seeds,
        labels,
        guidance=args.guidance,
        batch_size=args.batch_size,
        recorder=recorder,
        device=device,
        progress=not args.no_progress,
        points=points_meta.get("points"),
    )
    meta = {"guidance": args.guidance, **source, "ema": not args.raw_ema, **_up_axis_meta(data)}
    meta.update(points_meta)
    sf = _sample_file(result, config, seeds, labels, cache, recorder, meta)
    if data["type"] == "voxels":
        _post_process(sf, _voxel_post_steps(args.voxel_post, "voxels"))
    path = save_samples(args.out, sf)
    if args.ply_dir:
        _write_plys(args.ply_dir, seeds, sf.points)
    _report(args.n, path, config["sampler"], result)
    return 0


def _point_count(points: int | None, data: dict, denoiser, process) -> dict:
    """``--points``: {} (the trained count), or ``{"points": N, "points_trained": M}`` after checking that
    the backbone takes N points and that the process does not depend on the point count."""
    from gen3d.errors import UserInputError

    if points is None:
        return {}
    trained = int(data["n_points"])
    least = int(getattr(getattr(denoiser, "backbone", None), "min_points", 1))
    if points < least:
        raise UserInputError(f"--points {points}: this backbone needs at least {least} points per shape")
    if points != trained and process.config().get("D_per_dim") is not None:
        raise UserInputError(
            f"--points {points}: this PFGM++ model sets D per data dimension (D_per_dim), so its noise "
            f"kernel and prior depend on the point count; sample it at its trained {trained} points"
        )
    return {"points": int(points), "points_trained": trained}


def _up_axis_meta(data: dict) -> dict:
    """``{"up_axis": axis}`` of the training cache (``data.cache_dir``) when it is readable here, else {}:
    ``gen3d render`` / ``view`` draw the samples upright by it."""
    from gen3d.datasets.cache import cache_up_axis

    axis = cache_up_axis(data.get("cache_dir"))
    return {} if axis is None else {"up_axis": axis}


def _load(ckpt: str | None, model: str | None, raw_ema: bool, device: str):
    """``(denoiser, config, process, meta)`` from ``--ckpt`` (path or URL) or ``--model`` (a registry);
    ``meta`` names the source in the sample file (``checkpoint``, or ``model`` with its version)."""
    from gen3d.errors import UserInputError
    from gen3d.storage.urls import redact

    if model is None:
        from gen3d.models import load_denoiser

        denoiser, config, process = load_denoiser(ckpt, ema=not raw_ema, map_location=device)
        return denoiser, config, process, {"checkpoint": redact(str(ckpt))}
    if raw_ema:
        raise UserInputError("--raw-ema: a published model holds its EMA weights only")
    from gen3d.storage.load import load_model

    loaded = load_model(model, map_location=device)
    print(f"gen3d sample: model {loaded.ref} (files checked against its sha256 manifest)")
    return loaded.denoiser, loaded.config, loaded.process, {"checkpoint": None, "model": loaded.ref}


def _check_counts(n: int, batch_size: int, steps: int | None) -> None:
    from gen3d.errors import UserInputError

    if n < 1 or batch_size < 1:
        raise UserInputError("--n and --batch-size must be >= 1")
    if steps is not None and steps < 1:
        raise UserInputError(f"--steps must be >= 1, got {steps}")


def _with_sampler_group(config: dict, overrides: list[str], sampler: str | None, steps: int | None) -> dict:
    """``config`` with the sampler group to sample with (:func:`resolve_sampler_group`); says which stored
    options a change of sampler dropped."""
    group, dropped = resolve_sampler_group(config["sampler"], overrides, sampler=sampler, steps=steps)
    if dropped:
        print(
            f"gen3d sample: sampler {group['name']!r} replaces {config['sampler']['name']!r}: dropped its "
            f"option(s) {', '.join(dropped)}"
        )
    return dict(config, sampler=group)


def _options(group: dict) -> dict:
    """The sampler options of a sampler group (every key but ``gen3d.config.SAMPLER_KEYS``)."""
    from gen3d.config import SAMPLER_KEYS

    return {k: v for k, v in group.items() if k not in SAMPLER_KEYS}


@dataclass(frozen=True)
class _Labels:
    """The class rules of ``--class`` / ``--guidance`` for the model the config describes.

    ``label``: the class sampled (None for an unconditional model; ``num_classes``, the null class, for
    unconditional samples of a conditional one); ``cond`` (S,) int64 or None.
    """

    class_names: list
    num_classes: int
    label: int | None
    cond: object  # torch.Tensor | None

    @classmethod
    def of(cls, config: dict, cls_arg: str | None, guidance: float | None, n: int) -> _Labels:
        import torch

        from gen3d.errors import UserInputError

        class_names = config["experiment"].get("class_names") or []
        num_classes = len(class_names) if config["experiment"].get("class_cond") else 0
        label = None
        if cls_arg is not None:
            if num_classes == 0:
                raise UserInputError("--class given but the model is unconditional")
            label = _class_label(cls_arg, class_names)
        elif num_classes:
            label = num_classes  # null class: the unconditional model learned through label dropout
        cond = torch.full((n,), label, dtype=torch.long) if label is not None else None
        if guidance is not None and cls_arg is None:
            raise UserInputError("--guidance needs --class")
        if num_classes and (cls_arg is None or guidance is not None):
            # the null class (unconditional samples, the D_u half of guidance) is learnt by label dropout only
            if float(config["optim"].get("p_uncond", 0.0)) <= 0.0:
                raise UserInputError(
                    "this class-conditional model was trained without label dropout (optim.p_uncond = 0), "
                    "so it has no unconditional model: pass --class and no --guidance"
                )
        return cls(class_names, num_classes, label, cond)

    def per_shape(self, n: int):
        """``labels (n,) int64`` of the sample file: the class index, -1 for unconditional samples."""
        import numpy as np

        conditional = self.label is not None and self.label < self.num_classes
        return np.full(n, self.label if conditional else -1, dtype=np.int64)


def _recorder(n: int, every: int):
    from gen3d.generate import TrajectoryRecorder

    return TrajectoryRecorder(n, every) if every else None


def _shape_per_sample(data: dict) -> tuple[int, ...]:
    """``(N, 3)`` for point clouds, ``(1, R, R, R)`` for grids."""
    if data["type"] == "points":
        return (int(data["n_points"]), 3)
    r = int(data["resolution"])
    return (1, r, r, r)


def _generate(
    denoiser,
    process,
    config: dict,
    seeds,
    labels: _Labels,
    *,
    guidance: float | None,
    batch_size: int,
    recorder,
    device: str,
    progress: bool,
    points: int | None = None,
):
    """:func:`gen3d.generate.generate` of one shape per seed (``seeds`` (S,) int64) with the config's sampler
    group; returns its ``Generated`` (``x`` (S, ...) float32, NFE); a bad sampler setting is a user error."""
    from gen3d.errors import UserInputError
    from gen3d.generate import generate

    group = config["sampler"]
    try:
        return generate(
            denoiser,
            process,
            _shape_per_sample(config["data"]) if points is None else (points, 3),
            seeds.tolist(),
            sampler=group["name"],
            steps=group["steps"],
            cond=labels.cond,
            guidance=guidance,
            null_label=labels.num_classes,
            batch_size=batch_size,
            callback=recorder,
            device=device,
            schedule=group["schedule"],
            rho=group["rho"],
            sigmas=group.get("sigmas"),
            sigma_max=group.get("sigma_max"),
            sigma_min=group.get("sigma_min"),
            progress=progress,
            **_options(group),
        )
    except (KeyError, ValueError) as e:
        raise UserInputError(f"sampling failed: {e}") from e


def _sample_file(result, config: dict, seeds, labels: _Labels, cache, recorder, run_meta: dict):
    """The :class:`~gen3d.sample_file.SampleFile` of ``result``: points (S, N, 3) (in the data's units when
    ``cache`` de-normalises them) or occupancy grids (S, 1, R, R, R), seeds, labels, the trajectory when
    recorded, and ``meta`` (config, sampler settings, NFE, ``run_meta``: guidance, checkpoint, ema, the
    training cache's ``up_axis`` when it was readable)."""
    import numpy as np

    from gen3d import __version__
    from gen3d.sample_file import SampleFile
    from gen3d.samplers.options import effective_options

    group = config["sampler"]
    meta = {
        "config": config,
        "sampler": group["name"],
        "steps": group["steps"],
        "schedule": group["schedule"],
        "rho": group["rho"],
        "sigmas": group.get("sigmas"),
        "sigma_max": group.get("sigma_max"),
        "sigma_min": group.get("sigma_min"),
        "sampler_options": effective_options(group["name"], _options(group)),
        **result.nfe_meta(),
        **run_meta,
        "class_names": labels.class_names,
        "denormalized": cache is not None,
        "gen3d_version": __version__,
    }
    x = result.x.numpy()
    if cache is not None:
        x = np.asarray(cache.denormalize(x), dtype=np.float32)
        meta["normalization"] = cache.normalization
    sf = SampleFile(seeds=seeds, labels=labels.per_shape(len(seeds)), meta=meta)
    if config["data"]["type"] == "points":
        sf.points = x.astype(np.float32)
    else:
        sf.voxels = (x > 0).astype(np.float32)  # model space {-1, +1} -> occupancy
        meta["voxel_kind"] = "occupancy"
    if recorder is not None:
        sf.trajectory, sf.traj_sigmas = recorder.arrays()
    return sf


def _post_process(sf, steps: tuple[str, ...]) -> None:
    """Apply ``--voxel-post`` to the occupancy grids of ``sf`` in place; record the steps, the face-connected
    pieces per shape before them (``voxel_pieces_raw``) and after (``voxel_pieces``)."""
    import numpy as np

    from gen3d.geometry.components import count_components, postprocess_grids

    occ = sf.voxels[:, 0] > 0.5
    sf.meta["voxel_post"] = list(steps)
    sf.meta["voxel_pieces_raw"] = count_components(occ).tolist()
    if steps:
        occ = postprocess_grids(occ, steps)
        sf.voxels = occ[:, None].astype(np.float32)
    sf.meta["voxel_pieces"] = count_components(occ).tolist()


def _write_plys(ply_dir, seeds, points) -> None:
    """One ``shape_<i>_seed<s>.ply`` per point cloud (S, N, 3) in ``ply_dir``."""
    from pathlib import Path

    for i, s in enumerate(seeds):
        _write_ply(Path(ply_dir) / f"shape_{i:04d}_seed{s}.ply", points[i])


def _report(n: int, path, group: dict, result) -> None:
    """The one line ``gen3d sample`` prints: what it wrote, with which sampler settings and NFE."""
    options = _options(group).items()
    opts = "".join(f" {k}={v:g}" if isinstance(v, float) else f" {k}={v}" for k, v in options)
    per_batch = f", per batch {result.nfe_per_batch}" if "nfe_per_batch" in result.nfe_meta() else ""
    print(
        f"gen3d sample: wrote {n} shapes to {path} ({group['name']}{opts}, {group['steps']} steps, "
        f"NFE {result.nfe:g} per shape{per_batch})"
    )
