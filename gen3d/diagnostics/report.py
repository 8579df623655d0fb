"""The files of a diagnosis: ``report.json`` (every curve), ``summary.md`` (a page a person reads in a
minute) and the PNGs of :mod:`gen3d.diagnostics.plots`, all written atomically."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

from gen3d.atomic import atomic_write_text

__all__ = ["applies", "markdown_summary", "write_report"]

ESTIMATORS = {
    "info": "information curve",
    "commitment": "class commitment",
    "collapse": "collapse scan",
    "likelihood": "PF-ODE likelihood",
}


def applies(report: dict, key: str) -> bool:
    """Whether ``report`` holds results for the estimator ``key`` (present, not marked not applicable)."""
    return key in report and report[key].get("applicable", True)


def _clean(v):
    """JSON-safe: NaN / inf -> None, tuples -> lists."""
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_clean(x) for x in v]
    return v


def _f(v, fmt: str = ".3g") -> str:
    return "–" if v is None else format(v, fmt)


def markdown_summary(report: dict) -> str:
    """A short Markdown page: the estimates, what they mean, the cost."""
    s = report["summary"]
    d = report["data"]
    lines = [
        "# gen3d diagnose",
        "",
        f"Model: `{report.get('checkpoint', '?')}` ({report['process']['name']}); data: "
        f"{d['n_train']} training / {d['n_heldout']} held-out shapes of dimension {d['dim']} "
        f"(splits {d['splits'][0]} / {d['splits'][1]}). Cost: {s['nfe_total']} network evaluations, "
        f"{s['minutes']:.1f} min.",
        "",
        "| estimate | value | reading |",
        "|---|---|---|",
    ]
    if applies(report, "commitment"):
        c = report["commitment"]
        lines.append(
            f"| speciation σ_S ({c['route']} route, {c['num_classes']} classes) | {_f(s['sigma_S'])} | "
            "below it the sample has chosen its class; above it a Gaussian start loses nothing (note §5) |"
        )
    if applies(report, "collapse"):
        c = report["collapse"]
        lines += [
            f"| collapse σ_C (P_snap = ½ vs training shapes) | {_f(s['sigma_C'])} | "
            "– means trajectories never snap onto one training shape |",
            f"| final near-copy fraction vs training / vs held-out null / vs all {c['n_train']} "
            f"training shapes | {_f(c['near_copy_fraction'], '.0%')} / "
            f"{_f(c['near_copy_fraction_null'], '.0%')} / "
            f"{_f(c['near_copy_fraction_full_train'], '.0%')} | memorisation shows as the first well "
            "above the second |",
        ]
    if applies(report, "info"):
        lines.append(
            f"| entropy-criterion σ_C (I_heldout = ln N = {report['info']['ln_N']:.2f}) | "
            f"{_f(s['sigma_C_entropy'])} | ill-conditioned for resampled point clouds (note §6) |"
        )
    if applies(report, "likelihood"):
        lk = s["log_likelihood_nats_per_dim"]
        lines.append(
            f"| PF-ODE log-likelihood, nats/dim, held-out / train | {lk['heldout']:.3f} / "
            f"{lk['train']:.3f} | train well above held-out: memorisation |"
        )
    for key, title in ESTIMATORS.items():
        if key in report and not applies(report, key):
            reason = report[key]["reason"].replace("|", "\\|")  # a table cell: E[y | x]
            lines.append(f"| {title} | not applicable | {reason} |")
    lines += [
        "",
        "Plots: "
        + ", ".join(
            f"`{k}.png`" for k in ("info", "commitment", "collapse", "likelihood") if applies(report, k)
        )
        + "; every curve is in `report.json`.",
    ]
    notes = []
    c = report.get("commitment", {})
    if c.get("route") == "posterior" and c.get("residual"):
        worst = max(c["residual"])
        notes.append(
            f"Posterior route: the relative residual of I4 (D_null = sum_c p_c D_c) reaches {worst:.2f}. "
            "Above ~0.1 the unconditional branch is not the mixture of the conditional ones (note §9) and "
            "p(c|x) is unreliable there (at small σ all D_c approach x); compare with `--route uturn`."
        )
    if not report.get("clean_target", True):
        notes.append(
            "This process regresses its own target, not the clean shape (D is not E[y | x]): the "
            "information curve and the U-turn route do not apply; the posterior route (I4, the law of total "
            "expectation), the collapse scan and the PF-ODE likelihood (prior: the process's own law at "
            "σ_max) do."
        )
    elif not report["gaussian_kernel"]:
        notes.append(
            "This process's kernel is not Gaussian: I(σ) is ∫C dln(1/σ), not a mutual information, and the "
            "U-turn's retention = φ identity is an approximation; the posterior route and the collapse scan "
            "carry over unchanged."
        )
    notes.append(
        "Thresholds: κ at the calibrated two-class value 0.550 (φ = 0.7752, not ½) for two classes, κ = ½ "
        "(a convention) otherwise; near copy: d1/d2 < 1/3. Trajectory numbers describe the sampler as well "
        "as the model."
    )
    lines += [""] + [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"


def write_report(report: dict, out_dir: str | os.PathLike, plots: bool = True) -> dict[str, Path]:
    """Write ``report.json``, ``summary.md`` and (``plots``) the PNGs into ``out_dir``; returns the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "report.json", "summary": out / "summary.md"}
    atomic_write_text(paths["json"], json.dumps(_clean(report), indent=1) + "\n")
    atomic_write_text(paths["summary"], markdown_summary(report))
    if plots:
        from gen3d.diagnostics.plots import plot_all

        for p in plot_all(report, out):
            paths[p.stem] = p
    return paths
