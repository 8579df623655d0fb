"""The model card (``README.md`` of a registry version), generated from what the version holds.

``model_card(name, version, manifest, config, fingerprint, evaluation, registry, tracking) -> str``
(markdown): what the model is (process, backbone, data type and size, classes), how to sample it, the data
fingerprint, the headline metrics with the evaluation protocol, where its training was tracked (the run
folder's ``tracking.json``, written by ``gen3d fit`` with ``trainer.logger`` tensorboard / mlflow / wandb),
the gallery picture when present, and the files with their sha256. The card states what is recorded and
says so when something is missing (no evaluation, no cache manifest); it adds no claim of its own.
"""

from __future__ import annotations

import json
import re

from gen3d.storage.urls import redact

__all__ = ["TRACKING_RECORD", "headline_metrics", "model_card", "tracking_entry", "tracking_summary"]

_METRIC_KEYS = ("1nna", "cov", "mmd")
#: file in a run folder that says where its training was tracked (:mod:`gen3d.training.tracking`)
TRACKING_RECORD = "tracking.json"
#: the keys of a tracking record that are published (all strings are redacted again on the way out)
_TRACKING_KEYS = (
    "logger", "log_dir", "tracking_uri", "experiment", "experiment_id", "run_id", "run_url", "mode",
    "project", "dir", "offline_runs", "sync", "view",
)  # fmt: skip


_USERINFO_ANYWHERE = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*://)[^/@\s`]*@")


def _clean(value):
    if isinstance(value, str):  # a URL, or a command line that holds one
        return _USERINFO_ANYWHERE.sub(r"\1", redact(value))
    if isinstance(value, list):
        return [_clean(v) for v in value if isinstance(v, str)]
    return value if isinstance(value, int | float | bool) or value is None else str(value)


def tracking_entry(record: dict | None) -> dict | None:
    """The publishable part of a run's ``tracking.json``: known keys only, URLs redacted; None when there
    is no record or it names no tracker."""
    if not isinstance(record, dict) or not isinstance(record.get("logger"), str):
        return None
    return {k: _clean(record[k]) for k in _TRACKING_KEYS if k in record}


def tracking_summary(record: dict | None) -> str | None:
    """One line (markdown) saying where a run was tracked, from its ``tracking.json``; None without one."""
    t = tracking_entry(record)
    if t is None:
        return None
    kind = t["logger"]
    if kind == "tensorboard":
        return f"TensorBoard log folder `{t.get('log_dir')}` (view: `{t.get('view')}`)"
    if kind == "mlflow":
        where = t.get("run_url") or f"`{t.get('tracking_uri')}` (view: `{t.get('view')}`)"
        return (
            f"MLflow run `{t.get('run_id')}` of experiment `{t.get('experiment')}` "
            f"(id {t.get('experiment_id')}): {where}"
        )
    if kind == "wandb":
        return (
            f"Weights & Biases run `{t.get('run_id')}` of project `{t.get('project')}`, {t.get('mode')}, in "
            f"`{t.get('dir')}` (upload: `{t.get('sync')}`)"
        )
    return f"{kind}: `{json.dumps(t, sort_keys=True)}`"


def headline_metrics(evaluation: dict | None) -> dict:
    """``{"1nna_cd": ..., "cov_cd": ..., "mmd_cd": ..., "1nna_emd": ..., "jsd": ...}`` from a
    ``gen3d evaluate`` JSON record (``metrics.<distance>.{1nna, cov, mmd}``); {} for None."""
    if not evaluation:
        return {}
    out: dict = {}
    for dist, res in (evaluation.get("metrics") or {}).items():
        if isinstance(res, dict):
            for k in _METRIC_KEYS:
                if isinstance(res.get(k), int | float):
                    out[f"{k}_{dist}"] = float(res[k])
        elif isinstance(res, int | float):
            out[str(dist)] = float(res)
    return out


def _fmt(v) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _metrics_section(evaluation: dict | None, head: dict) -> list[str]:
    if not evaluation:
        return [
            "## Evaluation",
            "",
            "No evaluation was published with this version (`gen3d publish --eval`).",
            "",
        ]
    protocol = evaluation.get("protocol")
    norm = (evaluation.get("normalization") or {}).get("kind")
    lines = [
        "## Evaluation",
        "",
        f"From `eval.json` (`gen3d evaluate`): protocol {protocol or 'none (custom options)'}, normalisation "
        f"{norm or 'unrecorded'}, {evaluation.get('n_gen', '?')} generated vs {evaluation.get('n_ref', '?')} "
        "reference shapes. 1-NNA: 50 % is ideal; COV: higher is better; MMD: lower is better.",
        "",
        "| metric | value |",
        "|---|---|",
    ]
    lines += [f"| {k} | {_fmt(v)} |" for k, v in head.items()]
    return [*lines, ""]


def model_card(
    name: str,
    version: str,
    manifest: dict,
    config: dict,
    fingerprint: dict,
    evaluation: dict | None,
    registry: str,
    tracking: dict | None = None,
) -> str:
    """The markdown card (see the module docstring). ``manifest`` holds the files written before the card;
    ``tracking``: the run folder's ``tracking.json`` (None: the run was not tracked or is not known)."""
    data, process, net = config["data"], config["process"], config["net"]
    size = f"{data.get('n_points')} points" if data.get("type") == "points" else f"{data.get('resolution')}^3"
    classes = config["experiment"].get("class_names") if config["experiment"].get("class_cond") else None
    head = headline_metrics(evaluation)
    lines = [
        f"# {name} {version}",
        "",
        f"gen3d model: process `{process.get('name')}`, backbone `{net.get('name')}` "
        f"({net.get('size', '')}), "
        f"{data.get('type')} ({size}), {'classes ' + ', '.join(classes) if classes else 'unconditional'}; "
        f"sampler `{config['sampler'].get('name')}` with {config['sampler'].get('steps')} steps by default. "
        f"Published {manifest.get('created')} by gen3d {manifest.get('gen3d_version')}; EMA weights.",
        "",
        "## Use",
        "",
        "```bash",
        f"gen3d sample --model {registry.rstrip('/')}/{name}@{version} --n 8 --out samples.npz",
        "```",
        "",
        "## Data",
        "",
        f"Cache manifest sha256: `{fingerprint.get('cache_manifest_sha256') or 'not recorded'}`; "
        f"normalisation: `{(fingerprint.get('normalization') or {}).get('kind', 'not recorded')}`; "
        f"shapes per category: {fingerprint.get('categories') or 'not recorded'}; "
        f"per split: {fingerprint.get('splits') or 'not recorded'}."
        + (f" Note: {fingerprint['note']}." if fingerprint.get("note") else ""),
        "",
        *_metrics_section(evaluation, head),
    ]
    summary = tracking_summary(tracking)
    if summary:
        lines += [
            "## Training run",
            "",
            "Training metrics (losses, per-ln(sigma) losses, learning rate) and gallery pictures were "
            f"tracked in: {summary}. Paths are on the machine that trained the model.",
            "",
        ]
    if "gallery.png" in manifest.get("files", {}):
        lines += ["## Gallery", "", "![gallery](gallery.png)", ""]
    lines += ["## Files", "", "| file | bytes | sha256 |", "|---|---|---|"]
    lines += [
        f"| {f} | {e['size']} | `{e['sha256']}` |" for f, e in sorted(manifest.get("files", {}).items())
    ]
    return "\n".join(lines) + "\n"
