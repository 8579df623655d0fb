"""Training-free shape completion (``gen3d complete``) against the two references of issue 13, PVD's metrics.

Usage (a few CPU minutes; ``/tmp/diag/sofa_edm.ckpt`` is an EDM tiny PVCNN trained on ModelNet10 sofa)::

    gen3d prepare modelnet ../shared/data/ModelNet10-pcd --categories sofa --out /tmp/mn_sofa_views \\
        --points 1024 --normalize unit_sphere --partial-views 2
    python benchmarks/bench_completion.py --ckpt /tmp/diag/sofa_edm.ckpt --cache /tmp/mn_sofa_views \\
        --inputs 12 --n 4 --picture docs/completion_sofa.png --out runs/bench_completion.json

For the first ``--inputs`` shapes of the held-out split, partial view ``--view`` (stored in the shape's
normalised frame: hidden-point removal for point files, depth scans for meshes) is completed ``--n`` times.
Rows, all scored the same way (:func:`gen3d.completion.metrics.completion_metrics`: CD and EMD to the true
shape, best-of-K and mean-of-K; fidelity UHD from the partial; diversity TMD among the K):

* ``training-free``: replacement conditioning of the unconditional model (``--observed`` observed points);
* ``padded partial``: the partial itself resampled (with replacement, K seeds) to the model's point count;
* ``nearest train``: the training shape nearest to the partial (smallest mean squared distance from the
  partial's points to it; one answer, K = 1);
* ``unconditional``: the model's samples with the same seeds and no conditioning (what conditioning adds);
* ``conditional`` (with ``--conditional CKPT``, a model from ``gen3d complete-train``): the fine-tuned model,
  observed points fed clean (PVD's scheme), same seeds and observed slots.

The references come first: a completion method is useful where it beats both. Allocator: whatever the
caller's environment sets (state it with the numbers you quote).

``--demo`` (``bench_completion_demo.py``) is the self-contained mode: from a fresh clone, the demo's synthetic
collection turned into depth scans, a model trained or reused, training-free and conditional completions and
this table, all through the ``gen3d`` commands::

    python benchmarks/bench_completion.py --demo --out runs/completion_demo --budget 4m --inputs 12 --k 4
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np


def _nearest_train(partials: list[np.ndarray], train: np.ndarray) -> np.ndarray:
    """(I, 1, N, 3): for each partial the training shape minimising ``mean_p min_t |p - t|^2``."""
    from scipy.spatial import cKDTree

    trees = [cKDTree(t) for t in train]
    out = []
    for p in partials:
        cost = [float(np.mean(tree.query(p)[0] ** 2)) for tree in trees]
        out.append(train[int(np.argmin(cost))][None])
    return np.stack(out)


def _padded(partials: list[np.ndarray], n: int, k: int, seed: int) -> np.ndarray:
    """(I, K, N, 3): each partial resampled with replacement to N points, K times."""
    rng = np.random.default_rng(seed)
    return np.stack([np.stack([p[rng.choice(len(p), n, replace=True)] for _ in range(k)]) for p in partials])


def _z_up(pts: np.ndarray, up: str) -> np.ndarray:
    """Points of data whose up axis is ``up`` in matplotlib's z-up frame (a rotation, no mirror)."""
    from gen3d.geometry.up_axis import to_view_frame

    v = to_view_frame(pts, up)  # y up
    return np.stack([v[:, 0], -v[:, 2], v[:, 1]], axis=1)


def _picture(
    path: str, partials, points, observed, truth, index=None, up: str = "z", colours=("tab:red", "0.45")
) -> None:
    """PNG, written atomically: per input of ``index`` (default the first three) the partial, two of its
    completions ``points`` (I, K, N, 3) and the truth (blue), drawn with the data's ``up`` axis up. The
    partial and each completion's first ``observed[i, k]`` points are in ``colours[0]``, generated ones in
    ``colours[1]``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from gen3d.atomic import atomic_path

    index = list(range(min(3, len(partials)))) if index is None else list(index)
    fig = plt.figure(figsize=(8, 2.1 * len(index)), dpi=80)
    for r, i in enumerate(index):
        obs = int(observed[i, 0])
        panels = [("partial", partials[i], None), ("completion 1", points[i, 0], obs),
                  ("completion 2", points[i, min(1, points.shape[1] - 1)], obs),
                  ("true shape", truth[i], None)]  # fmt: skip
        for c, (title, pts, m) in enumerate(panels):
            ax = fig.add_subplot(len(index), 4, 4 * r + c + 1, projection="3d")
            colour = np.where(np.arange(len(pts)) < m, *colours) if m else colours[0]
            if title == "true shape":
                colour = "tab:blue"
            z = _z_up(np.asarray(pts), up)
            ax.scatter(z[:, 0], z[:, 1], z[:, 2], s=1.5, c=colour, depthshade=False)
            ax.set_xlim(-1, 1), ax.set_ylim(-1, 1), ax.set_zlim(-1, 1)
            ax.view_init(elev=20, azim=-60)
            ax.set_axis_off()
            if r == 0:
                ax.set_title(title, fontsize=9)
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp)
    plt.close(fig)


def table_lines(results: dict) -> list[str]:
    """The rows of ``results`` (name -> :func:`~gen3d.completion.metrics.completion_metrics` result with
    ``seconds``): CD x1e3 and EMD x1e2 (best-of-K, mean-of-K), UHD x1e2, TMD x1e2, seconds."""
    head = f"{'CD best':>9}{'CD mean':>9}{'EMD best':>10}{'EMD mean':>10}{'UHD':>8}{'TMD':>8}{'s':>7}"
    lines = [f"{'method':<16}{head}"]
    for name, r in results.items():
        tmd = "–" if r["diversity_tmd"] is None else f"{r['diversity_tmd'] * 1e2:.2f}"
        lines.append(f"{name:<16}{r['cd']['best_of_k'] * 1e3:9.2f}{r['cd']['mean_of_k'] * 1e3:9.2f}"
                     f"{r['emd']['best_of_k'] * 1e2:10.2f}{r['emd']['mean_of_k'] * 1e2:10.2f}"
                     f"{r['fidelity_uhd'] * 1e2:8.2f}{tmd:>8}{r['seconds']:7.1f}")  # fmt: skip
    return lines


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if "--demo" in argv:  # the self-contained mode on the demo data (bench_completion_demo.py)
        from bench_completion_demo import main as demo_main

        return demo_main([a for a in argv if a != "--demo"])
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--demo", action="store_true",
                    help="self-contained run on the demo data (options: --demo --help)")  # fmt: skip
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--cache", required=True, help="cache prepared with --partial-views")
    ap.add_argument("--split", default="test")
    ap.add_argument("--train-split", default="train")
    ap.add_argument("--view", type=int, default=0)
    ap.add_argument("--inputs", type=int, default=12)
    ap.add_argument("--n", type=int, default=4, help="completions per input (K)")
    ap.add_argument("--observed", type=int, default=None)
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-unconditional", action="store_true")
    ap.add_argument("--conditional", default=None, help="checkpoint from gen3d complete-train")
    ap.add_argument(
        "--true-class", action="store_true", help="class-conditional model: give each input its own class"
    )
    ap.add_argument("--picture", default=None)
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)

    import torch

    from gen3d.completion.complete import CompletionSettings, complete_in_frame
    from gen3d.completion.metrics import completion_metrics
    from gen3d.datasets.cache import ShapeCache
    from gen3d.generate import generate
    from gen3d.models import load_denoiser

    torch.set_num_threads(2)
    den, config, process = load_denoiser(args.ckpt)
    cache = ShapeCache(args.cache)
    views = cache.load_partials(args.split, view=args.view)
    truth_all, label_all, keys = cache.load_points(args.split)
    index = {k: i for i, k in enumerate(keys)}
    partials, names = views.partials[: args.inputs], views.keys[: args.inputs]
    truth = truth_all[[index[k] for k in names]]
    train = cache.load_points(args.train_split)[0]
    n = int(config["data"]["n_points"])
    group = config["sampler"]
    steps = args.steps or int(group["steps"])
    settings = CompletionSettings(n, args.observed, group["name"], steps, group.get("schedule", "karras"),
                                  float(group.get("rho", 7.0)))  # fmt: skip
    seeds = args.seed + np.arange(len(partials) * args.n).reshape(len(partials), args.n)
    labels = None
    if args.true_class:  # cache label -> the model's class index, by name
        names_of_model = list(config["experiment"].get("class_names") or [])
        labels = [names_of_model.index(cache.class_names[label_all[index[k]]]) for k in names]

    rows, seconds = {}, {}
    t0 = time.perf_counter()
    rows["padded partial"] = _padded(partials, n, args.n, args.seed)
    seconds["padded partial"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    rows["nearest train"] = _nearest_train(partials, train)
    seconds["nearest train"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    comps = complete_in_frame(den, process, partials, seeds, settings, labels=labels)
    rows["training-free"] = comps.points
    seconds["training-free"] = time.perf_counter() - t0
    if args.conditional:
        from dataclasses import replace

        cden, _, cproc = load_denoiser(args.conditional)
        t0 = time.perf_counter()
        tuned = complete_in_frame(
            cden, cproc, partials, seeds, replace(settings, observed_noise=False), labels=labels
        )
        rows["conditional"] = tuned.points
        seconds["conditional"] = time.perf_counter() - t0
    if not args.no_unconditional:
        t0 = time.perf_counter()
        cond = None if labels is None else np.repeat(labels, args.n).tolist()
        x, _ = generate(den, process, (n, 3), seeds.ravel().tolist(), settings.sampler, steps, cond=cond)
        rows["unconditional"] = x.numpy().reshape(len(partials), args.n, n, 3)
        seconds["unconditional"] = time.perf_counter() - t0

    results = {}
    median = int(np.median([len(p) for p in partials]))
    run = f"{settings.observed_slots()} observed, {settings.sampler} {steps} steps ({comps.nfe} NFE)"
    where = f"{len(partials)} inputs ({args.split}, view {args.view}, median {median} points)"
    print(f"{where}, K={args.n}, {n} points, {run}")
    for name, pts in rows.items():
        r = completion_metrics(pts, partials, truth, seed=args.seed)
        results[name] = {**r, "seconds": seconds[name]}
    print("\n".join(table_lines(results)))
    kind = cache.normalization["kind"]
    classes = "its true class" if labels is not None else "its null class"
    print(f"CD x1e3, EMD x1e2, UHD x1e2, TMD x1e2 (each true shape's {kind} frame; a class-conditional model "
          f"gets {classes})")  # fmt: skip
    if args.picture:
        _picture(args.picture, partials, comps.points, comps.observed, truth, up=cache.up_axis)
        print(f"wrote {args.picture}")
    if args.out:
        from gen3d.atomic import atomic_write_text

        record = {"args": vars(args), "inputs": names, "results": results}
        atomic_write_text(args.out, json.dumps(record, indent=1))
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
