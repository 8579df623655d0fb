"""Sampler accuracy per network evaluation, against closed-form targets.

Two problems, both driven by an exact (closed-form) denoiser so that every error is the sampler's own:

* ``ode``: Gaussian data N(mu, s^2 I) (32 shapes of 64 points x 3, float64); the probability-flow ODE has the
  exact solution ``gaussian_flow``. Column ``ode_rms``: RMS distance of the final samples to the exact ODE
  solution from the same x_T (deterministic samplers only; stochastic ones do not follow the ODE);
  ``ode_nfe``: the NFE of that run (differs from ``NFE`` of the mixture run only for the adaptive solver).
* ``mix``: a mixture of 4 Gaussian point-cloud templates (16 points x 3, std 0.2, weights .4/.3/.2/.1), 1000
  shapes in float32.
  ``w_tv``: total-variation distance between nearest-template frequencies and the weights; ``mean``: max abs
  error of the mean; ``cov``: relative Frobenius error of the covariance; ``var``: relative error of the
  within-template variance. The row ``exact draws`` (1000 samples from the data distribution itself) is the
  sampling-noise floor of these columns, measured in the same run.

A second table gives, per sampler, the NFE needed to bring ``ode_rms`` under 1e-2 and 1e-3 and its ratio to
Euler's NFE measured in the same run (the number to choose a sampler by; wall times are per-run and noisy on a
shared machine). Usage: ``python benchmarks/bench_samplers.py [--quick] [--threads 1]``; the header states the
thread count and allocator settings used.
"""

from __future__ import annotations

import argparse
import os
import time

import torch

from gen3d.analytic import GaussianMixtureDenoiser, gaussian_flow
from gen3d.processes import get_process
from gen3d.samplers import get_schedule, sample

SAMPLERS = {
    "euler": {},
    "heun": {},
    "dpmpp_2m": {},
    "dpmpp_3m": {},
    "edm_stochastic": {"S_churn": 20.0, "S_min": 0.01, "S_max": 10.0},
    "euler_maruyama": {},
}
DETERMINISTIC = {"euler", "heun", "dpmpp_2m", "dpmpp_3m", "adaptive"}
TARGETS = (1e-2, 1e-3)


def mixture_errors(x: torch.Tensor, den: GaussianMixtureDenoiser, weights: torch.Tensor, std: float) -> dict:
    xf = x.reshape(x.shape[0], -1).double()
    c = den.centres
    lab = den.classify(x)
    freq = torch.bincount(lab, minlength=len(weights)).double() / x.shape[0]
    mean = weights @ c
    second = (weights[:, None, None] * c[:, :, None] * c[:, None, :]).sum(0) + std**2 * torch.eye(c.shape[1])
    cov = second - mean[:, None] * mean[None, :]
    res = xf - c[lab]
    return {
        "w_tv": 0.5 * (freq - weights).abs().sum().item(),
        "mean": (xf.mean(0) - mean).abs().max().item(),
        "cov": ((torch.cov(xf.T) - cov).norm() / cov.norm()).item(),
        "var": abs(res.var().item() / std**2 - 1.0),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer step counts (smoke run)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    steps = [8, 32, 128] if args.quick else [8, 16, 32, 64, 128, 256, 512]
    euler_extra = [] if args.quick else [1024, 2048]  # so that Euler reaches the targets and ratios exist
    tols = [1e-2, 1e-4] if args.quick else [1e-2, 3e-3, 1e-3, 3e-4, 1e-4, 1e-5]

    print(
        f"torch {torch.__version__}, threads={torch.get_num_threads()}, "
        f"MALLOC_MMAP_MAX_={os.environ.get('MALLOC_MMAP_MAX_', 'unset')}, "
        f"MALLOC_TRIM_THRESHOLD_={os.environ.get('MALLOC_TRIM_THRESHOLD_', 'unset')}"
    )
    proc = get_process("edm")
    g = torch.Generator().manual_seed(0)
    # ode problem (float64 so that the error is the discretisation error)
    mu = torch.randn(1, 64, 3, generator=g, dtype=torch.float64)
    den_ode = GaussianMixtureDenoiser(mu, 0.5)
    xT_ode = proc.prior((32, 64, 3), torch.Generator().manual_seed(1), dtype=torch.float64)
    ref = gaussian_flow(xT_ode, proc.sigma_max, 0.0, mu[0], 0.5)
    # mixture problem (float32, as a model would run)
    weights = torch.tensor([0.4, 0.3, 0.2, 0.1], dtype=torch.float64)
    std = 0.2
    den_mix = GaussianMixtureDenoiser(torch.randn(4, 16, 3, generator=g, dtype=torch.float64), std, weights)
    xT_mix = proc.prior((1000, 16, 3), torch.Generator().manual_seed(2))

    runs = [
        (name, n, opts)
        for name, opts in SAMPLERS.items()
        for n in steps + (euler_extra if name == "euler" else [])
    ]
    runs += [("adaptive", tol, {"rtol": tol, "atol": tol}) for tol in tols]
    header = (
        f"{'sampler':<15} {'steps/tol':>9} {'NFE':>5} {'ode_nfe':>7} {'ode_rms':>9} "
        f"{'w_tv':>7} {'mean':>7} {'cov':>7} {'var':>7} {'ms/run':>7}"
    )
    print(header)
    print("-" * len(header))
    y, _ = den_mix.sample(xT_mix.shape[0], torch.Generator().manual_seed(4))
    e = mixture_errors(y, den_mix, weights, std)
    cols = f"{e['w_tv']:>7.3f} {e['mean']:>7.3f} {e['cov']:>7.3f} {e['var']:>7.3f}"
    print(f"{'exact draws':<15} {'-':>9} {'-':>5} {'-':>7} {'-':>9} {cols} {'-':>7}")
    reached: dict[str, dict[float, int]] = {}
    for name, n, opts in runs:
        sig = get_schedule("karras", 2 if name == "adaptive" else n, proc.sigma_min, proc.sigma_max)
        ode, ode_nfe = "-", "-"
        if name in DETERMINISTIC:
            r = sample(name, den_ode, xT_ode, sig, **opts)
            rms = (r.x - ref).square().mean().sqrt().item()
            ode, ode_nfe = f"{rms:.2e}", str(r.nfe)
            for target in TARGETS:
                if rms <= target:
                    best = reached.setdefault(name, {})
                    best[target] = min(best.get(target, 10**9), r.nfe)
        t0 = time.perf_counter()
        r = sample(name, den_mix, xT_mix, sig, generator=torch.Generator().manual_seed(3), **opts)
        ms = 1e3 * (time.perf_counter() - t0)
        e = mixture_errors(r.x, den_mix, weights, std)
        label = f"{n:g}" if name == "adaptive" else str(n)
        cols = f"{e['w_tv']:>7.3f} {e['mean']:>7.3f} {e['cov']:>7.3f} {e['var']:>7.3f}"
        print(f"{name:<15} {label:>9} {r.nfe:>5} {ode_nfe:>7} {ode:>9} {cols} {ms:>7.0f}")

    print()
    print("NFE to reach ode_rms <= target (ratio to Euler in this run; '>grid' = not reached on the grid)")
    print(f"{'sampler':<15} " + " ".join(f"{f'NFE@{t:g}':>10} {'ratio':>6}" for t in TARGETS))
    for name in ("euler", "heun", "dpmpp_2m", "adaptive"):
        cells = []
        for t in TARGETS:
            nfe = reached.get(name, {}).get(t)
            base = reached.get("euler", {}).get(t)
            cells.append(
                f"{nfe if nfe else '>grid':>10} " + (f"{nfe / base:>6.2f}" if nfe and base else f"{'-':>6}")
            )
        print(f"{name:<15} " + " ".join(cells))


if __name__ == "__main__":
    main()
