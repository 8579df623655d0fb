"""Shared pieces of the diagnostics: thresholds, sigma grids, curve crossings, a counting denoiser call.

Equation numbers and section signs refer to the design note ``physics/phase-diagnostics.md``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import torch

from gen3d.random import GeneratorLike, randn

__all__ = [
    "PHI_S_TWO_CLASS",
    "KAPPA_S",
    "SNAP_RATIO",
    "Meter",
    "commitment_threshold",
    "clean_target_refusal",
    "crossing",
    "gaussian_kernel",
    "is_gaussian_kernel",
    "regresses_clean_shape",
    "log_sigma_grid",
    "perturb",
]

#: phi at the speciation sigma for two balanced classes: g(1) = E_z[sig(2 + 2z)^2 + sig(-2 - 2z)^2] (note §1,
#: the curvature transition r = 1; Biroli et al.'s 0.7753 line). NOT 1/2: 1/2 is the no-information floor.
PHI_S_TWO_CLASS = 0.7752
#: Normalised commitment kappa = (phi - sum pi^2) / (1 - sum pi^2) at speciation for K > 2 classes (note §1
#: (ii); a convention, calibrated only for K = 2 where it falls at 1.08 sigma_S).
KAPPA_S = 0.5
#: Near-copy rule: nearest / second-nearest distance below 1/3 (note §2, after Gu et al.'s mem_ratio.py).
SNAP_RATIO = 1.0 / 3.0


def commitment_threshold(num_classes: int, floor: float) -> tuple[str, float]:
    """``("phi", 0.7752)`` for two classes (calibrated), else ``("kappa", 0.5)`` (convention); a two-class
    threshold on phi is mapped to kappa with the actual floor ``sum pi^2`` when the classes are unbalanced."""
    if num_classes == 2:
        return "kappa", (PHI_S_TWO_CLASS - 0.5) / 0.5
    return "kappa", KAPPA_S


def log_sigma_grid(sigma_lo: float, sigma_hi: float, n: int) -> list[float]:
    """``n`` noise levels log-spaced from ``sigma_hi`` down to ``sigma_lo`` (decreasing, floats)."""
    if not (0 < sigma_lo < sigma_hi) or n < 2:
        raise ValueError(f"need 0 < sigma_lo < sigma_hi and n >= 2, got {sigma_lo}, {sigma_hi}, {n}")
    a, b = math.log(sigma_hi), math.log(sigma_lo)
    return [math.exp(a + (b - a) * i / (n - 1)) for i in range(n)]


def crossing(sigmas: Sequence[float], values: Sequence[float], level: float) -> float | None:
    """The largest sigma at which a curve, scanned from large to small sigma, first reaches ``level``.

    ``sigmas`` decreasing, ``values`` the curve there (rising as sigma falls: phi, kappa, P_snap, I).
    Linear interpolation in ``ln sigma``; None when the curve never reaches the level; ``sigmas[0]`` when it
    starts above it.
    """
    if len(sigmas) != len(values) or len(sigmas) == 0:
        raise ValueError("sigmas and values must have the same non-zero length")
    if values[0] >= level:
        return float(sigmas[0])
    for i in range(1, len(sigmas)):
        v0, v1 = values[i - 1], values[i]
        if v1 >= level:
            t = (level - v0) / (v1 - v0) if v1 != v0 else 1.0
            la, lb = math.log(sigmas[i - 1]), math.log(sigmas[i])
            return math.exp(la + t * (lb - la))
    return None


def gaussian_kernel(
    shape: tuple[int, ...], sigma: torch.Tensor, generator: GeneratorLike, device=None, dtype=None
) -> torch.Tensor:
    """EDM/VE perturbation ``sigma * N(0, I)``: ``shape = (B, ...)``, ``sigma (B,)``."""
    eps = randn(shape, generator, device=device, dtype=dtype)
    return sigma.to(eps).reshape(-1, *([1] * (len(shape) - 1))) * eps


def is_gaussian_kernel(process) -> bool:
    """True when ``process`` (None: a toy) perturbs with the Gaussian kernel ``sigma N(0, I)`` and regresses
    the clean shape (EDM, VE, VP): the identities I1-I3, I5, I6 of the note hold. False for PFGM++ with
    finite D and for Yukawa (its own kernel and target)."""
    if process is None:
        return True
    from gen3d.processes.base import Process

    return (
        type(process).noise is Process.noise
        and type(process).perturb_with_target is Process.perturb_with_target
    )


def regresses_clean_shape(process) -> bool:
    """True when ``process`` (None: a toy) trains its denoiser on the clean shape, ``D ≈ E[y | x]`` (EDM, VE,
    VP, PFGM++); False for a process with its own regression target (Yukawa: ``y + κ_s (x - y)``)."""
    if process is None:
        return True
    from gen3d.processes.base import Process

    return type(process).perturb_with_target is Process.perturb_with_target


def clean_target_refusal(process, estimator: str) -> str | None:
    """None when ``estimator`` (a phrase, e.g. "the information curve") applies to ``process``; else the
    one-line reason it does not: the estimator reads ``D`` as the posterior mean ``E[y | x]`` of the clean
    shape, which a process with its own regression target does not learn."""
    if regresses_clean_shape(process):
        return None
    return (
        f"{estimator} reads D(x; sigma) as E[y | x], but {process.name} regresses its own target "
        "(not the clean shape), so it does not apply to this process"
    )


def perturb(y: torch.Tensor, sigma: float, generator: GeneratorLike, process=None) -> torch.Tensor:
    """``x = y + n``, ``n`` from the process's kernel (``process.noise``; Gaussian when None). y (B, ...)."""
    s = torch.full((y.shape[0],), float(sigma), dtype=torch.float64, device=y.device)
    noise = process.noise if process is not None else gaussian_kernel
    return y + noise(tuple(y.shape), s, generator, device=y.device, dtype=y.dtype)


class Meter:
    """Counts network evaluations (one per shape passed through the denoiser) and keeps an optional deadline.

    ``meter(denoiser, x (B, ...), sigma float | (B,), cond) -> D (B, ...)`` under ``torch.no_grad``.
    ``expired()`` is True once ``minutes`` have passed since construction (None: never); the estimators
    check it between noise levels and stop early, marking their result ``truncated``.
    """

    def __init__(self, minutes: float | None = None, progress=None) -> None:
        self.nfe = 0
        self.t0 = time.monotonic()
        self.deadline = None if minutes is None else self.t0 + 60.0 * float(minutes)
        self.progress = progress

    def __call__(self, denoiser, x: torch.Tensor, sigma, cond=None) -> torch.Tensor:
        s = sigma if isinstance(sigma, torch.Tensor) else torch.full((x.shape[0],), float(sigma))
        s = s.to(device=x.device, dtype=x.dtype)
        with torch.no_grad():
            out = denoiser(x, s, cond)
        self.nfe += int(x.shape[0])
        if self.progress is not None:
            self.progress.update(int(x.shape[0]))
        return out

    def expired(self) -> bool:
        return self.deadline is not None and time.monotonic() > self.deadline

    def minutes(self) -> float:
        return (time.monotonic() - self.t0) / 60.0


def batches(n: int, size: int):
    """Index slices covering ``range(n)`` in chunks of ``size``."""
    for a in range(0, n, size):
        yield slice(a, min(n, a + size))


def full_cond(label: int | None, batch: int, device=None) -> torch.Tensor | None:
    """``(B,) int64`` filled with ``label`` (None -> None: an unconditional model)."""
    if label is None:
        return None
    return torch.full((batch,), int(label), dtype=torch.int64, device=device)
