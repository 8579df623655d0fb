"""``gen3d complete``: K completions of each partial scan by any unconditional point model (training-free)."""

from __future__ import annotations

import argparse

NAME = "complete"
HELP = (
    "complete partial scans (point files or a cache split's partial views) with an unconditional point model"
)

FRAME_CHOICES = ("given", "partial", "refine")  # gen3d.completion.frame.FRAME_MODES (a test checks)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "inputs", nargs="+", help="partial scans (.ply .pcd .xyz .npy .npz) or one cache folder"
    )
    parser.add_argument(
        "--ckpt", required=True, help="checkpoint of an unconditional point model (gen3d fit)"
    )
    parser.add_argument("--out", required=True, help="completion file to write (.npz)")
    parser.add_argument(
        "--sample-file",
        default=None,
        help="also write the completions as a sample file (I*K shapes, seeds recorded) for gen3d render, "
        "view and export",
    )
    parser.add_argument("--n", type=int, default=4, help="completions per input (K, default 4)")
    parser.add_argument("--seed", type=int, default=0, help="completion (i, k) uses seed + i*K + k")
    parser.add_argument("--split", default="test", help="cache inputs: the split (default test)")
    parser.add_argument("--categories", default=None, help="cache inputs: comma-separated categories")
    parser.add_argument("--max-shapes", type=int, default=None, help="cache inputs: at most N per category")
    parser.add_argument("--view", type=int, default=0, help="cache inputs: which stored partial view (0)")
    parser.add_argument(
        "--points", type=int, default=None, help="points per completion (default: the model's)"
    )
    parser.add_argument(
        "--observed",
        type=int,
        default=None,
        help="at most this many observed points per completion, a random subset of the partial "
        "(default: half the points)",
    )
    parser.add_argument(
        "--frame",
        default=None,
        choices=FRAME_CHOICES,
        help="how partials enter the model's frame: given (already in it; default for a cache), partial "
        "(default for files: the normalisation fitted to the partial), refine (then refitted to the "
        "completions, --frame-iterations times)",
    )
    parser.add_argument("--frame-iterations", type=int, default=2, help="refine: re-fits of the frame (2)")
    parser.add_argument(
        "--normalize",
        default=None,
        choices=("unit_sphere", "unit_cube", "bbox"),
        help="the model's normalisation (default: that of its training cache, data.cache_dir)",
    )
    parser.add_argument(
        "--class",
        dest="cls",
        default=None,
        help="class name or index for a class-conditional model (default: its null class, unconditional)",
    )
    parser.add_argument("--sampler", default=None, help="sampler (default: the checkpoint's sampler.name)")
    parser.add_argument("--steps", type=int, default=None, help="sampler steps (default: the checkpoint's)")
    parser.add_argument("--batch-size", type=int, default=16, help="completions per sampler batch")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")


def run(args: argparse.Namespace) -> int:
    import numpy as np
    import torch

    from gen3d.completion.complete import complete_raw
    from gen3d.completion.completion_file import CompletionFile, save_completions
    from gen3d.errors import UserInputError
    from gen3d.generate import sampling_process
    from gen3d.models import load_denoiser

    _check_counts(args)
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    denoiser, config, process = load_denoiser(args.ckpt, map_location=device)
    inputs = _read_inputs(args)
    settings, group = _settings(config, args)
    try:  # sampler.sigma_max / sigma_min: a late start, an early stop
        process = sampling_process(process, group.get("sigma_max"), group.get("sigma_min"))
    except ValueError as e:
        raise UserInputError(f"sampler levels: {e}") from None
    kind = _model_kind(args.normalize, config, inputs.kind)
    mode = args.frame or ("given" if inputs.units == "cache" else "partial")
    _check_frame(mode, kind)
    seeds = args.seed + np.arange(len(inputs.partials) * args.n, dtype=np.int64).reshape(-1, args.n)
    done, frames = complete_raw(
        denoiser, process, inputs.partials, seeds, settings, kind, mode, args.frame_iterations, device
    )
    meta = _meta(args, config, group, settings, done.nfe, inputs, frames, mode, kind)
    out = CompletionFile(done.points, seeds, done.observed, inputs.partials, inputs.truth, meta)
    path = save_completions(args.out, out)
    skipped = (
        f" ({inputs.skipped} shapes without a usable view {args.view} left out)" if inputs.skipped else ""
    )
    print(
        f"wrote {path}: {len(inputs.partials)} inputs x {args.n} completions of {settings.n_points} points "
        f"({int(done.observed.min())}-{int(done.observed.max())} observed, {meta['conditioning']}), "
        f"frame {mode}, {done.nfe} NFE each{skipped}"
    )
    if args.sample_file:
        _write_sample_file(args.sample_file, out, str(path))
    return 0


def _check_counts(args: argparse.Namespace) -> None:
    from gen3d.errors import UserInputError

    for flag, value in (("--n", args.n), ("--batch-size", args.batch_size), ("--points", args.points),
                        ("--observed", args.observed), ("--steps", args.steps)):  # fmt: skip
        if value is not None and value < 1:
            raise UserInputError(f"{flag} must be >= 1, got {value}")
    if args.seed < 0 or args.frame_iterations < 0 or args.view < 0:
        raise UserInputError("--seed, --view and --frame-iterations must be >= 0")


def _read_inputs(args: argparse.Namespace):
    from pathlib import Path

    from gen3d.completion.inputs import read_cache_inputs, read_file_inputs
    from gen3d.errors import UserInputError

    dirs = [p for p in args.inputs if Path(p).is_dir()]
    if dirs and len(args.inputs) > 1:
        raise UserInputError("give either one cache folder or partial-scan files, not both")
    if dirs:
        return read_cache_inputs(dirs[0], args.split, args.categories, args.max_shapes, args.view)
    return read_file_inputs(args.inputs)


def _settings(config: dict, args: argparse.Namespace):
    """The completion settings: points, observed slots, the sampler group (the checkpoint's with --sampler /
    --steps over it; a new sampler drops the stored options)."""
    from gen3d.completion.complete import CompletionSettings
    from gen3d.config import SAMPLER_KEYS, check_sampler_group
    from gen3d.errors import UserInputError

    if config["data"].get("type", "points") != "points":
        raise UserInputError(f"{args.ckpt} is a {config['data'].get('type')} model; completion needs points")
    group = dict(config["sampler"])
    if args.sampler is not None and args.sampler != group.get("name"):
        group = {k: v for k, v in group.items() if k in SAMPLER_KEYS} | {"name": args.sampler}
    if args.steps is not None:
        group["steps"] = args.steps
    try:
        group = check_sampler_group(group)
    except ValueError as e:
        raise UserInputError(str(e)) from None
    options = {k: v for k, v in group.items() if k not in SAMPLER_KEYS and v is not None}
    n_points = args.points or int(config["data"]["n_points"])
    settings = CompletionSettings(
        n_points, args.observed, group["name"], int(group["steps"]), group["schedule"], float(group["rho"]),
        options, args.batch_size, _conditioning(args.ckpt) == "replace", _label(config, args.cls),
    )  # fmt: skip
    try:
        settings.observed_slots()
    except ValueError as e:
        raise UserInputError(f"--observed: {e}") from None
    return settings, group


def _label(config: dict, cls: str | None) -> int | None:
    """The class index of ``--class`` (a name or an index) for a class-conditional model; None when not
    given. UserInputError for an unconditional model or an unknown class."""
    from gen3d.errors import UserInputError

    if cls is None:
        return None
    names = list(config["experiment"].get("class_names") or [])
    if not config["experiment"].get("class_cond") or not names:
        raise UserInputError("--class needs a class-conditional model; this one is unconditional")
    if cls in names:
        return names.index(cls)
    if cls.isdigit() and int(cls) < len(names):
        return int(cls)
    raise UserInputError(f"--class {cls!r} is not a class of this model; classes: {names}")


def _conditioning(ckpt: str) -> str:
    """``clean`` for a model fine-tuned by gen3d complete-train (observed slots fed clean), else
    ``replace`` (training-free: observed slots fed noised at each level)."""
    from gen3d.completion.finetune import COMPLETION_KEY
    from gen3d.models import CHECKPOINT_KEY, read_checkpoint

    record = read_checkpoint(ckpt)[CHECKPOINT_KEY].get(COMPLETION_KEY) or {}
    return str(record.get("conditioning", "replace"))


def _model_kind(given: str | None, config: dict, cache_kind: str | None) -> str:
    """The model's normalisation: --normalize, else its training cache's, else the input cache's."""
    import json
    from pathlib import Path

    if given is not None:
        return given
    manifest = Path(str(config["data"].get("cache_dir") or "")) / "manifest.json"
    if manifest.is_file():
        return str(json.loads(manifest.read_text())["normalization"]["kind"])
    return cache_kind or "unknown"


def _check_frame(mode: str, kind: str) -> None:
    from gen3d.completion.frame import check_frame_mode
    from gen3d.errors import UserInputError

    if mode != "given" and kind == "unknown":
        raise UserInputError(
            "cannot tell the model's normalisation (its training cache is not here): pass --normalize"
        )
    check_frame_mode(mode, kind)


def _meta(args, config, group, settings, nfe, inputs, frames, mode, kind) -> dict:
    from gen3d import __version__

    return {
        "format": "gen3d-completions/1",
        "gen3d_version": __version__,
        "checkpoint": str(args.ckpt),
        "config": {**config, "sampler": group},
        "sampler": settings.sampler,
        "steps": settings.steps,
        "schedule": settings.schedule,
        "rho": settings.rho,
        "sampler_options": settings.sampler_options,
        "nfe": nfe,
        "n_points": settings.n_points,
        "n_observed": settings.observed_slots(),
        "conditioning": "replace" if settings.observed_noise else "clean",
        "label": settings.label,
        "seed": args.seed,
        "inputs": inputs.infos,
        "units": inputs.units,
        "normalization": kind,
        "frame_mode": mode,
        "frame_iterations": args.frame_iterations if mode == "refine" else 0,
        "frames": [f.to_dict() for f in frames],
        "skipped_inputs": inputs.skipped,
    }


def _write_sample_file(path: str, comp, source: str) -> None:
    """The completions flattened to a sample file: shape ``i*K + k`` is completion k of input i."""
    import numpy as np

    from gen3d.sample_file import SampleFile, save_samples

    i, k, n, _ = comp.completions.shape
    meta = {key: comp.meta[key] for key in ("config", "sampler", "steps", "nfe", "units", "normalization")}
    meta |= {
        "completion_file": source,
        "completions_per_input": k,
        "observed": comp.observed.ravel().tolist(),
    }
    points = np.asarray(comp.completions, dtype=np.float32).reshape(i * k, n, 3)
    sf = SampleFile(points=points, seeds=comp.seeds.ravel(), labels=np.full(i * k, -1), meta=meta)
    save_samples(path, sf)
    print(f"wrote {path}: {i * k} completions as a sample file")
