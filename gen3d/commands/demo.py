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
import contextlib
import json
import time
from dataclasses import dataclass
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


@contextlib.contextmanager
def _step(title: str, timings: dict[str, float], key: str):
    """Print the step's title; record its wall time in ``timings[key]``."""
    print(f"\n=== gen3d demo: {title}", flush=True)
    t = time.perf_counter()
    yield
    timings[key] = time.perf_counter() - t


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


def _sample_argv(
    ckpt, n: int, seed: int, path, cls: str | None, sampler: str | None, steps: int | None, overrides
) -> list[str]:
    """``gen3d sample`` of ``n`` shapes from seed ``seed`` (class ``cls``) with the demo's sampler settings:
    ``sampler``/``steps`` (None: the config's) and the ``sampler.*`` ones among the ``overrides``."""
    argv = ["sample", "--ckpt", str(ckpt), "--n", str(n), "--seed", str(seed), "--out", str(path)]
    argv += ["--no-progress"]
    if cls is not None:
        argv += ["--class", cls]
    if sampler:
        argv += ["--sampler", sampler]
    if steps is not None:
        argv += ["--steps", str(steps)]
    for o in _sampler_sets(overrides):
        argv += ["--set", o]
    return argv


def _check_sampling(config: dict, sampler: str | None, steps: int | None, overrides: list[str]) -> None:
    """Refuse, before any work, sampler settings the sample step would refuse (as ``gen3d sample`` does)."""
    from gen3d.commands.sample import resolve_sampler_group
    from gen3d.errors import UserInputError

    if steps is not None and steps < 1:
        raise UserInputError(f"--steps must be >= 1, got {steps}")
    resolve_sampler_group(config["sampler"], _sampler_sets(overrides), sampler=sampler, steps=steps)


@dataclass(frozen=True)
class _Paths:
    """Where the demo writes under ``--out`` (``gen3d pipeline`` puts the cache and the samples elsewhere)."""

    out: Path
    cache_dir: Path | None = None  # default <out>/data/cache
    samples_dir: Path | None = None  # default <out>/samples

    @property
    def synth(self) -> Path:
        return self.out / "data" / "synth"

    @property
    def cache(self) -> Path:
        return self.cache_dir if self.cache_dir is not None else self.out / "data" / "cache"

    @property
    def samples(self) -> Path:
        return self.samples_dir if self.samples_dir is not None else self.out / "samples"


@dataclass
class _Sampled:
    """What the sample step wrote: every shape (``all.npz``) and the first ``per_class`` of each class
    (``gallery.npz``)."""

    eval_split: str
    class_names: list[str]
    all_path: Path
    all_samples: object  # SampleFile
    gallery_path: Path
    gallery: object  # SampleFile
    per_class: int


_PREPARE_TITLE = "prepare (2048 surface points + 32^3 voxels per shape, per-shape bounding box to [-1,1])"


def run(args: argparse.Namespace) -> int:
    from gen3d.config import load_config
    from gen3d.training.components import run_dir_of

    t_all, timings = time.perf_counter(), {}
    paths = _Paths(Path(args.out).resolve())
    overrides = _training_overrides(paths, args.overrides, args.max_steps)
    config = load_config(args.config, overrides)  # a bad config or sampler setting fails before any work
    _check_sampling(config, args.sampler, args.steps, args.overrides)
    with _step("synthetic collection", timings, "synth"):
        _synthesize(paths, args.per_category, args.categories)
    with _step(_PREPARE_TITLE, timings, "prepare"):
        _prepare(paths, args.workers)
    with _step("train", timings, "train"):
        _train(args.config, overrides)
        ckpt = run_dir_of(config) / "checkpoints" / "last.ckpt"
    with _step("sample", timings, "sample"):
        sampled = _sample(
            paths, config, ckpt, args.gallery_per_class, args.seed, args.sampler, args.steps, args.overrides
        )
    eval_json, hist_png = paths.out / "eval.json", paths.out / "nn_distances.png"
    with _step(f"evaluate against the held-out '{sampled.eval_split}' split", timings, "evaluate"):
        _evaluate(paths, config, sampled, eval_json, hist_png)
    gallery_png = paths.out / "gallery.png"
    if not args.no_render:
        with _step("render the gallery", timings, "render"):
            _render(sampled, gallery_png)
    mesh_dir = paths.out / "meshes"
    with _step("export meshes", timings, "export"):
        _export(sampled, mesh_dir)
    rows = [
        ("synthetic collection", paths.synth),
        ("preprocessed cache", paths.cache),
        ("checkpoint", ckpt),
        ("training log (CSV)", run_dir_of(config) / "logs" / "metrics.csv"),
        ("samples (all)", sampled.all_path),
        ("samples (gallery)", sampled.gallery_path),
        ("scores (JSON)", eval_json),
        ("nearest-neighbour plot", hist_png),
        ("meshes", mesh_dir),
    ]
    if not args.no_render:
        rows.insert(6, ("gallery picture", gallery_png))
    _print_outputs(rows, timings, time.perf_counter() - t_all)
    return 0


def _training_overrides(paths: _Paths, overrides: list[str], max_steps: int | None) -> list[str]:
    """The demo's config overrides (cache and run folders under ``--out``), then the user's."""
    out = [f"data.cache_dir={paths.cache}", f"experiment.run_dir={paths.out / 'runs'}", *overrides]
    if max_steps is not None:
        out.append(f"trainer.max_steps={max_steps}")
    return out


def _synthesize(paths: _Paths, per_category: int, categories: str | None) -> None:
    """1. The synthetic collection (deterministic: skipped when the same parameters already wrote it)."""
    from gen3d.atomic import atomic_write_text

    info = paths.synth / "synth_info.json"
    want = {"per_category": per_category, "seed": 0, "categories": categories}
    done = paths.out / "data" / "synth_done.json"
    if done.is_file() and json.loads(done.read_text()) == want and info.is_file():
        print(f"reusing {paths.synth}")
        return
    argv = ["synth", str(paths.synth), "--per-category", str(per_category), "--overwrite"]
    if categories:
        argv += ["--categories", categories]
    _call(argv)
    atomic_write_text(done, json.dumps(want))


def _prepare(paths: _Paths, workers: int) -> None:
    """2. The preprocessing cache (resumable; a re-run with the same parameters does no work)."""
    argv = ["prepare", "shapenet", str(paths.synth), "--out", str(paths.cache), "--points", "2048"]
    _call([*argv, "--voxels", "32", "--normalize", "bbox", "--workers", str(workers)])


def _train(config_name: str, overrides: list[str]) -> None:
    """3. Training (resumes from last.ckpt; finished runs return at once)."""
    argv = ["fit", "--config", config_name, "--resume", "auto"]
    for o in overrides:
        argv += ["--set", o]
    _call(argv)


def _sample(
    paths: _Paths,
    config: dict,
    ckpt: Path,
    per_class: int,
    first_seed: int,
    sampler: str | None,
    steps: int | None,
    overrides: list[str],
) -> _Sampled:
    """4. Sampling: per category, as many shapes as the held-out split has (at least ``per_class``, the
    gallery's count), seeds counting up from ``first_seed``; then one file of all shapes and one of the
    gallery's."""
    from gen3d.datasets.cache import ShapeCache
    from gen3d.sample_file import load_samples, save_samples

    cache = ShapeCache(paths.cache)
    eval_split = "val" if "val" in cache.splits else "test"
    _, ref_labels, _ = cache.load_points(eval_split)
    class_names = list(cache.class_names)
    if config["data"].get("categories"):
        class_names = [c for c in class_names if c in config["data"]["categories"]]
    k = per_class
    files, seed = [], first_seed
    for name in class_names:
        n = max(k, int((ref_labels == cache.class_names.index(name)).sum()))
        path = paths.samples / f"{name}.npz"
        cls = name if config["experiment"].get("class_cond") else None
        _call(_sample_argv(ckpt, n, seed, path, cls, sampler, steps, overrides))
        files.append(path)
        seed += n
    parts = [load_samples(p) for p in files]
    merged = _concat(parts, dict(parts[0].meta, demo_classes=class_names))
    titles = [name for name in class_names for _ in range(k)]
    gallery = _concat(parts, dict(parts[0].meta, titles=titles), take=k)
    all_path = save_samples(paths.samples / "all.npz", merged)
    gallery_path = save_samples(paths.samples / "gallery.npz", gallery)
    return _Sampled(eval_split, class_names, all_path, merged, gallery_path, gallery, k)


def _evaluate(
    paths: _Paths,
    config: dict,
    sampled: _Sampled,
    eval_json: Path,
    hist_png: Path,
    extra: tuple[str, ...] = (),
) -> None:
    """5. Score against the held-out split (PointFlow protocol, normalisation recorded in the JSON);
    ``extra``: more ``gen3d evaluate`` options (``gen3d pipeline``'s evaluate step)."""
    argv = ["evaluate", str(sampled.all_path), str(paths.cache), "--split", sampled.eval_split, *extra]
    argv += ["--out", str(eval_json), "--plot", str(hist_png), "--train", "cache"]
    if config["data"].get("categories"):
        argv += ["--categories", ",".join(sampled.class_names)]
    if sampled.all_samples.voxels is not None:
        argv += ["--voxel-threshold", "0.5"]
    _call(argv)


def _render(sampled: _Sampled, gallery_png: Path) -> None:
    """6. The picture: one row per class."""
    argv = ["render", str(sampled.gallery_path), "--out", str(gallery_png), "--ncols", str(sampled.per_class)]
    _call([*argv, "--max-shapes", str(sampled.gallery.num_shapes)])


def _export(sampled: _Sampled, mesh_dir: Path) -> None:
    """7. Meshes: one per category (the first gallery shape of each)."""
    indices = ",".join(str(i * sampled.per_class) for i in range(len(sampled.class_names)))
    argv = ["export", str(sampled.gallery_path), "--out", str(mesh_dir), "--format", "obj"]
    _call([*argv, "--indices", indices])


def _print_outputs(rows: list[tuple[str, Path]], timings: dict[str, float], total: float) -> None:
    print("\n=== gen3d demo: outputs")
    for label, path in rows:
        print(f"  {label:<24} {path}")
    print(
        "  time per step: " + ", ".join(f"{k} {v:.0f}s" for k, v in timings.items()) + f"; total {total:.0f}s"
    )
