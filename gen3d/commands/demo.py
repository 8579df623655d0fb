"""``gen3d demo``: the whole job on the embedded synthetic collection, with no download.

synth (procedural ShapeNet-v2 tree) → prepare (points + voxels cache) → fit (demo config, resumable) →
sample (every category, per-sample seeds) → evaluate (MMD/COV/1-NNA against the held-out split) → render (PNG
gallery) → export (meshes). Every step is the public ``gen3d`` command of the same name, run in-process,
so the demo is also the shortest tour of the command line. Re-running continues from what is already on disk:
the collection and the cache are reused, training resumes from ``last.ckpt`` (and does
nothing once ``max_steps`` is reached).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

NAME = "demo"
HELP = (
    "run the whole job on the embedded synthetic collection: data → train → sample → score → render → export"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="runs/demo", help="output folder (default runs/demo)")
    parser.add_argument("--config", default="demo_points", help="training config (default demo_points)")
    parser.add_argument("--per-category", type=int, default=40, help="synthetic models per category")
    parser.add_argument(
        "--categories", default=None, help="comma-separated subset of the synthetic categories"
    )
    parser.add_argument("--max-steps", type=int, default=None, help="training steps (default: the config's)")
    parser.add_argument("--gallery-per-class", type=int, default=4, help="shapes per category in the gallery")
    parser.add_argument(
        "--sampler", default=None, help="sampler for the sample step (default: the config's sampler.name)"
    )
    parser.add_argument(
        "--steps", type=int, default=None, help="sampling steps, >= 1 (default: the config's sampler.steps)"
    )
    parser.add_argument("--seed", type=int, default=0, help="first sampling seed")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="GROUP.KEY=VALUE",
        help="extra training-config override (repeatable); sampler.* overrides (e.g. sampler.S_churn=40) "
        "also go to every `gen3d sample` step",
    )
    parser.add_argument("--workers", type=int, default=2, help="worker processes for data preparation")
    parser.add_argument("--no-render", action="store_true", help="skip the picture (no rendering backend)")


def _step(title: str):
    print(f"\n=== gen3d demo: {title}", flush=True)
    return time.perf_counter()


def _call(argv: list[str]) -> None:
    from gen3d.cli import main
    from gen3d.errors import Gen3dError

    print("$ gen3d " + " ".join(argv), flush=True)
    rc = main(argv)
    if rc != 0:
        raise Gen3dError(f"step `gen3d {argv[0]}` failed with exit status {rc} (see the messages above)")


def _concat(parts, meta: dict, take: int | None = None):
    """One SampleFile from per-category ones: the first ``take`` shapes of each (all when None)."""
    import numpy as np

    from gen3d.sample_file import SampleFile

    key = "points" if parts[0].points is not None else "voxels"
    fields = {"seeds": [p.seeds for p in parts], key: [getattr(p, key) for p in parts]}
    if parts[0].labels is not None:
        fields["labels"] = [p.labels for p in parts]
    return SampleFile(
        meta=meta, **{f: np.concatenate([a[:take] for a in arrs]) for f, arrs in fields.items()}
    )


def _sampler_sets(overrides: list[str]) -> list[str]:
    """The ``sampler.*`` overrides among the training-config ones: passed on to every ``gen3d sample``."""
    return [o for o in overrides if o.partition("=")[0].strip().startswith("sampler.")]


def _sample_argv(args: argparse.Namespace, ckpt, n: int, seed: int, path, cls: str | None) -> list[str]:
    """``gen3d sample`` of ``n`` shapes from seed ``seed`` (class ``cls``) with the demo's sampler settings:
    ``--sampler``/``--steps`` and the ``--set sampler.*`` overrides."""
    argv = [
        "sample",
        "--ckpt",
        str(ckpt),
        "--n",
        str(n),
        "--seed",
        str(seed),
        "--out",
        str(path),
        "--no-progress",
    ]
    if cls is not None:
        argv += ["--class", cls]
    if args.sampler:
        argv += ["--sampler", args.sampler]
    if args.steps is not None:
        argv += ["--steps", str(args.steps)]
    for o in _sampler_sets(args.overrides):
        argv += ["--set", o]
    return argv


def _check_sampling(args: argparse.Namespace, config: dict) -> None:
    """Refuse, before any work, sampler settings the sample step would refuse (as ``gen3d sample`` does)."""
    from gen3d.commands.sample import resolve_sampler_group
    from gen3d.errors import UserInputError

    if args.steps is not None and args.steps < 1:
        raise UserInputError(f"--steps must be >= 1, got {args.steps}")
    ns = argparse.Namespace(overrides=_sampler_sets(args.overrides), sampler=args.sampler, steps=args.steps)
    resolve_sampler_group(config["sampler"], ns)


def run(args: argparse.Namespace) -> int:
    from gen3d.config import load_config
    from gen3d.datasets.cache import ShapeCache
    from gen3d.sample_file import load_samples, save_samples
    from gen3d.training.components import run_dir_of

    out = Path(args.out).resolve()
    synth_dir, cache_dir, samples_dir = out / "data" / "synth", out / "data" / "cache", out / "samples"
    t_all = time.perf_counter()
    timings: dict[str, float] = {}
    overrides = [f"data.cache_dir={cache_dir}", f"experiment.run_dir={out / 'runs'}", *args.overrides]
    if args.max_steps is not None:
        overrides.append(f"trainer.max_steps={args.max_steps}")
    config = load_config(args.config, overrides)  # a bad config or sampler setting fails before any work
    _check_sampling(args, config)

    # 1. data: the synthetic collection (deterministic: skipped when the same parameters already wrote it)
    t = _step("synthetic collection")
    info = synth_dir / "synth_info.json"
    want = {"per_category": args.per_category, "seed": 0, "categories": args.categories}
    done = out / "data" / "synth_done.json"
    if done.is_file() and json.loads(done.read_text()) == want and info.is_file():
        print(f"reusing {synth_dir}")
    else:
        argv = ["synth", str(synth_dir), "--per-category", str(args.per_category), "--overwrite"]
        if args.categories:
            argv += ["--categories", args.categories]
        _call(argv)
        from gen3d.atomic import atomic_write_text

        atomic_write_text(done, json.dumps(want))
    timings["synth"] = time.perf_counter() - t

    # 2. preprocessing cache (resumable; a re-run with the same parameters does no work)
    t = _step("prepare (2048 surface points + 32^3 voxels per shape, per-shape bounding box to [-1,1])")
    _call(
        [
            "prepare",
            "shapenet",
            str(synth_dir),
            "--out",
            str(cache_dir),
            "--points",
            "2048",
            "--voxels",
            "32",
            "--normalize",
            "bbox",
            "--workers",
            str(args.workers),
        ]
    )
    timings["prepare"] = time.perf_counter() - t

    # 3. training (resumes from last.ckpt; finished runs return at once)
    t = _step("train")
    argv = ["fit", "--config", args.config, "--resume", "auto"]
    for o in overrides:
        argv += ["--set", o]
    _call(argv)
    ckpt = run_dir_of(config) / "checkpoints" / "last.ckpt"
    timings["train"] = time.perf_counter() - t

    # 4. sampling: per category, as many shapes as the held-out split has (at least the gallery's count)
    t = _step("sample")
    cache = ShapeCache(cache_dir)
    eval_split = "val" if "val" in cache.splits else "test"
    _, ref_labels, _ = cache.load_points(eval_split)
    class_names = list(cache.class_names)
    if config["data"].get("categories"):
        class_names = [c for c in class_names if c in config["data"]["categories"]]
    files, seed = [], args.seed
    for name in class_names:
        label = cache.class_names.index(name)
        n = max(args.gallery_per_class, int((ref_labels == label).sum()))
        path = samples_dir / f"{name}.npz"
        cls = name if config["experiment"].get("class_cond") else None
        _call(_sample_argv(args, ckpt, n, seed, path, cls))
        files.append(path)
        seed += n
    parts = [load_samples(p) for p in files]
    k = args.gallery_per_class
    merged = _concat(parts, dict(parts[0].meta, demo_classes=class_names))
    all_path = save_samples(samples_dir / "all.npz", merged)
    titles = [name for name in class_names for _ in range(k)]
    gallery = _concat(parts, dict(parts[0].meta, titles=titles), take=k)
    gallery_path = save_samples(samples_dir / "gallery.npz", gallery)
    timings["sample"] = time.perf_counter() - t

    # 5. score against the held-out split (PointFlow protocol, normalisation recorded in the JSON)
    t = _step(f"evaluate against the held-out '{eval_split}' split")
    eval_json, hist_png = out / "eval.json", out / "nn_distances.png"
    argv = [
        "evaluate",
        str(all_path),
        str(cache_dir),
        "--split",
        eval_split,
        "--out",
        str(eval_json),
        "--plot",
        str(hist_png),
        "--train",
        "cache",
    ]
    if config["data"].get("categories"):
        argv += ["--categories", ",".join(class_names)]
    if merged.voxels is not None:
        argv += ["--voxel-threshold", "0.5"]
    _call(argv)
    timings["evaluate"] = time.perf_counter() - t

    # 6. picture
    gallery_png = out / "gallery.png"
    if not args.no_render:
        t = _step("render the gallery")
        _call(
            [
                "render",
                str(gallery_path),
                "--out",
                str(gallery_png),
                "--ncols",
                str(k),
                "--max-shapes",
                str(gallery.num_shapes),
            ]
        )
        timings["render"] = time.perf_counter() - t

    # 7. meshes: one per category
    t = _step("export meshes")
    mesh_dir = out / "meshes"
    indices = ",".join(str(i * k) for i in range(len(class_names)))
    _call(["export", str(gallery_path), "--out", str(mesh_dir), "--format", "obj", "--indices", indices])
    timings["export"] = time.perf_counter() - t

    total = time.perf_counter() - t_all
    print("\n=== gen3d demo: outputs")
    rows = [
        ("synthetic collection", synth_dir),
        ("preprocessed cache", cache_dir),
        ("checkpoint", ckpt),
        ("training log (CSV)", run_dir_of(config) / "logs" / "metrics.csv"),
        ("samples (all)", all_path),
        ("samples (gallery)", gallery_path),
        ("scores (JSON)", eval_json),
        ("nearest-neighbour plot", hist_png),
        ("meshes", mesh_dir),
    ]
    if not args.no_render:
        rows.insert(6, ("gallery picture", gallery_png))
    for label, path in rows:
        print(f"  {label:<24} {path}")
    print(
        "  time per step: " + ", ".join(f"{k} {v:.0f}s" for k, v in timings.items()) + f"; total {total:.0f}s"
    )
    return 0
