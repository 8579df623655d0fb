"""The information curve: C(sigma) = E||y - D(y + n; sigma)||^2 / sigma^2 and I(sigma) = int_sigma^inf C ds/s.

Note §0 I2/I3 and §3.1. For the exact denoiser of a Gaussian-kernel process (EDM, VE, VP in the sigma frame)
``C = mmse / sigma^2 = dI / d ln(1/sigma)`` and ``I(sigma) = I(y; x_sigma)`` (I-MMSE, Guo-Shamai-Verdu); a
bump in C marks where structure is decided (speciation), its small-sigma plateau is the effective dimension,
and the entropy criterion of Biroli et al. puts collapse where ``I = ln N`` (note §2). On training and on
held-out data, the gap ``I_train - I_heldout`` is a memorisation signal.

PFGM++ (finite D): C is still the measured denoising residual (the model is trained to the posterior mean
under its own kernel), but I-MMSE is Gaussian-only: I(sigma) is then reported as the same integral of C, not
as a mutual information (``gaussian_identity=False``). A process with its own regression target (Yukawa,
``y + κ_s (x - y)``) is refused: its D is not E[y | x], so ``||y - D||^2`` is not a denoising error.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import torch

from gen3d.diagnostics.common import (
    Meter,
    batches,
    clean_target_refusal,
    crossing,
    full_cond,
    is_gaussian_kernel,
    perturb,
)
from gen3d.random import GeneratorLike

__all__ = ["InformationCurve", "information_curve", "integrate_information", "sigma_at_information"]


@dataclass
class InformationCurve:
    """One data split's curve on a decreasing sigma grid.

    ``mse[i] = E||y - D||^2`` summed over the ``dim`` coordinates of a shape; ``C = mse / sigma^2`` (I2);
    ``C_se`` its standard error over shapes; ``I`` the integral (I3) including the tail beyond ``sigmas[0]``
    (``C(sigma_max) / 2``, exact when ``C ∝ sigma^-2`` there, i.e. ``mmse`` has reached ``tr Cov y``).
    """

    split: str
    sigmas: list[float]
    mse: list[float]
    C: list[float]
    C_se: list[float]
    I: list[float]  # noqa: E741
    dim: int
    n_shapes: int
    nfe: int
    gaussian_identity: bool = True
    truncated: bool = False
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def integrate_information(sigmas: Sequence[float], C: Sequence[float]) -> list[float]:
    """``I(sigma_j) = C(sigma_0)/2 + sum_{i<j} (C_i + C_{i+1})/2 ln(sigma_i / sigma_{i+1})`` (I3, trapezoid in
    ln sigma; the first term is the tail ``int_{sigma_0}^inf C(sigma_0) sigma_0^2 / s^3 ds``)."""
    out = [0.5 * float(C[0])]
    for i in range(1, len(sigmas)):
        out.append(out[-1] + 0.5 * (C[i - 1] + C[i]) * math.log(sigmas[i - 1] / sigmas[i]))
    return out


def information_curve(
    denoiser,
    data: torch.Tensor,
    sigmas: Sequence[float],
    *,
    generator: GeneratorLike = None,
    process=None,
    cond_label: int | None = None,
    batch_size: int = 32,
    split: str = "heldout",
    meter: Meter | None = None,
) -> InformationCurve:
    """C(sigma) and I(sigma) of ``denoiser`` on ``data`` (M, ...) at ``sigmas`` (decreasing).

    One network evaluation per shape and level (M * L NFE). ``process`` supplies the kernel
    (``process.noise``; Gaussian when None). ``cond_label``: the label passed to a conditional net (its null
    label for the unconditional branch; None for an unconditional net). Stops early (``truncated``) when the
    meter's deadline passes. ValueError for a process whose denoiser is not E[y | x] (Yukawa).
    """
    reason = clean_target_refusal(process, "the information curve")
    if reason:
        raise ValueError(reason)
    sigmas = [float(s) for s in sigmas]
    if any(b >= a for a, b in zip(sigmas, sigmas[1:])):
        raise ValueError("sigmas must be strictly decreasing")
    meter = meter or Meter()
    nfe0 = meter.nfe
    dim = int(data[0].numel())
    mse, C, C_se = [], [], []
    truncated = False
    for s in sigmas:
        if meter.expired():
            truncated = True
            break
        errs = []
        for sl in batches(data.shape[0], batch_size):
            y = data[sl]
            x = perturb(y, s, generator, process)
            d = meter(denoiser, x, s, full_cond(cond_label, y.shape[0], y.device))
            errs.append((d - y).double().reshape(y.shape[0], -1).square().sum(1))
        e = torch.cat(errs)
        mse.append(float(e.mean()))
        C.append(float(e.mean()) / s**2)
        C_se.append(float(e.std()) / math.sqrt(len(e)) / s**2 if len(e) > 1 else float("nan"))
    kept = sigmas[: len(C)]
    gaussian = is_gaussian_kernel(process)
    notes = [] if gaussian else ["I-MMSE (I = mutual information) is Gaussian-only: I here is int C dln(1/s)"]
    return InformationCurve(
        split=split,
        sigmas=kept,
        mse=mse,
        C=C,
        C_se=C_se,
        I=integrate_information(kept, C) if C else [],
        dim=dim,
        n_shapes=int(data.shape[0]),
        nfe=meter.nfe - nfe0,
        gaussian_identity=gaussian,
        truncated=truncated,
        notes=notes,
    )


def sigma_at_information(curve: InformationCurve, level: float) -> float | None:
    """The sigma where I(sigma) first reaches ``level`` coming from large sigma (e.g. ``ln N``: the entropy
    criterion for collapse, note §2); None if it never does on the grid."""
    if not curve.I:
        return None
    return crossing(curve.sigmas, curve.I, level)
