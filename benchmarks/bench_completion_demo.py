"""Shape completion on the demo data in one command (``bench_completion.py --demo``, issue 13's "done means").

Usage (from a fresh clone; at the defaults about 9 minutes of wall time on 2 CPU cores, 4 to 5 when
``runs/demo`` holds ``make demo``'s model; estimated from a toy run, not yet measured)::

    python benchmarks/bench_completion.py --demo --out runs/completion_demo --budget 4m --inputs 12 --k 4

Every step is a ``gen3d`` command, printed as it runs; a re-run reuses the collection, the cache and the
models it finds (step 3, markers ``model.json`` and ``conditional.json`` under ``--out``):

1. ``gen3d synth``: the demo's embedded collection with ``gen3d demo``'s parameters (40 per category, seed 0);
2. ``gen3d prepare shapenet --points 1024 --normalize bbox --partial-views 2``: depth scans of the meshes
   (ray casting, cameras recorded) in the resumable, atomic cache (``configs/completion/demo.yaml``'s line);
3. the model: ``--ckpt``; else ``make demo``'s (``<--demo-run>/runs/demo_points/checkpoints/last.ckpt``)
   when it exists, was trained on this same collection and ``--train`` is not given; else the one an earlier
   run of this command trained with the same settings; else ``gen3d fit --config demo_points`` on the
   cache's train split for ``--budget`` of wall time or ``--steps`` steps (``--set`` overrides);
4. ``gen3d complete``: ``--k`` training-free completions of view 0 of about ``--inputs`` held-out (test)
   shapes, as many per category;
5. ``gen3d complete-train --config demo`` from that model (``--conditional-steps``, default the file's 400; 0
   skips) and ``gen3d complete`` with it: the same inputs, seeds and observed slots;
6. ``gen3d evaluate --task completion`` of each completion file; the two references (the partial padded by
   resampling its points; the nearest training shape) scored by the same function on the same inputs;
7. the table (the budget in its header) to stdout and ``<out>/table.json``, the picture
   ``<out>/completions.png`` (one input per category: observed points dark grey, generated ones orange).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import _cli
import numpy as np
from bench_completion import _nearest_train, _padded, _picture, table_lines

#: ``gen3d demo``'s synthetic collection (its ``synth_done.json``) and model, under its ``--out``
SYNTH_SEED = 0
DEMO_CKPT = Path("runs") / "demo_points" / "checkpoints" / "last.ckpt"
OBSERVED_GREY = "0.16"  # gen3d.viz.colors.OBSERVED_COLOR, as gen3d render draws observed points


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="bench_completion.py --demo", description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="runs/completion_demo", help="output folder (runs/completion_demo)")
    ap.add_argument("--ckpt", default=None, help="point model to complete with (default: see step 3)")
    ap.add_argument("--demo-run", default="runs/demo", help="gen3d demo's --out, whose model is reused")
    ap.add_argument("--train", action="store_true", help="train here even when --demo-run holds a model")
    ap.add_argument("--budget", default="4m", help="training wall time, trainer.max_time (default 4m)")
    ap.add_argument("--steps", type=int, default=None, help="training steps instead of --budget")
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="GROUP.KEY=VALUE",
                    help="gen3d fit override (repeatable)")  # fmt: skip
    ap.add_argument("--conditional-steps", type=int, default=None,
                    help="complete-train steps (default: completion/demo.yaml's; 0 skips)")  # fmt: skip
    ap.add_argument("--inputs", type=int, default=12, help="held-out inputs, as many per category (12)")
    ap.add_argument("--k", type=int, default=4, help="completions per input (4)")
    ap.add_argument("--observed", type=int, default=None, help="observed slots (default: half the points)")
    ap.add_argument("--sampling-steps", type=int, default=None, help="sampler steps (default: the model's)")
    ap.add_argument("--per-category", type=int, default=40, help="synthetic meshes per category (40)")
    ap.add_argument("--categories", default=None, help="comma-separated synthetic categories (all)")
    ap.add_argument("--points", type=int, default=1024, help="points per shape and per view (1024)")
    ap.add_argument("--views", type=int, default=2, help="depth scans per mesh (2)")
    ap.add_argument("--seed", type=int, default=0, help="first completion seed")
    ap.add_argument("--workers", type=int, default=2, help="gen3d prepare's worker processes")
    return ap


def _step(title: str) -> float:
    print(f"\n=== completion demo: {title}", flush=True)
    return time.perf_counter()


def _done(t0: float) -> None:
    print(f"    ({time.perf_counter() - t0:.0f} s)", flush=True)


def _marker(path: Path, settings: dict) -> dict | None:
    """The record at ``path`` when it was written for ``settings``, else None."""
    if path.is_file():
        record = json.loads(path.read_text())
        if record.get("settings") == settings:
            return record
    return None


def _synth(out: Path, want: dict) -> Path:
    """``gen3d demo``'s collection (its marker file, so a re-run with the same parameters skips it)."""
    from gen3d.atomic import atomic_write_text

    synth, done = out / "data" / "synth", out / "data" / "synth_done.json"
    if done.is_file() and json.loads(done.read_text()) == want and (synth / "synth_info.json").is_file():
        print(f"reusing {synth}")
        return synth
    argv = ["synth", str(synth), "--per-category", str(want["per_category"]), "--overwrite"]
    _cli.run_gen3d(*argv, *(["--categories", want["categories"]] if want["categories"] else []))
    atomic_write_text(done, json.dumps(want))
    return synth


def _step_of(ckpt) -> int | None:
    try:
        return _cli.checkpoint_step(ckpt)
    except KeyError:  # not a Lightning checkpoint (gen3d complete-train's)
        return None


def _model(args, out: Path, cache: Path, collection: dict) -> tuple[Path, dict]:
    """The checkpoint to complete with and its budget record (``source``, ``steps``, ``minutes``)."""
    from gen3d.atomic import atomic_write_text

    if args.ckpt:
        return Path(args.ckpt), {"source": f"given ({args.ckpt})", "steps": _step_of(args.ckpt)}
    demo = Path(args.demo_run) / DEMO_CKPT
    if demo.is_file() and not args.train:
        marker = Path(args.demo_run) / "data" / "synth_done.json"
        if marker.is_file() and json.loads(marker.read_text()) == collection:
            return demo, {"source": f"make demo's ({demo})", "steps": _step_of(demo)}
        print(f"not reusing {demo}: trained on another synthetic collection than {collection}")
    want = {"config": "demo_points", "budget": None if args.steps else args.budget, "steps": args.steps,
            "overrides": args.overrides, "collection": collection}  # fmt: skip
    record = _marker(out / "model.json", want)
    if record and Path(record["ckpt"]).is_file():
        return Path(record["ckpt"]), {**record["budget"], "source": f"trained earlier ({record['ckpt']})"}
    print(f"training: gen3d fit --config demo_points, {f'{args.steps} steps' if args.steps else args.budget}")
    ckpt, seconds, step = _cli.fit_to_budget(
        "demo_points", cache, out / "runs", args.budget, args.steps, args.overrides
    )
    budget = {"steps": step, "minutes": seconds / 60}
    record = {"settings": want, "ckpt": str(ckpt), "budget": budget}
    atomic_write_text(out / "model.json", json.dumps(record))
    return ckpt, {**budget, "source": f"trained here ({ckpt})"}


def _conditional(args, out: Path, cache: Path, base: Path) -> tuple[Path, dict]:
    """``gen3d complete-train --config demo`` from ``base`` (reused when already done with these settings)."""
    from gen3d.atomic import atomic_write_text
    from gen3d.completion.finetune import COMPLETION_KEY
    from gen3d.models import CHECKPOINT_KEY, read_checkpoint

    path = out / "conditional.ckpt"
    want = {"base": str(base.resolve()), "base_mtime_ns": base.stat().st_mtime_ns,
            "steps": args.conditional_steps, "observed": args.observed}  # fmt: skip
    record = _marker(out / "conditional.json", want)
    if record and path.is_file():
        print(f"reusing {path}")
    else:
        argv = ["complete-train", str(cache), "--config", "demo", "--ckpt", str(base), "--out", str(path)]
        argv += ["--steps", str(args.conditional_steps)] if args.conditional_steps else []
        argv += ["--observed", str(args.observed)] if args.observed else []
        record = {"settings": want, "seconds": _cli.run_gen3d(*argv)}
        atomic_write_text(out / "conditional.json", json.dumps(record))
    done = read_checkpoint(str(path))[CHECKPOINT_KEY][COMPLETION_KEY]
    return path, {"steps": int(done["steps"]), "minutes": record["seconds"] / 60,
                  "loss": [done["loss_first"], done["loss_last_10"]]}  # fmt: skip


def _held_out(class_names: list[str], inputs: int) -> tuple[list[str], str]:
    """``gen3d complete``'s selection of about ``inputs`` test shapes, as many per category (at least one;
    the first ``inputs`` categories when there are more), and its description."""
    per, cats = max(1, inputs // len(class_names)), list(class_names[:inputs])
    argv = ["--max-shapes", str(per)]
    argv += ["--categories", ",".join(cats)] if len(cats) < len(class_names) else []
    return argv, f"at most {per} per category of {', '.join(cats)}"


def _complete(args, ckpt: Path, cache: Path, path: Path, held: list[str], samples: bool = False) -> float:
    """``gen3d complete`` of view 0 of the ``held`` test shapes (``samples``: also a sample file)."""
    argv = ["complete", "--ckpt", str(ckpt), str(cache), "--split", "test", *held]
    argv += ["--n", str(args.k), "--seed", str(args.seed), "--out", str(path)]
    argv += ["--observed", str(args.observed)] if args.observed else []
    argv += ["--steps", str(args.sampling_steps)] if args.sampling_steps else []
    argv += ["--sample-file", str(path.with_name(f"{path.stem}_samples.npz"))] if samples else []
    return _cli.run_gen3d(*argv)


def _evaluate(path: Path, cache: Path, seed: int) -> dict:
    """``gen3d evaluate --task completion`` of the completion file ``path``; its JSON result."""
    js = path.with_name(f"{path.stem}_eval.json")
    argv = ["evaluate", "--task", "completion", str(path), str(cache), "--seed", str(seed), "--out", str(js)]
    _cli.run_gen3d(*argv)
    return json.loads(js.read_text())


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    for flag in ("inputs", "k", "per_category", "points", "views"):
        if getattr(args, flag) < 1:
            raise SystemExit(f"--{flag.replace('_', '-')} must be >= 1")
    from gen3d.atomic import atomic_write_text
    from gen3d.completion.completion_file import load_completions
    from gen3d.completion.evaluate import load_truth
    from gen3d.completion.metrics import completion_metrics
    from gen3d.datasets.cache import ShapeCache

    t_all, out = time.perf_counter(), Path(args.out).resolve()
    collection = {"per_category": args.per_category, "seed": SYNTH_SEED, "categories": args.categories}
    t0 = _step("1/6 the demo's synthetic collection (gen3d synth)")
    synth = _synth(out, collection)
    _done(t0)
    t0 = _step(f"2/6 {args.views} depth scans per mesh (gen3d prepare --partial-views)")
    cache = out / "data" / "views"
    _cli.run_gen3d("prepare", "shapenet", str(synth), "--out", str(cache), "--points", str(args.points),
                   "--normalize", "bbox", "--partial-views", str(args.views), "--workers", str(args.workers),
                   "--no-progress")  # fmt: skip
    shapes = ShapeCache(cache)
    held, chosen = _held_out(list(shapes.class_names), args.inputs)
    _done(t0)
    t0 = _step("3/6 the model")
    ckpt, model = _model(args, out, cache, collection)
    print(f"model: {model['source']}, {model['steps'] or 'unknown'} steps")
    _done(t0)
    t0 = _step(f"4/6 training-free completion of held-out scans ({chosen}; K={args.k})")
    files = {"training-free": out / "training_free.npz"}
    seconds = {"training-free": _complete(args, ckpt, cache, files["training-free"], held, True)}
    _done(t0)
    conditional = None
    if args.conditional_steps != 0:
        t0 = _step("5/6 conditional model (gen3d complete-train --config demo) and its completions")
        cond_ckpt, conditional = _conditional(args, out, cache, ckpt)
        files["conditional"] = out / "conditional.npz"
        seconds["conditional"] = _complete(args, cond_ckpt, cache, files["conditional"], held)
        _done(t0)
    t0 = _step("6/6 PVD's metrics (gen3d evaluate --task completion) and the two references")
    comp = load_completions(files["training-free"])
    truth, _ = load_truth(str(cache), comp, str(files["training-free"]))
    partials, n = comp.partials, comp.completions.shape[2]
    results, train = {}, shapes.load_points("train")[0]
    references = {"padded partial": lambda: _padded(partials, n, args.k, args.seed),
                  "nearest train": lambda: _nearest_train(partials, train)}  # fmt: skip
    for name, make in references.items():  # seconds: making the rows, as for the models
        t = time.perf_counter()
        pts, took = make(), time.perf_counter() - t
        results[name] = {**completion_metrics(pts, partials, truth, seed=args.seed), "seconds": took}
    for name, path in files.items():
        results[name] = {**_evaluate(path, cache, args.seed), "seconds": seconds[name]}
    _done(t0)

    meta = comp.meta
    median = int(np.median([len(p) for p in partials]))
    budget = f"model {model['source']}: {model['steps'] or 'unknown'} training steps"
    budget += f" in {model['minutes']:.1f} min of gen3d fit" if model.get("minutes") is not None else ""
    if conditional:
        c = conditional
        budget += (f"; conditional: {c['steps']} complete-train steps in {c['minutes']:.1f} min (loss "
                   f"{c['loss'][0]:.3f} -> {c['loss'][1]:.3f})")  # fmt: skip
    header = [
        f"shape completion, demo data: {len(partials)} held-out inputs (test split, {chosen}; view 0: depth "
        f"scans of median {median} points), K={args.k}, {n} points, "
        f"{meta['n_observed']} observed slots",
        f"budget: {budget}; sampler {meta['sampler']}, {meta['steps']} steps = {meta['nfe']} NFE per "
        "completion",
    ]
    classes = " (a class-conditional model completes with its null class)"
    classes = classes if meta["config"]["experiment"].get("class_cond") else ""
    units = (
        f"CD x1e3, EMD x1e2, UHD x1e2, TMD x1e2 in each true shape's bbox frame{classes}; s: wall seconds "
        "(a model's: its gen3d complete command)"
    )
    print("\n" + "\n".join([*header, *table_lines(results), units]))
    picture, keys = out / "completions.png", [info.get("key") for info in meta["inputs"]]
    cats = [str(k).split("/")[0] for k in keys]  # keys are <category>/<model id>
    index = [cats.index(c) for c in dict.fromkeys(cats)][:4]  # the first input of each category
    _picture(str(picture), partials, comp.completions, comp.observed, truth, index, shapes.up_axis,
             (OBSERVED_GREY, "tab:orange"))  # fmt: skip
    record = {"args": vars(args), "header": header, "model": {**model, "ckpt": str(ckpt)},
              "conditional": conditional, "inputs": keys, "results": results}  # fmt: skip
    atomic_write_text(out / "table.json", json.dumps(record, indent=1))
    print(f"wrote {out / 'table.json'}, {picture}; total {time.perf_counter() - t_all:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
