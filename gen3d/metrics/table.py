"""The printed table of ``gen3d evaluate``: values in the units papers print (MMD-CD x10^3, MMD-EMD x10^2,
COV and 1-NNA in %, JSD x10^2), intervals in brackets, the chance level of 1-NNA and the EMD caveat.
The JSON result keeps plain values (distances in the scored units, fractions in [0, 1])."""

from __future__ import annotations

import math

from gen3d.metrics.presets import UNITS

__all__ = ["EMD_NOTE", "format_across_files", "format_result"]

EMD_NOTE = (
    "EMD: gen3d's EMD is near-exact (every value {bound} the optimal matching's cost); "
    "published EMDs mostly come from an approximate matcher (PointFlow's approxmatch) that over-estimates, "
    "so MMD-EMD here is lower than a paper's for the same shapes and 1-NNA-EMD can differ"
)


def _cell(r: dict, stat: str, factor: float) -> str:
    fmt = "{:.3f}" if stat == "mmd" else "{:.2f}"
    v = fmt.format(factor * r[stat])
    ci = r.get("ci", {}).get(stat)
    if ci is None:
        return v
    return f"{v} [{fmt.format(factor * ci['lo'])}, {fmt.format(factor * ci['hi'])}]"


def _metric_rows(metrics: dict, timings: dict | None = None, label: str = "") -> list[str]:
    rows = []
    for name, r in metrics.items():
        f, unit = UNITS.get(name, (1.0, ""))
        t = "" if timings is None else f"{timings.get(name, math.nan):>8.2f}"
        cells = f"{_cell(r, 'mmd', f):>26}{_cell(r, 'cov', 100):>24}{_cell(r, '1nna', 100):>24}"
        rows.append(f"{label + name:<16}{cells}{t}")
    return rows


def _header(metrics: dict, timings: bool) -> str:
    units = ", ".join(f"{n.upper()} {UNITS.get(n, (1, ''))[1]}".rstrip() for n in metrics)
    return f"{'':<16}{'MMD (' + units + ')':>26}{'COV %':>24}{'1-NNA %':>24}" + (
        f"{'time s':>8}" if timings else ""
    )


def _sizes(result: dict) -> str:
    line = f"{result['kind']}: {result['n_gen']} generated vs {result['n_ref']} reference"
    eq = result.get("equal_sizes") or {}
    if eq.get("subsampled"):
        line += (
            f", scored {result['n_scored'][0]} vs {result['n_scored'][1]} "
            f"({'generated' if eq['subsampled'] == 'gen' else 'reference'} set subsampled to equal size, "
            f"seed {eq['seed']})"
        )
    if "normalization" in result:
        line += f"; normalisation {result['normalization']['kind']}"
    if result.get("protocol"):
        line += f"; protocol {result['protocol']['name']}"
    return line


def _jsd_line(j: dict) -> str:
    mode = {"pointflow": "PointFlow binning", "cells": "gen3d cell binning"}.get(j.get("mode"), j.get("mode"))
    return f"JSD ({mode}) x10^2: {100 * j['jsd']:.3f}"


def _tail(result: dict) -> list[str]:
    rows = []
    first = next(iter(result["metrics"].values()))
    n = result.get("n_scored", [result["n_gen"], result["n_ref"]])
    chance = 100 * first["1nna_chance"]
    rows.append(f"1-NNA chance level for {n[0]} vs {n[1]} shapes from one distribution: {chance:.1f}%")
    iv = result.get("intervals")
    if iv:
        rows.append(
            f"[lo, hi]: {100 * iv['level']:.0f}% bootstrap intervals over both sets "
            f"({iv['n_boot']} resamples, seed {iv['seed']})"
        )
    for name, r in result["metrics"].items():
        sr = r.get("search") or {}
        if sr.get("pairs") == "pruned":
            ts = sr["timings_s"]
            bounds = sum(v for k, v in ts.items() if k not in ("solve", "search", "bootstrap_search"))
            rows.append(
                f"{name}: {sr['pairs_solved']:,} of {sr['pairs_total']:,} pairs computed "
                f"({100 * sr['solved_share']:.2g}%), the rest decided by certified bounds "
                f"(results identical to all pairs); bounds {bounds:.1f} s (shared), "
                f"search {ts['search']:.1f} s"
            )
    if "emd" in result["metrics"] and "emd_max_rel_gap" in result["metrics"]["emd"]:
        gap = result["metrics"]["emd"]["emd_max_rel_gap"]
        bound = f"certified within {100 * gap:.3g}% of" if gap > 0 else "equal to"
        rows.append(EMD_NOTE.format(bound=bound))
    return rows


def format_result(result: dict) -> str:
    """Table of one result (one sample file), with its per-category rows."""
    rows = [_sizes(result), _header(result["metrics"], True)]
    rows += _metric_rows(result["metrics"], result.get("timings_s"))
    if "jsd" in result:
        rows.append(_jsd_line(result["jsd"]))
    if "pieces" in result:
        g, r = result["pieces"]["gen"], result["pieces"]["ref"]
        rows.append(
            f"one face-connected piece: generated {100 * g['one_piece']:.1f}% (mean {g['mean']:.2f} pieces), "
            f"reference {100 * r['one_piece']:.1f}% (mean {r['mean']:.2f})"
        )
    rows += _tail(result)
    per = result.get("per_category")
    if per:
        rows.append("per category (each against the same category of the reference):")
        for cat, entry in per.items():
            if "skipped" in entry:
                rows.append(f"  {cat}: skipped ({entry['skipped']}: {entry['n_gen']} vs {entry['n_ref']})")
                continue
            rows += _metric_rows(entry["metrics"], None, f"  {cat}/")
    if "novelty" in result:
        nv = result["novelty"]
        rows.append(
            f"novelty: median NN ratio {nv['median_ratio']:.3f}; likely copies "
            f"{100 * nv['copy_fraction']:.1f}% (expected {100 * nv['expected_copy_fraction']:.1f}%)"
        )
    return "\n".join(rows)


def format_across_files(per_file: list[dict], names: list[str], summary: dict) -> str:
    """Table of several sample files (one per sampling seed): a block per file, mean +- std over files."""
    rows = []
    for name, r in zip(names, per_file):
        rows.append(f"== {name}")
        rows.append(format_result(r))
    rows.append(f"== over {summary['n_files']} sample files (sampling seeds): mean +- std (min .. max)")
    for metric, stats in summary["metrics"].items():
        f, unit = UNITS.get(metric, (1.0, ""))
        cells = []
        for stat, label, k in (
            ("mmd", f"MMD {unit}".rstrip(), f),
            ("cov", "COV %", 100),
            ("1nna", "1-NNA %", 100),
        ):
            s = stats[stat]
            spread = f"({k * s['min']:.4g} .. {k * s['max']:.4g})"
            cells.append(f"{label} {k * s['mean']:.4g} +- {k * s['std']:.2g} {spread}")
        rows.append(f"{metric:<6}" + "; ".join(cells))
    if "jsd" in summary:
        s = summary["jsd"]
        rows.append(f"JSD x10^2 {100 * s['mean']:.3f} +- {100 * s['std']:.2g}")
    return "\n".join(rows)
