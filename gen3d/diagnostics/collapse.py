"""The collapse scan: along generated trajectories, the share whose denoised estimate D(x; sigma) is a
near-copy of one training shape, against a held-out null of the same size (note §2).

A shape is a near-copy of a reference set when ``d1 / d2 < 1/3`` (nearest over second-nearest set distance,
:mod:`gen3d.diagnostics.distances`). ``P_snap(sigma)`` is that share at each step of the sampler; the same
statistic against a held-out set of the same size is the null (a generalising model scores alike on both; a
memorising one snaps onto the training set only). ``sigma_C`` is where ``P_snap`` vs the training set rises
through 1/2 for good, read from the final samples up (None: the final share is below 1/2, the expected
result for a model that generalises; a large-sigma snap of the mean shape onto a reference is ignored); the
per-trajectory onset is the sigma from which the trajectory stays snapped onto the same training shape until
the end (Biroli et al.'s "last change of the nearest training image", read only together with the ratio
rule, as the note's toys show). The final near-copy fraction is measured against the whole training set too.

The scan rides on ordinary sampling (the model's own ODE/SDE sampler), so it describes the sampler as well as
the model (note §2, sampler caveat). It works for every process (no Gaussian identity is used).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from gen3d.diagnostics.common import SNAP_RATIO, Meter, batches, full_cond
from gen3d.diagnostics.distances import nearest_two

__all__ = ["CollapseScan", "collapse_scan", "near_copy_ratios"]


@dataclass
class CollapseScan:
    """Per sampler step (sigmas decreasing, the last one 0 for the final samples): ``p_snap_train`` and
    ``p_snap_null``; ``final_*`` ratios (S,) of the samples against the equal-size training subset, the null
    and the whole training set; ``data_ratio`` the held-out shapes' own ratios against the training subset
    (how copy-like unseen real shapes look); ``onset`` per-trajectory snap onsets (NaN: not snapped)."""

    sigmas: list[float]
    p_snap_train: list[float]
    p_snap_null: list[float]
    sigma_C: float | None
    near_copy_fraction: float
    near_copy_fraction_null: float
    near_copy_fraction_full_train: float
    final_ratio_train: list[float]
    final_ratio_null: list[float]
    final_ratio_full_train: list[float]
    data_ratio: list[float]
    onset: list[float]
    n_samples: int
    n_ref: int
    n_train: int
    nfe: int
    sampler: str
    steps: int
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def near_copy_ratios(queries: torch.Tensor, refs: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """``(d1 / d2, nearest index)`` of queries (A, ...) against refs (B, ...), each (A,)."""
    d1, d2, idx = nearest_two(queries, refs)
    return d1 / np.maximum(d2, 1e-300), idx


def _onsets(sigmas: list[float], ratios: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Per trajectory: sigma of the first step from which ratio < 1/3 holds with the same nearest shape to the
    end; NaN if the final step is not snapped. ratios, idx (T, S)."""
    T, S = ratios.shape
    out = np.full(S, np.nan)
    for j in range(S):
        if not ratios[-1, j] < SNAP_RATIO:
            continue
        i = T - 1
        while i > 0 and ratios[i - 1, j] < SNAP_RATIO and idx[i - 1, j] == idx[-1, j]:
            i -= 1
        out[j] = sigmas[i]
    return out


def _snapped_from(sigmas: list[float], p: list[float], level: float = 0.5) -> float | None:
    """The sigma above which ``p`` (read from the final step up) first drops below ``level``: the onset of
    the snapped regime that lasts to the end, interpolated in ln sigma. None when the final share is below the
    level; 0.0 when only the final samples reach it. Reading from the end ignores a spurious large-sigma
    snap (the mean shape close to one reference shape)."""
    if p[-1] < level:
        return None
    j = len(p) - 1
    while j > 0 and p[j - 1] >= level:
        j -= 1
    if j == 0:
        return float(sigmas[0])
    if sigmas[j] <= 0:
        return 0.0
    lo, hi = sigmas[j], sigmas[j - 1]  # p[j] >= level > p[j - 1]
    t = (p[j] - level) / (p[j] - p[j - 1])
    return math.exp(math.log(lo) + t * (math.log(hi) - math.log(lo)))


def collapse_scan(
    denoiser,
    process,
    train: torch.Tensor,
    heldout: torch.Tensor,
    *,
    n_samples: int = 32,
    sampler: str = "heun",
    steps: int = 18,
    schedule: str = "karras",
    rho: float = 7.0,
    sigmas: list[float] | None = None,
    sampler_options: dict | None = None,
    generator: torch.Generator | None = None,
    cond_label: int | None = None,
    batch_size: int = 32,
    ref_size: int | None = None,
    meter: Meter | None = None,
) -> CollapseScan:
    """Generate ``n_samples`` shapes with ``sampler`` on the ``schedule`` grid of the process's sigma range
    and scan their denoised estimates against ``ref_size`` training shapes (default: as many as the held-out
    set ``heldout``, the null) chosen with ``generator``. train (N, ...), heldout (M, ...)."""
    from gen3d.samplers import get_schedule, sample

    if train.shape[0] < 2 or heldout.shape[0] < 2:
        raise ValueError("the collapse scan needs at least 2 training and 2 held-out shapes")
    meter = meter or Meter()
    nfe0 = meter.nfe
    n_ref = min(train.shape[0], heldout.shape[0], ref_size or heldout.shape[0])
    pick = torch.randperm(train.shape[0], generator=generator)[:n_ref]
    train_ref = train[pick]
    null_ref = heldout[torch.randperm(heldout.shape[0], generator=generator)[:n_ref]]
    if sigmas is None:
        grid = get_schedule(schedule, steps, process.sigma_min, process.sigma_max, rho=rho)
    else:  # an explicit grid (sampler.sigmas: a tuned schedule or a distilled student)
        from gen3d.generate import check_grid_start

        grid = torch.as_tensor([float(v) for v in sigmas], dtype=torch.float64)
        check_grid_start(grid, process)  # the prior below is drawn at process.sigma_max
    sig = [float(s) for s in grid]

    def counted(x, s, c):
        return meter(denoiser, x, s, c)

    r_train, i_train, r_null, finals = [], [], [], []
    shape = tuple(train.shape[1:])
    for sl in batches(n_samples, batch_size):
        b = sl.stop - sl.start
        states: list[torch.Tensor] = []

        def cb(i, sigma, x, x0_hat, _states=states):
            _states.append((x if x0_hat is None else x0_hat).detach().cpu().float())

        x_T = process.prior((b, *shape), generator=generator, dtype=train.dtype)
        cond = full_cond(cond_label, b)
        out = sample(
            sampler,
            counted,
            x_T,
            grid,
            cond=cond,
            generator=generator,
            callback=cb,
            **(sampler_options or {}),
        )
        if len(states) != len(sig):  # samplers emit one state per grid level; keep the last ones
            states = states[-len(sig) :]
        rt, it, rn = [], [], []
        for est in states:
            a, ia = near_copy_ratios(est, train_ref)
            rt.append(a)
            it.append(ia)
            rn.append(near_copy_ratios(est, null_ref)[0])
        r_train.append(np.stack(rt))
        i_train.append(np.stack(it))
        r_null.append(np.stack(rn))
        finals.append(out.x.detach().cpu().float())
    R_t, I_t, R_n = (np.concatenate(a, axis=1) for a in (r_train, i_train, r_null))
    final = torch.cat(finals)
    full = near_copy_ratios(final, train)[0]
    data_ratio = near_copy_ratios(null_ref, train_ref)[0]
    p_t = [float((r < SNAP_RATIO).mean()) for r in R_t]
    p_n = [float((r < SNAP_RATIO).mean()) for r in R_n]
    sigma_C = _snapped_from(sig, p_t)
    notes = [f"reference sets: {n_ref} training shapes (random subset) and {n_ref} held-out shapes"]
    return CollapseScan(
        sigmas=sig,
        p_snap_train=p_t,
        p_snap_null=p_n,
        sigma_C=sigma_C,
        near_copy_fraction=p_t[-1],
        near_copy_fraction_null=p_n[-1],
        near_copy_fraction_full_train=float((full < SNAP_RATIO).mean()),
        final_ratio_train=R_t[-1].tolist(),
        final_ratio_null=R_n[-1].tolist(),
        final_ratio_full_train=full.tolist(),
        data_ratio=data_ratio.tolist(),
        onset=_onsets(sig, R_t, I_t).tolist(),
        n_samples=int(n_samples),
        n_ref=int(n_ref),
        n_train=int(train.shape[0]),
        nfe=meter.nfe - nfe0,
        sampler=sampler,
        steps=int(steps),
        notes=notes,
    )
