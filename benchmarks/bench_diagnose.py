"""``gen3d diagnose`` on trained checkpoints: sigma_S, sigma_C, near-copy fractions and cost, one row each.

Usage::

    gen3d prepare modelnet ../shared/data/ModelNet10-pcd --categories sofa --out cache/sofa \\
        --points 1024 --normalize unit_sphere
    python benchmarks/bench_processes.py cache/sofa --steps 3000 --out runs/bench_processes_sofa
    python benchmarks/bench_diagnose.py --data cache/sofa --out runs/diagnose_sofa \\
        runs/bench_processes_sofa/edm/checkpoints/last.ckpt \\
        runs/bench_processes_sofa/pfgmpp_D128/checkpoints/last.ckpt

Each checkpoint is diagnosed with the default plan (``--budget auto``: about 10 k network evaluations for an
unconditional model, a few CPU minutes) into ``<out>/<i>_<process>/`` (report.json, summary.md, PNGs); the
table prints the estimates with the cost in NFE and minutes. There is no baseline to beat: the reference for
every estimator is its closed-form test in ``tests/diagnostics``; the held-out null row of each run (near-copy
fraction against held-out shapes) is the comparison that gives the training-set numbers their meaning.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path


def _fmt(v, spec: str = ".3g") -> str:
    return "–" if v is None else format(v, spec)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("ckpts", nargs="+", help="checkpoints written by gen3d fit")
    ap.add_argument("--data", required=True, help="prepared cache the models were trained on")
    ap.add_argument("--out", default="runs/diagnose", help="folder of the reports")
    ap.add_argument("--budget", default="auto")
    ap.add_argument("--extra", default="", help="extra arguments for gen3d diagnose (one string)")
    args = ap.parse_args(argv)
    rows = []
    for i, ckpt in enumerate(args.ckpts):
        out = Path(args.out) / f"{i}_{Path(ckpt).parent.parent.name or 'model'}"
        cmd = [sys.executable, "-m", "gen3d", "diagnose", "--ckpt", ckpt, "--data", args.data]
        cmd += ["--out", str(out), "--budget", args.budget, "--no-progress", *args.extra.split()]
        print("$ " + " ".join(cmd), flush=True)
        subprocess.run(cmd, check=True)
        r = json.loads((out / "report.json").read_text())
        rows.append((r["process"]["name"], r["summary"], r["data"]))
    print("| process | σ_S | route | σ_C (scan) | near copies vs train / null / all train | NFE | min |")
    print("|---|---|---|---|---|---|---|")
    for name, s, _ in rows:
        print(
            f"| {name} | {_fmt(s.get('sigma_S'))} | {s.get('commitment_route', '–')} | "
            f"{_fmt(s.get('sigma_C'))} | "
            f"{_fmt(s.get('near_copy_fraction'), '.0%')} / {_fmt(s.get('near_copy_fraction_null'), '.0%')} / "
            f"{_fmt(s.get('near_copy_fraction_full_train'), '.0%')} | {s['nfe_total']} | {s['minutes']:.1f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
