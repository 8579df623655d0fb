"""The class-commitment curve phi(sigma) = E_{x ~ p_sigma} sum_c p(c | x)^2 and the speciation sigma_S.

Note §1. phi rises from the floor ``sum_c pi_c^2`` (no information; 1/2 for two balanced classes) at large
sigma to 1 as sigma -> 0. The normalised commitment is ``kappa = (phi - floor) / (1 - floor)``. sigma_S is
where phi crosses 0.7752 for two classes (exact at the curvature transition of two Gaussian classes), or
where kappa crosses 1/2 for K > 2 (a convention). Two routes:

* **posterior** (:func:`posterior_commitment`): a class-conditional net trained with an unconditional branch
  gives ``p(c | x)`` from K + 1 calls by I4, ``D(x; sigma, null) = sum_c p(c|x) D(x; sigma, c)``, solved as
  least squares on the simplex. I4 is the law of total expectation: it holds for PFGM++ too, and for Yukawa
  (of its own target ``y + κ_s (x - y)``, whose class-conditional means mix the same way). Cost
  M * L * (K + 1) NFE.
* **U-turn** (:func:`uturn_commitment`): noise a labelled shape to sigma, regenerate it with the model's
  ancestral reverse SDE, classify the result; the retention equals phi for an exact model (I1, Gaussian
  kernel only: for PFGM++ the Gaussian SDE step is an approximation). Works for any model that regresses the
  clean shape (refused for Yukawa, whose D is not E[y | x]); for unlabelled data the labels are clusters of
  the training set (:mod:`gen3d.diagnostics.clusters`). Cost about M * L * steps.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import torch

from gen3d.diagnostics.common import (
    Meter,
    batches,
    clean_target_refusal,
    commitment_threshold,
    crossing,
    full_cond,
    is_gaussian_kernel,
    perturb,
)
from gen3d.random import GeneratorLike, randn

__all__ = [
    "CommitmentCurve",
    "ancestral_regenerate",
    "class_posterior",
    "posterior_commitment",
    "simplex_lstsq",
    "speciation_sigma",
    "uturn_commitment",
]


@dataclass
class CommitmentCurve:
    """phi and kappa on a decreasing sigma grid, the floor ``sum pi^2``, the estimated ``sigma_S`` (None: no
    crossing on the grid) and the threshold it used (``"kappa"``, value)."""

    route: str
    sigmas: list[float]
    phi: list[float]
    phi_se: list[float]
    kappa: list[float]
    floor: float
    num_classes: int
    sigma_S: float | None
    threshold: tuple[str, float]
    n_shapes: int
    nfe: int
    residual: list[float] = field(default_factory=list)
    truncated: bool = False
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def class_floor(labels: torch.Tensor, num_classes: int) -> float:
    """``sum_c pi_c^2`` with ``pi`` the label shares of ``labels`` (M,)."""
    pi = torch.bincount(labels.long(), minlength=num_classes).double()
    pi = pi / pi.sum()
    return float((pi**2).sum())


def speciation_sigma(
    sigmas: Sequence[float], phi: Sequence[float], floor: float, num_classes: int
) -> tuple[float | None, list[float], tuple[str, float]]:
    """``(sigma_S, kappa, threshold)``: kappa = (phi - floor)/(1 - floor), sigma_S where it crosses the
    threshold of :func:`gen3d.diagnostics.common.commitment_threshold` coming from large sigma."""
    kappa = [(p - floor) / (1.0 - floor) for p in phi]
    thr = commitment_threshold(num_classes, floor)
    return (crossing(list(sigmas), kappa, thr[1]) if kappa else None), kappa, thr


def _project_simplex(v: torch.Tensor) -> torch.Tensor:
    """Euclidean projection of each row of v (B, K) onto the probability simplex (Duchi et al. 2008)."""
    u, _ = torch.sort(v, dim=1, descending=True)
    css = u.cumsum(1) - 1.0
    k = torch.arange(1, v.shape[1] + 1, dtype=v.dtype, device=v.device)
    rho = ((u - css / k) > 0).to(v.dtype).cumsum(1).argmax(1, keepdim=True)
    theta = css.gather(1, rho) / (rho + 1).to(v.dtype)
    return (v - theta).clamp_min(0.0)


def simplex_lstsq(A: torch.Tensor, b: torch.Tensor, iters: int = 500) -> tuple[torch.Tensor, torch.Tensor]:
    """``argmin_{p in simplex} ||b - sum_c p_c A_c||^2`` per sample: A (B, K, n), b (B, n) -> p (B, K), and
    the relative residual (B,) ``||b - p A||^2 / ||b - mean_c A_c||^2``. Float64, accelerated projected
    gradient (FISTA) started from the equality-constrained solution."""
    A, b = A.double(), b.double()
    B, K, _ = A.shape
    G = A @ A.transpose(1, 2)  # (B, K, K)
    h = (A @ b[:, :, None])[:, :, 0]  # (B, K)
    # equality-constrained start: eliminate p_K = 1 - sum_{c<K} p_c
    if K > 1:
        dA = A[:, :-1] - A[:, -1:]
        Gr = dA @ dA.transpose(1, 2) + 1e-12 * torch.eye(K - 1, dtype=A.dtype, device=A.device)
        hr = (dA @ (b - A[:, -1])[:, :, None])[:, :, 0]
        q = torch.linalg.solve(Gr, hr)
        p = torch.cat([q, 1.0 - q.sum(1, keepdim=True)], 1)
    else:
        p = torch.ones(B, 1, dtype=A.dtype, device=A.device)
    # a feasible equality-constrained minimiser is the optimum; only the other rows need the iterations
    bad = (p < 0).any(1)
    if bool(bad.any()):
        p[bad] = _fista(G[bad], h[bad], _project_simplex(p[bad]), iters)
    res = (b - (p[:, :, None] * A).sum(1)).square().sum(1)
    base = (b - A.mean(1)).square().sum(1).clamp_min(1e-300)
    return p, res / base


def _fista(G: torch.Tensor, h: torch.Tensor, p: torch.Tensor, iters: int) -> torch.Tensor:
    """Accelerated projected gradient on ``p^T G p - 2 h^T p`` over the simplex; G (B, K, K), h, p (B, K)."""
    step = 1.0 / (2.0 * torch.linalg.eigvalsh(G)[:, -1:].clamp_min(1e-300))
    z, t = p.clone(), 1.0
    for _ in range(iters):
        grad = 2.0 * ((G @ z[:, :, None])[:, :, 0] - h)
        p_new = _project_simplex(z - step * grad)
        t_new = (1.0 + (1.0 + 4.0 * t * t) ** 0.5) / 2.0
        z = p_new + ((t - 1.0) / t_new) * (p_new - p)
        p, t = p_new, t_new
    return p


def class_posterior(
    denoiser, x: torch.Tensor, sigma: float, num_classes: int, meter: Meter
) -> tuple[torch.Tensor, torch.Tensor]:
    """``p(c | x)`` (B, K) from K + 1 calls (I4; the null label is ``num_classes``) and the relative residual
    (B,) of the simplex fit. x (B, ...)."""
    B = x.shape[0]
    conds = [full_cond(c, B, x.device) for c in range(num_classes + 1)]
    outs = [meter(denoiser, x, sigma, c).reshape(B, -1) for c in conds]
    return simplex_lstsq(torch.stack(outs[:-1], 1), outs[-1])


def posterior_commitment(
    denoiser,
    data: torch.Tensor,
    labels: torch.Tensor,
    sigmas: Sequence[float],
    num_classes: int,
    *,
    generator: GeneratorLike = None,
    process=None,
    batch_size: int = 32,
    meter: Meter | None = None,
) -> CommitmentCurve:
    """phi(sigma) by the posterior route: data (M, ...) with labels (M,) in [0, K) (only their shares enter,
    through the floor), x = y + kernel noise, phi = mean sum_c p(c|x)^2."""
    if num_classes < 2:
        raise ValueError("the posterior route needs a class-conditional model with at least 2 classes")
    meter = meter or Meter()
    nfe0 = meter.nfe
    phi, se, resid = [], [], []
    truncated = False
    for s in sigmas:
        if meter.expired():
            truncated = True
            break
        vals, rs = [], []
        for sl in batches(data.shape[0], batch_size):
            x = perturb(data[sl], s, generator, process)
            p, r = class_posterior(denoiser, x, s, num_classes, meter)
            vals.append((p**2).sum(1))
            rs.append(r)
        v = torch.cat(vals)
        phi.append(float(v.mean()))
        se.append(float(v.std() / len(v) ** 0.5) if len(v) > 1 else float("nan"))
        resid.append(float(torch.cat(rs).median()))
    floor = class_floor(labels, num_classes)
    kept = [float(s) for s in sigmas[: len(phi)]]
    sigma_S, kappa, thr = speciation_sigma(kept, phi, floor, num_classes)
    notes = [] if is_gaussian_kernel(process) else ["I4 holds for any kernel (law of total expectation)"]
    return CommitmentCurve(
        "posterior",
        kept,
        phi,
        se,
        kappa,
        floor,
        num_classes,
        sigma_S,
        thr,
        int(data.shape[0]),
        meter.nfe - nfe0,
        resid,
        truncated,
        notes,
    )


def ancestral_regenerate(
    denoiser,
    x: torch.Tensor,
    sigmas: Sequence[float],
    *,
    generator: GeneratorLike = None,
    cond=None,
    meter: Meter,
) -> torch.Tensor:
    """Reverse SDE by ancestral steps (note §0): ``x' = r x + (1 - r) D(x; s) + s' sqrt(1 - r) xi``,
    ``r = s'^2 / s^2``, along ``sigmas`` (decreasing, ending in 0; the last step returns D). x (B, ...)."""
    for s, s_next in zip(sigmas[:-1], sigmas[1:]):
        d = meter(denoiser, x, s, cond)
        if s_next <= 0:
            return d
        r = (s_next / s) ** 2
        xi = randn(tuple(x.shape), generator, device=x.device, dtype=x.dtype)
        x = r * x + (1.0 - r) * d + s_next * (1.0 - r) ** 0.5 * xi
    return x


def uturn_commitment(
    denoiser,
    data: torch.Tensor,
    labels: torch.Tensor,
    classify: Callable[[torch.Tensor], torch.Tensor],
    sigmas: Sequence[float],
    num_classes: int,
    *,
    steps: int = 16,
    sigma_min: float = 0.002,
    rho: float = 7.0,
    generator: GeneratorLike = None,
    process=None,
    cond_label: int | None = None,
    batch_size: int = 32,
    meter: Meter | None = None,
) -> CommitmentCurve:
    """Retention of the label after a U-turn at each sigma: data (M, ...), labels (M,), ``classify(shapes (B,
    ...)) -> (B,)`` labels; regeneration with ``steps`` ancestral steps on a Karras grid from sigma to
    ``sigma_min`` then 0 (at most sigma / 10 for the lowest levels). ``cond_label``: the null label of a
    conditional net (None: unconditional). ValueError for a process whose denoiser is not E[y | x] (Yukawa):
    the ancestral step needs it."""
    from gen3d.samplers import get_schedule

    reason = clean_target_refusal(process, "the U-turn route (ancestral steps)")
    if reason:
        raise ValueError(reason)

    meter = meter or Meter()
    nfe0 = meter.nfe
    phi, se = [], []
    truncated = False
    for s in sigmas:
        if meter.expired():
            truncated = True
            break
        lo = min(sigma_min, s / 10.0)
        grid = [float(v) for v in get_schedule("karras", steps, lo, float(s), rho=rho)]
        kept = []
        for sl in batches(data.shape[0], batch_size):
            y, c = data[sl], labels[sl]
            x = perturb(y, s, generator, process)
            cond = full_cond(cond_label, y.shape[0], y.device)
            out = ancestral_regenerate(denoiser, x, grid, generator=generator, cond=cond, meter=meter)
            kept.append((classify(out).to(c.device) == c).double())
        k = torch.cat(kept)
        phi.append(float(k.mean()))
        se.append(float(k.std() / len(k) ** 0.5) if len(k) > 1 else float("nan"))
    floor = class_floor(labels, num_classes)
    grid_kept = [float(s) for s in sigmas[: len(phi)]]
    sigma_S, kappa, thr = speciation_sigma(grid_kept, phi, floor, num_classes)
    notes = [f"ancestral SDE, {steps} steps per U-turn"]
    if not is_gaussian_kernel(process):
        notes.append("I1 (retention = phi) is Gaussian-kernel only: for this process it is an approximation")
    return CommitmentCurve(
        "uturn",
        grid_kept,
        phi,
        se,
        kappa,
        floor,
        num_classes,
        sigma_S,
        thr,
        int(data.shape[0]),
        meter.nfe - nfe0,
        [],
        truncated,
        notes,
    )
