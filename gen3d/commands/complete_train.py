"""``gen3d complete-train``: fine-tune an unconditional point model into a conditional completion model."""

from __future__ import annotations

import argparse

NAME = "complete-train"
HELP = "fine-tune a point model on (partial view, complete shape) pairs into a completion model (PVD-style)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("cache", help="cache prepared with --partial-views (gen3d prepare)")
    parser.add_argument("--ckpt", required=True, help="unconditional point model to start from (gen3d fit)")
    parser.add_argument("--out", required=True, help="checkpoint to write (.ckpt)")
    parser.add_argument(
        "--config",
        default=None,
        help="settings file: a shipped name (demo, pc15k_chair: configs/completion/) or a YAML path; the "
        "flags below override its values",
    )
    parser.add_argument("--split", default=None, help="the split whose pairs train it (default train)")
    parser.add_argument("--categories", default=None, help="comma-separated categories (default all)")
    parser.add_argument("--steps", type=int, default=None, help="Adam steps (default 300)")
    parser.add_argument("--batch-size", type=int, default=None, help="pairs per step (default 16)")
    parser.add_argument("--lr", type=float, default=None, help="learning rate (default 1e-4)")
    parser.add_argument("--grad-clip", type=float, default=None, help="gradient-norm clip (default 1.0)")
    parser.add_argument("--observed", type=int, default=None, help="observed slots at most (default half)")
    parser.add_argument("--seed", type=int, default=None, help="seed of the pairs, subsets and noise (0)")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")


def run(args: argparse.Namespace) -> int:
    import time

    import torch

    from gen3d.completion.finetune import FinetuneSettings, finetune, save_conditional_checkpoint
    from gen3d.errors import UserInputError
    from gen3d.models import load_denoiser

    opts = _options(args)
    try:
        settings = FinetuneSettings(
            opts["steps"], opts["batch_size"], opts["lr"], opts["grad_clip"], opts["observed"], opts["seed"]
        )
    except ValueError as e:
        raise UserInputError(str(e)) from None
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    denoiser, config, process = load_denoiser(args.ckpt, map_location=device)
    if config["data"].get("type", "points") != "points":
        raise UserInputError(f"{args.ckpt} is not a point model")
    partials, completes, shapes = _pairs(args.cache, opts["split"], opts["categories"])
    n_points = int(config["data"]["n_points"])
    if min(len(c) for c in completes) < n_points:
        raise UserInputError(f"the cache holds fewer points per shape than the model's {n_points}")
    start = time.perf_counter()
    try:
        losses = finetune(denoiser, process, partials, completes, n_points, settings, device)
    except ValueError as e:
        raise UserInputError(str(e)) from None
    seconds = time.perf_counter() - start
    record = {"cache": str(args.cache), "split": opts["split"], "categories": opts["categories"],
              "config": args.config, "pairs": len(partials), "shapes": shapes,
              "loss_first": losses[0], "loss_last_10": sum(losses[-10:]) / len(losses[-10:])}  # fmt: skip
    save_conditional_checkpoint(args.ckpt, denoiser, args.out, settings, record)
    print(
        f"wrote {args.out}: {settings.steps} steps on {len(partials)} (view, shape) pairs of {shapes} shapes "
        f"in {seconds:.0f} s; loss {losses[0]:.3f} -> {record['loss_last_10']:.3f} (mean of the last 10)"
    )
    return 0


def _options(args: argparse.Namespace) -> dict:
    """The run's settings: the command's defaults, then ``--config``'s values, then the flags given."""
    from gen3d.completion.train_config import DEFAULTS, load_train_config, merge_flags

    base = load_train_config(args.config) if args.config else dict(DEFAULTS)
    categories = [c for c in args.categories.split(",") if c] if args.categories else None
    flags = {"split": args.split, "categories": categories, "steps": args.steps,
             "batch_size": args.batch_size, "lr": args.lr, "grad_clip": args.grad_clip,
             "observed": args.observed, "seed": args.seed}  # fmt: skip
    return merge_flags(base, flags)


def _pairs(path: str, split: str, categories):
    """Every stored view of ``split`` with its complete shape, in the shape's normalised frame."""
    from gen3d.datasets.cache import ShapeCache
    from gen3d.errors import UserInputError

    cache = ShapeCache(path)
    complete, _, keys = cache.load_points(split, categories)
    row = {k: i for i, k in enumerate(keys)}
    partials, completes = [], []
    for v in range(int(cache.params.get("partial_views", 0))):
        views = cache.load_partials(split, categories, view=v)
        partials += views.partials
        completes += [complete[row[k]] for k in views.keys]
    if not partials:
        raise UserInputError(f"no partial views in split {split!r} of {path}; prepare with --partial-views K")
    return partials, completes, len(keys)
