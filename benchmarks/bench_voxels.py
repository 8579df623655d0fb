"""Real voxel grids at a wall-clock budget: train, sample, score against held-out grids, all through the CLI.

Usage::

    python benchmarks/bench_voxels.py ../shared/data/ModelNet10-vox32/monitor.npy.gz --budget 25m \\
        --out runs/bench_vox32_monitor

The input is a numpy array of 0/1 grids ``(N, 1, R, R, R)`` or ``(N, R, R, R)`` (``.npy`` or ``.npy.gz``, e.g.
``binvox -d 32`` of one ModelNet category); empty grids are dropped and counted. Steps, each a ``gen3d``
command in a subprocess (tuned allocator) so that one command reproduces every row:

1. the grids go to ``<out>/data/<category>/<category>.npy`` and ``gen3d prepare voxels`` makes the cache
   (seeded 80/10/10 split, ``--up``: z for ModelNet);
2. ``gen3d fit --config <config>`` on the train split for ``--budget`` of wall time (``trainer.max_time``; the
   learning rate decays to the budget when the config says so), or for ``--steps`` optimiser steps; ``--set``
   passes config overrides (the ablations of ``docs/voxels.md``);
3. ``gen3d sample`` as many shapes as the held-out set (val and test splits together) holds, raw and with
   ``--voxel-post lcc`` (the largest face-connected piece);
4. ``gen3d evaluate --grids --split val,test``: 1-NNA, COV and MMD with the distance ``1 - IoU`` on the solid
   grids, 95% bootstrap intervals over both sets, and the share of shapes in one face-connected piece;
5. the memorisation floor: as many random training grids as the held-out set, scored the same way;
6. pictures: ``gen3d render`` galleries of generated and of held-out shapes (as surface points of the grids;
   lit meshes are slow on software rendering), upright by ``--up``.

The table gives NFE and the training budget with every row. 1-NNA with the IoU distance alone can look good
for bad samples (a grid full of dust is about equally far from every shape): read it with MMD, COV, the
one-piece share and the gallery.
"""

from __future__ import annotations

import argparse
import gzip
import json
from pathlib import Path

import numpy as np
from _cli import cell, fit_to_budget, run_gen3d


def _read_grids(path: Path) -> np.ndarray:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        a = np.load(f, allow_pickle=False)
    if a.ndim == 5 and a.shape[1] == 1:
        a = a[:, 0]
    if a.ndim != 4:
        raise SystemExit(f"{path}: expected grids (N,1,R,R,R) or (N,R,R,R), got {a.shape}")
    return a > 0.5


def _row(name: str, nfe: str, budget: str, res: dict) -> str:
    m = res["metrics"]["iou"]
    p = res["pieces"]["gen"]
    return (
        f"| {name} | {nfe} | {budget} | {cell(m, '1nna', 100, '.1f')} | {cell(m, 'cov', 100, '.1f')} | "
        f"{cell(m, 'mmd', 1, '.3f')} | {100 * p['one_piece']:.0f} | {p['mean']:.2f} |"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("grids", help="(N,1,R,R,R) 0/1 grids of one category, .npy or .npy.gz")
    ap.add_argument("--category", default=None, help="category name (default: the file name's stem)")
    ap.add_argument("--out", default="runs/bench_voxels")
    ap.add_argument("--config", default="modelnet_vox32")
    ap.add_argument("--budget", default="25m", help="training wall time (trainer.max_time)")
    ap.add_argument("--steps", type=int, default=None, help="train N optimiser steps instead of --budget")
    ap.add_argument("--set", dest="overrides", action="append", default=[], help="extra config overrides")
    ap.add_argument("--up", default="z", help="the grids' up axis (ModelNet: z)")
    ap.add_argument("--resamples", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0, help="first sampling seed")
    ap.add_argument("--gallery", type=int, default=16, help="shapes per gallery (0: no pictures)")
    args = ap.parse_args()

    from gen3d.sample_file import SampleFile, save_samples

    src = Path(args.grids)
    cat = args.category or src.name.split(".")[0]
    out = Path(args.out)
    grids = _read_grids(src)
    empty = int((~grids.reshape(len(grids), -1).any(1)).sum())
    grids = grids[grids.reshape(len(grids), -1).any(1)]
    r = grids.shape[-1]
    (out / "data" / cat).mkdir(parents=True, exist_ok=True)
    np.save(out / "data" / cat / f"{cat}.npy", grids.astype(np.uint8))
    print(f"{len(grids)} grids of {r}^3 from {src} ({empty} empty dropped)", flush=True)

    cache = out / "cache"
    prep = ["--out", str(cache), "--voxels", str(r), "--points", "1024", "--up", args.up, "--no-progress"]
    run_gen3d("prepare", "voxels", str(out / "data"), *prep)
    ckpt, t_fit, step = fit_to_budget(
        args.config, cache, out / "runs", args.budget, args.steps, args.overrides
    )

    from gen3d.datasets.cache import ShapeCache

    c = ShapeCache(cache)
    n_ref = len(c.entries("val,test"))
    samples = {}
    for post in ("none", "lcc"):
        path = out / f"samples_{post}.npz"
        t = run_gen3d("sample", "--ckpt", str(ckpt), "--n", str(n_ref), "--seed", str(args.seed),
                   "--voxel-post", post, "--out", str(path), "--no-progress")  # fmt: skip
        samples[post] = (path, t)
    train, _, _ = c.load_voxels("train", r, "solid")
    pick = np.random.default_rng(0).choice(len(train), n_ref, replace=False)
    floor = out / "train_copies.npz"
    copies = np.asarray(train)[pick].astype(np.float32)
    save_samples(floor, SampleFile(voxels=copies, meta={"up_axis": args.up}))

    results = {}
    for name, path in (("raw", samples["none"][0]), ("lcc", samples["lcc"][0]), ("floor", floor)):
        js = out / f"eval_{name}.json"
        run_gen3d("evaluate", str(path), str(cache), "--grids", "--split", "val,test", "--bootstrap",
               str(args.resamples), "--out", str(js))  # fmt: skip
        results[name] = json.loads(js.read_text())

    from gen3d.sample_file import load_samples

    meta = load_samples(samples["none"][0]).meta
    nfe = f"{meta['nfe']:g}"
    per_shape = samples["none"][1] / n_ref
    budget = f"{step} steps, {t_fit / 60:.1f} min" if args.steps else f"{args.budget} ({step} steps)"
    print()
    print(
        f"{cat}, {r}^3 solid grids: {len(train)} train, {n_ref} held out (val + test); config {args.config}; "
        f"fit {t_fit / 60:.1f} min wall; sampling {per_shape:.2f} s per shape (whole command)"
    )
    print("| set | NFE | training | 1-NNA-IoU % | COV-IoU % | MMD-IoU | one piece % | mean pieces |")
    print("|---|---|---|---|---|---|---|---|")
    print(_row("model", nfe, budget, results["raw"]))
    print(_row("model, largest piece (--voxel-post lcc)", nfe, budget, results["lcc"]))
    print(_row("training copies (memorisation floor)", "-", "-", results["floor"]))
    print(f"1-NNA chance level: {100 * results['raw']['metrics']['iou']['1nna_chance']:.1f}%")
    if args.gallery:
        held = out / "held_out.npz"
        ref, _, _ = c.load_voxels("val,test", r, "solid")
        save_samples(held, SampleFile(voxels=np.asarray(ref)[: args.gallery].astype(np.float32),
                                      meta={"up_axis": args.up}))  # fmt: skip
        for name, path in (("gallery_samples", samples["lcc"][0]), ("gallery_held_out", held)):
            pic = ["--out", str(out / f"{name}.png"), "--representation", "points", "--up", args.up]
            pic += ["--max-shapes", str(args.gallery), "--ncols", "8", "--size", "160"]
            run_gen3d("render", str(path), *pic)
        print(f"pictures: {out / 'gallery_samples.png'}, {out / 'gallery_held_out.png'}")
    (out / "table.json").write_text(json.dumps({k: v["metrics"] for k, v in results.items()}, indent=1))


if __name__ == "__main__":
    main()
