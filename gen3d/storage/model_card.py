"""The model card (``README.md`` of a registry version), generated from what the version holds.

``model_card(name, version, manifest, config, fingerprint, evaluation, registry) -> str`` (markdown): what the
model is (process, backbone, data type and size, classes), how to sample it, the data fingerprint, the
headline metrics with the evaluation protocol, the gallery picture when present, and the files with their
sha256. The card states what is recorded and says so when something is missing (no evaluation, no cache
manifest); it adds no claim of its own.
"""

from __future__ import annotations

__all__ = ["headline_metrics", "model_card"]

_METRIC_KEYS = ("1nna", "cov", "mmd")


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
) -> str:
    """The markdown card (see the module docstring). ``manifest`` holds the files written before the card."""
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
    if "gallery.png" in manifest.get("files", {}):
        lines += ["## Gallery", "", "![gallery](gallery.png)", ""]
    lines += ["## Files", "", "| file | bytes | sha256 |", "|---|---|---|"]
    lines += [
        f"| {f} | {e['size']} | `{e['sha256']}` |" for f, e in sorted(manifest.get("files", {}).items())
    ]
    return "\n".join(lines) + "\n"
