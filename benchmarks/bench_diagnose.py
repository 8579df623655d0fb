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

``--late-start REPORT`` instead measures the Gaussian late start above sigma_S (note §5) for the one
checkpoint given: ``sigma_S`` is read from ``REPORT`` (a report.json of that model); with ``--n`` samples
(default: the held-out split, at most 100) it samples the full Heun grid of the checkpoint's sampler, then
starts at ``f * sigma_S`` for each ``--factors`` from :class:`gen3d.diagnostics.late_start.PointGaussian`
on the same grid truncated there, and the full grid at the late start's NFE (equal cost); each set is scored
against the held-out split (Chamfer MMD / COV / 1-NNA, one seed per sample, the same seeds for every row).
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
    ap.add_argument("--late-start", default=None, metavar="REPORT", help="measure the Gaussian late start")
    ap.add_argument("--factors", default="2,4", help="late starts at f * sigma_S")
    ap.add_argument("--n", type=int, default=100, help="samples per row of the late-start table")
    args = ap.parse_args(argv)
    if args.late_start:
        return late_start(args.ckpts[0], args.data, args.late_start, args.factors, args.n)
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


def _score(x, ref) -> dict:
    from gen3d.metrics import chamfer_pairwise
    from gen3d.metrics.evaluation import protocol_from_matrices

    g, r = x.numpy(), ref.numpy()
    return protocol_from_matrices(chamfer_pairwise(g), chamfer_pairwise(r), chamfer_pairwise(g, r))


def late_start(ckpt: str, data: str, report: str, factors: str, n: int) -> int:
    import time

    import torch

    from gen3d.diagnostics.data import load_shape_sets
    from gen3d.diagnostics.late_start import PointGaussian, late_start_grid
    from gen3d.models import load_denoiser
    from gen3d.random import generators_for_seeds
    from gen3d.samplers import get_schedule, sample

    sigma_s = json.loads(Path(report).read_text())["summary"]["sigma_S"]
    denoiser, config, process = load_denoiser(ckpt)
    sets = load_shape_sets(data, config, generator=torch.Generator().manual_seed(0))
    ref = sets.heldout[: min(n, len(sets.heldout))]
    m = len(ref)
    group = config["sampler"]
    steps = int(group["steps"])
    null = len(config["experiment"]["class_names"]) if config["experiment"].get("class_cond") else None
    cond = None if null is None else torch.full((m,), null, dtype=torch.int64)
    seeds = list(range(m))
    gauss = PointGaussian(sets.train)

    def run(grid, x0):
        t = time.perf_counter()
        with torch.no_grad():
            out = sample("heun", denoiser, x0, grid, cond=cond, generator=generators_for_seeds(seeds))
        return out.x, out.nfe, time.perf_counter() - t

    def prior():
        gens = generators_for_seeds(seeds)
        return torch.cat([process.prior((1, *sets.train.shape[1:]), generator=g) for g in gens])

    full = get_schedule("karras", steps, process.sigma_min, process.sigma_max, rho=float(group.get("rho", 7)))
    rows = []
    x, nfe, sec = run(full, prior())
    rows.append(("full grid", process.sigma_max, nfe, sec, _score(x, ref)))
    for f in (float(v) for v in factors.split(",")):
        s0 = f * sigma_s
        grid = late_start_grid(full, s0)
        gens = generators_for_seeds(seeds)
        x0 = torch.cat([gauss.sample(1, s0, generator=g) for g in gens])
        x, nfe, sec = run(grid, x0)
        rows.append((f"Gaussian start at {f:g} sigma_S", s0, nfe, sec, _score(x, ref)))
        k = max(1, (len(grid) - 1))
        x, nfe2, sec = run(get_schedule("karras", k, process.sigma_min, process.sigma_max, rho=7.0), prior())
        rows.append((f"full grid, {k} steps (equal NFE)", process.sigma_max, nfe2, sec, _score(x, ref)))
    print(f"# {ckpt}: sigma_S = {sigma_s:.3g} ({report}); {m} samples vs {m} held-out shapes; Heun")
    print("| run | sigma_start | NFE | s | 1-NNA-CD % | COV-CD % | MMD-CD x10^3 |")
    print("|---|---|---|---|---|---|---|")
    for name, s0, nfe, sec, sc in rows:
        print(
            f"| {name} | {s0:.3g} | {nfe} | {sec:.0f} | {100 * sc['1nna']:.1f} | {100 * sc['cov']:.1f} | "
            f"{1e3 * sc['mmd']:.2f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
