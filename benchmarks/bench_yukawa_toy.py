"""The death term of the Yukawa process on a toy with a known answer: two points weighted 0.8 / 0.2.

Usage: ``python benchmarks/bench_yukawa_toy.py [--particles 1000] [--steps 50] [--seeds 4]``

With exact fields (``gen3d.analytic.YukawaDiracMixture``: n = 2, m = 1, points 3 apart), particles start
from the exact normalised mixture at ``T = 30`` and run EDM's Heun sampler (Karras grid in t down to 1e-3,
then 0). Printed per treatment of the death term: the share of samples on the heavier point (target 0.800)
with its binomial standard error, and for the importance-weighted naive flow the effective sample size of the
weights.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import torch

from gen3d.analytic.yukawa import YukawaDiracMixture
from gen3d.samplers import get_schedule, heun


def run(mix, kind, x_T, sig, keep_states=False):
    states = {}

    def keep(i, s, x, x0):
        if keep_states and s > 0:
            states[i] = (s, x.numpy().copy())

    x = heun(mix.denoiser(kind), x_T.clone(), sig, callback=keep).x.numpy()
    on_heavy = np.linalg.norm(x - mix.y[0], axis=1) < np.linalg.norm(x - mix.y[1], axis=1)
    return on_heavy, states


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--particles", type=int, default=1000)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--seeds", type=int, default=4)
    args = ap.parse_args()
    mix = YukawaDiracMixture(np.array([[0.0, 0.0], [3.0, 0.0]]), [0.8, 0.2], m=1.0)
    T = 30.0
    sig = get_schedule("karras", args.steps, 1e-3, T, rho=7.0)
    se = math.sqrt(0.8 * 0.2 / args.particles)
    print(
        f"# n = 2, m = 1, weights 0.8 / 0.2, {args.particles} particles, Heun {args.steps} steps; "
        f"binomial s.e. {se:.3f}"
    )
    print("| seed | conservative target | naive field | naive + death-rate weights | weights' ESS / P | s |")
    print("|---|---|---|---|---|---|")
    for seed in range(args.seeds):
        t0 = time.perf_counter()
        rng = np.random.default_rng(seed)
        x_T = torch.tensor(mix.sample_kernel(rng.choice(2, size=args.particles, p=mix.pi), T, rng))
        cons, _ = run(mix, "conservative", x_T, sig)
        naive, states = run(mix, "naive", x_T, sig, keep_states=True)
        times = np.array([states[i][0] for i in sorted(states)])
        logw = mix.death_log_weights(times, [states[i][1] for i in sorted(states)])
        w = np.exp(logw - logw.max())
        weighted = float((w * naive).sum() / w.sum())
        ess = float(w.sum() ** 2 / (w**2).sum() / args.particles)
        print(
            f"| {seed} | {cons.mean():.3f} | {naive.mean():.3f} | {weighted:.3f} | {ess:.3f} | "
            f"{time.perf_counter() - t0:.1f} |"
        )


if __name__ == "__main__":
    main()
