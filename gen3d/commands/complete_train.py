"""``gen3d complete-train``: fine-tune an unconditional point model into a conditional completion model."""

from __future__ import annotations

import argparse

NAME = "complete-train"
HELP = "fine-tune a point model on (partial view, complete shape) pairs into a completion model (PVD-style)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("cache", help="cache prepared with --partial-views (gen3d prepare)")
    parser.add_argument("--ckpt", required=True, help="unconditional point model to start from (gen3d fit)")
    parser.add_argument("--out", required=True, help="checkpoint to write (.ckpt)")
    parser.add_argument("--split", default="train", help="the split whose pairs train it (default train)")
    parser.add_argument("--categories", default=None, help="comma-separated categories (default all)")
    parser.add_argument("--steps", type=int, default=300, help="Adam steps (300)")
    parser.add_argument("--batch-size", type=int, default=16, help="pairs per step (16)")
    parser.add_argument("--lr", type=float, default=1e-4, help="learning rate (1e-4)")
    parser.add_argument("--observed", type=int, default=None, help="observed slots at most (default half)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the pairs, subsets and noise")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")


def run(args: argparse.Namespace) -> int:
    import time

    import torch

    from gen3d.completion.finetune import FinetuneSettings, finetune, save_conditional_checkpoint
    from gen3d.errors import UserInputError
    from gen3d.models import load_denoiser

    try:
        settings = FinetuneSettings(args.steps, args.batch_size, args.lr, 1.0, args.observed, args.seed)
    except ValueError as e:
        raise UserInputError(str(e)) from None
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    denoiser, config, process = load_denoiser(args.ckpt, map_location=device)
    if config["data"].get("type", "points") != "points":
        raise UserInputError(f"{args.ckpt} is not a point model")
    partials, completes, shapes = _pairs(args.cache, args.split, args.categories)
    n_points = int(config["data"]["n_points"])
    if min(len(c) for c in completes) < n_points:
        raise UserInputError(f"the cache holds fewer points per shape than the model's {n_points}")
    start = time.perf_counter()
    try:
        losses = finetune(denoiser, process, partials, completes, n_points, settings, device)
    except ValueError as e:
        raise UserInputError(str(e)) from None
    seconds = time.perf_counter() - start
    record = {"cache": str(args.cache), "split": args.split, "pairs": len(partials), "shapes": shapes,
              "loss_first": losses[0], "loss_last_10": sum(losses[-10:]) / len(losses[-10:])}  # fmt: skip
    save_conditional_checkpoint(args.ckpt, denoiser, args.out, settings, record)
    print(
        f"wrote {args.out}: {args.steps} steps on {len(partials)} (view, shape) pairs of {shapes} shapes in "
        f"{seconds:.0f} s; loss {losses[0]:.3f} -> {record['loss_last_10']:.3f} (mean of the last 10)"
    )
    return 0


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
