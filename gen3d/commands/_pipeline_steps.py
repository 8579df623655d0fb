"""The seven steps of ``gen3d pipeline``, each the public command (or library function) of the same name.

They reuse ``gen3d demo``'s step helpers (:mod:`gen3d.commands.demo`), so the demo and the pipeline run the
same argument lists: synth + prepare, fit (``--resume auto``), sample (every category, per-sample seeds, one
file of all shapes and one of the gallery's), evaluate against the held-out split, render the gallery,
export one mesh per category, and publish with :func:`gen3d.storage.publish.publish_model`. Each step's
``inputs`` are what its key hashes (the resolved training config, not its file name; never the work folder).
"""

from __future__ import annotations

from pathlib import Path

from gen3d.commands import demo
from gen3d.pipeline.digest import location_digest
from gen3d.pipeline.runner import Step, StepContext
from gen3d.pipeline.spec import PipelineSpec

__all__ = ["STEP_IMPLEMENTATIONS", "training_config"]

#: config keys the pipeline sets itself (folders under the work folder): left out of the fit key
_PLACED = (("data", "cache_dir"), ("experiment", "run_dir"))


def _fit_overrides(spec: PipelineSpec) -> list[str]:
    fit = spec.section("fit")
    out = list(fit["set"])
    if fit["max_steps"] is not None:
        out.append(f"trainer.max_steps={fit['max_steps']}")
    return out


def training_config(spec: PipelineSpec, cache: Path | None = None, run_dir: Path | None = None) -> dict:
    """The resolved training config of ``spec``'s fit step (with the cache and run folders when given)."""
    from gen3d.config import load_config

    placed = [f"data.cache_dir={cache}"] if cache is not None else []
    placed += [f"experiment.run_dir={run_dir}"] if run_dir is not None else []
    return load_config(spec.section("fit")["config"], [*placed, *_fit_overrides(spec)])


# -- prepare ---------------------------------------------------------------------------------------------


def _prepare_inputs(spec: PipelineSpec) -> dict:
    p = spec.section("prepare")
    del p["workers"]  # how many processes prepare the cache does not change it
    return p


def _prepare(ctx: StepContext) -> dict[str, str]:
    """synth (when ``prepare.synth``) then ``gen3d prepare`` into ``<folder>/data/cache``."""
    p = ctx.spec.section("prepare")
    paths = demo._Paths(ctx.folder)
    outputs = {}
    if p["synth"] is not None:
        cats = p["synth"]["categories"]
        demo._synthesize(paths, p["synth"]["per_category"], ",".join(cats) if cats else None)
        layout, root = "shapenet", paths.synth
        outputs["synthetic collection"] = str(paths.synth)
    else:
        layout, root = p["layout"], Path(p["root"]).expanduser().resolve()
    argv = ["prepare", layout, str(root), "--out", str(paths.cache), "--points", str(p["points"])]
    argv += ["--normalize", p["normalize"], "--workers", str(p["workers"]), "--no-progress"]
    if p["voxels"]:
        argv += ["--voxels", str(p["voxels"])]
    demo._call(argv)
    return {**outputs, "prepared cache": str(paths.cache)}


# -- fit -------------------------------------------------------------------------------------------------


def _fit_inputs(spec: PipelineSpec) -> dict:
    config = training_config(spec)
    for group, key in _PLACED:
        config[group].pop(key, None)
    return {"config": config}


def _fit(ctx: StepContext) -> dict[str, str]:
    """``gen3d fit --resume auto`` with the run folder in the step's folder (a crashed fit resumes); with
    ``fit.mirror``, also ``--mirror <fit.mirror>/<key[:12]>`` (a fit whose work folder was lost resumes from
    the mirror of the same key, never from another configuration's)."""
    from gen3d.storage.model_card import TRACKING_RECORD
    from gen3d.storage.urls import join_url
    from gen3d.training.components import run_dir_of

    fit = ctx.spec.section("fit")
    cache = Path(ctx.upstream["prepare"]["prepared cache"])
    config = training_config(ctx.spec, cache, ctx.folder)
    placed = [f"data.cache_dir={cache}", f"experiment.run_dir={ctx.folder}"]
    # the cache's content is part of the key, its folder is not: a work folder moved (or a fresh node's,
    # resuming from the mirror) holds the same cache under another path
    argv = ["fit", "--config", fit["config"], "--resume", "auto", "--allow-config-change", "data.cache_dir"]
    mirror = join_url(fit["mirror"], ctx.key[:12]) if fit["mirror"] else None
    argv += ["--mirror", mirror] if mirror else []
    for o in [*placed, *_fit_overrides(ctx.spec)]:
        argv += ["--set", o]
    demo._call(argv)
    run = run_dir_of(config)
    out = {"checkpoint": str(run / "checkpoints" / "last.ckpt")}
    if any(p.is_file() for p in (run / "logs").rglob("*")):  # none when restored from the mirror at its end
        out["training log"] = str(run / "logs")
    if (run / TRACKING_RECORD).is_file():  # trainer.logger tensorboard / mlflow / wandb: where it was tracked
        out["tracking record"] = str(run / TRACKING_RECORD)
    if mirror is not None:
        out["checkpoint (mirror)"] = join_url(mirror, "checkpoints", "last.ckpt")
    return out


# -- sample / evaluate / render / export -----------------------------------------------------------------


def _sample_inputs(spec: PipelineSpec) -> dict:
    s = spec.section("sample")
    demo._check_sampling(training_config(spec), s["sampler"], s["steps"], _fit_overrides(spec))
    if s["per_class"] < 1:
        from gen3d.errors import UserInputError

        raise UserInputError(f"{spec.source}: sample.per_class must be >= 1, got {s['per_class']}")
    return s


def _sample(ctx: StepContext) -> dict[str, str]:
    s = ctx.spec.section("sample")
    cache = Path(ctx.upstream["prepare"]["prepared cache"])
    ckpt = Path(ctx.upstream["fit"]["checkpoint"])
    paths = demo._Paths(ctx.folder, cache_dir=cache, samples_dir=ctx.folder)
    config = training_config(ctx.spec, cache)
    sampled = demo._sample(
        paths, config, ckpt, s["per_class"], s["seed"], s["sampler"], s["steps"], _fit_overrides(ctx.spec)
    )
    return {"samples (all)": str(sampled.all_path), "samples (gallery)": str(sampled.gallery_path)}


def _sampled(spec: PipelineSpec, samples: dict[str, str], cache: Path | None = None):
    """The sample step's files as the demo's ``_Sampled`` (what evaluate, render and export read)."""
    from gen3d.sample_file import load_samples

    all_samples, gallery = load_samples(samples["samples (all)"]), load_samples(samples["samples (gallery)"])
    split = "val"
    if cache is not None:
        from gen3d.datasets.cache import ShapeCache  # type: ignore[import-not-found]

        split = "val" if "val" in ShapeCache(cache).splits else "test"
    return demo._Sampled(
        eval_split=split,
        class_names=list(all_samples.meta["demo_classes"]),
        all_path=Path(samples["samples (all)"]),
        all_samples=all_samples,
        gallery_path=Path(samples["samples (gallery)"]),
        gallery=gallery,
        per_class=spec.section("sample")["per_class"],
    )


def _evaluate_inputs(spec: PipelineSpec) -> dict:
    e = spec.section("evaluate")
    if e["bootstrap"] < 0:
        from gen3d.errors import UserInputError

        raise UserInputError(f"{spec.source}: evaluate.bootstrap must be >= 0, got {e['bootstrap']}")
    return e


def _evaluate(ctx: StepContext) -> dict[str, str]:
    e = ctx.spec.section("evaluate")
    cache = Path(ctx.upstream["prepare"]["prepared cache"])
    sampled = _sampled(ctx.spec, ctx.upstream["sample"], cache)
    extra = ("--bootstrap", str(e["bootstrap"])) + (("--metrics", e["metrics"]) if e["metrics"] else ())
    eval_json, hist_png = ctx.folder / "eval.json", ctx.folder / "nn_distances.png"
    paths = demo._Paths(ctx.folder, cache_dir=cache)
    demo._evaluate(paths, training_config(ctx.spec, cache), sampled, eval_json, hist_png, extra)
    return {"scores (JSON)": str(eval_json), "nearest-neighbour plot": str(hist_png)}


def _render(ctx: StepContext) -> dict[str, str]:
    png = ctx.folder / "gallery.png"
    demo._render(_sampled(ctx.spec, ctx.upstream["sample"]), png)
    return {"gallery picture": str(png)}


def _export(ctx: StepContext) -> dict[str, str]:
    mesh_dir = ctx.folder / "meshes"
    demo._export(_sampled(ctx.spec, ctx.upstream["sample"]), mesh_dir)
    return {"meshes": str(mesh_dir)}


# -- publish ---------------------------------------------------------------------------------------------


def _publish_inputs(spec: PipelineSpec) -> dict:
    from gen3d.storage.urls import redact

    p = spec.section("publish")
    return {"registry": redact(p["registry"]), "name": p["name"]}


def _publish(ctx: StepContext) -> dict[str, str]:
    """:func:`gen3d.storage.publish.publish_model` of the checkpoint, scores and gallery picture."""
    from gen3d.storage.publish import find_inputs, publish_model
    from gen3d.storage.registry import ModelRef
    from gen3d.storage.urls import redact

    p = ctx.spec.section("publish")
    up = ctx.upstream
    evaluation = up["evaluate"]["scores (JSON)"] if "evaluate" in up else None
    gallery = up["render"]["gallery picture"] if "render" in up else None
    published = publish_model(
        find_inputs(up["fit"]["checkpoint"], evaluation, gallery), p["registry"], p["name"]
    )
    print(
        f"gen3d pipeline: published {p['name']} {published.version} -> {redact(published.url)}/", flush=True
    )
    return {"model": str(ModelRef(p["registry"], p["name"], published.version))}


def _model_digest(ref: str) -> str | None:
    """Digest of a published version (its manifest), None when it is gone or incomplete."""
    from gen3d.pipeline.digest import json_digest
    from gen3d.storage.registry import parse_model_ref, read_manifest

    r = parse_model_ref(ref)
    if r.version is None:
        return None
    manifest = read_manifest(r.registry, r.name, r.version)
    return None if manifest is None else json_digest(manifest)


STEP_IMPLEMENTATIONS: dict[str, Step] = {
    "prepare": Step("prepare", _prepare_inputs, _prepare),
    "fit": Step("fit", _fit_inputs, _fit, location_digest),
    "sample": Step("sample", _sample_inputs, _sample),
    "evaluate": Step("evaluate", _evaluate_inputs, _evaluate),
    "render": Step("render", lambda spec: {}, _render),
    "export": Step("export", lambda spec: {}, _export),
    "publish": Step("publish", _publish_inputs, _publish, _model_digest),
}
