"""One diagnosis of a trained model: every requested diagnostic on its training and held-out shapes, as one
JSON-ready dict (what ``gen3d diagnose`` writes). Library code: explicit arguments, no argparse, no files."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import torch

from gen3d.diagnostics.clusters import NearestLabel, embed, kmeans
from gen3d.diagnostics.collapse import collapse_scan
from gen3d.diagnostics.commitment import posterior_commitment, uturn_commitment
from gen3d.diagnostics.common import (
    Meter,
    clean_target_refusal,
    is_gaussian_kernel,
    log_sigma_grid,
    regresses_clean_shape,
)
from gen3d.diagnostics.data import ShapeSets
from gen3d.diagnostics.information import information_curve, sigma_at_information
from gen3d.diagnostics.likelihood import pf_ode_log_likelihood
from gen3d.diagnostics.plan import WHAT, Plan
from gen3d.diagnostics.report import applies

__all__ = ["diagnose", "inapplicable", "sampler_nfe"]


def sampler_nfe(name: str, steps: int) -> int:
    """Network evaluations per sample of a fixed-grid sampler (the adaptive one: a guess, 2 per step)."""
    return (
        2 * steps - 1 if name in ("heun", "edm_stochastic") else (steps if name != "adaptive" else 2 * steps)
    )


def inapplicable(what: tuple[str, ...], process, route: str, sample_shape) -> dict[str, str]:
    """``{estimator: reason}`` for the estimators in ``what`` that do not apply to ``process``: the
    information curve and the U-turn route need ``D = E[y | x]`` (not Yukawa's own target); the likelihood
    needs an exact prior density (every registered process has one). ``sample_shape``: one shape's."""
    out = {}
    reason = clean_target_refusal(process, "the information curve")
    if "info" in what and reason:
        out["info"] = reason
    reason = clean_target_refusal(process, "the U-turn route (ancestral steps)")
    if "commitment" in what and route in ("auto", "uturn") and reason:
        out["commitment"] = reason + "; a class-conditional model can use --route posterior (I4)"
    if "likelihood" in what and process is not None:
        try:
            process.prior_log_density(torch.zeros((1, *sample_shape), dtype=torch.float64))
        except NotImplementedError as e:
            out["likelihood"] = str(e)
    return out


def _stage(name: str, meter: Meter, log: Callable[[str], None], fn):
    log(f"diagnose: {name} ...")
    t, n = time.monotonic(), meter.nfe
    out = fn()
    cost = {"nfe": meter.nfe - n, "seconds": round(time.monotonic() - t, 2)}
    log(f"diagnose: {name} done ({cost['nfe']} NFE, {cost['seconds']:.0f} s)")
    return out, cost


def _info(denoiser, process, sets: ShapeSets, plan: Plan, gen, meter, null_label, batch_size) -> dict:
    sig = log_sigma_grid(plan.sigma_lo, plan.sigma_hi, plan.info_levels)
    kw = dict(generator=gen, process=process, cond_label=null_label, batch_size=batch_size, meter=meter)
    held = information_curve(denoiser, sets.heldout[: plan.info_shapes], sig, split="heldout", **kw)
    train = information_curve(denoiser, sets.train[: plan.info_shapes], sig, split="train", **kw)
    ln_n = math.log(sets.train.shape[0])
    n = min(len(train.I), len(held.I))
    return {
        "heldout": held.to_dict(),
        "train": train.to_dict(),
        "gap_I_train_minus_heldout": [a - b for a, b in zip(train.I[:n], held.I[:n])],
        "ln_N": ln_n,
        "sigma_C_entropy": sigma_at_information(held, ln_n),
        "notes": [
            "sigma_C_entropy: where I_heldout reaches ln N (Biroli et al.'s entropy criterion, note §2); "
            "ill-conditioned for point clouds resampled every epoch (note §6), read the collapse scan instead"
        ],
    }


def _commitment(denoiser, process, sets, plan, gen, meter, num_classes, route, clusters, batch_size) -> dict:
    lo, hi = max(plan.sigma_lo, 0.01), min(plan.sigma_hi, 5.0)
    sig = log_sigma_grid(lo, hi, plan.commit_levels)
    held = sets.heldout[: plan.commit_shapes]
    if route == "posterior":
        curve = posterior_commitment(
            denoiser,
            held,
            sets.heldout_labels[: plan.commit_shapes],
            sig,
            num_classes,
            generator=gen,
            process=process,
            batch_size=batch_size,
            meter=meter,
        )
        return {"route": "posterior", "classes": sets.class_names, **curve.to_dict()}
    if num_classes >= 2:
        labels, k, names = sets.train_labels, num_classes, sets.class_names
        null = num_classes
    else:
        labels = kmeans(embed(sets.train), clusters, gen)
        k, names, null = clusters, [f"cluster {i}" for i in range(clusters)], None
    classify = NearestLabel(sets.train, labels, gen)
    held_labels = classify(held)
    curve = uturn_commitment(
        denoiser,
        held,
        held_labels,
        classify,
        sig,
        k,
        steps=plan.uturn_steps,
        sigma_min=process.sigma_min,
        generator=gen,
        process=process,
        cond_label=null,
        batch_size=batch_size,
        meter=meter,
    )
    sizes = torch.bincount(labels, minlength=k).tolist()
    return {"route": "uturn", "classes": names, "train_class_sizes": sizes, **curve.to_dict()}


def _collapse(denoiser, process, sets, plan, gen, meter, null_label, batch_size, group: dict) -> dict:
    from gen3d.config import SAMPLER_KEYS
    from gen3d.errors import UserInputError
    from gen3d.generate import check_grid_start, sampling_process

    opts = {k: v for k, v in group.items() if k not in SAMPLER_KEYS}
    try:  # sampler.sigma_max / sigma_min (a late start, an early stop) or an explicit grid from the prior
        levels = (group.get("sigma_max"), group.get("sigma_min"), group.get("sigmas"))
        process = sampling_process(process, *levels)
        if group.get("sigmas") is not None:
            check_grid_start(group["sigmas"], process)
    except ValueError as e:
        raise UserInputError(f"sampler levels: {e}") from None
    scan = collapse_scan(
        denoiser,
        process,
        sets.train,
        sets.heldout,
        n_samples=plan.collapse_samples,
        sampler=group["name"],
        steps=int(group["steps"]),
        schedule=group.get("schedule", "karras"),
        rho=float(group.get("rho", 7.0)),
        sigmas=group.get("sigmas"),
        sampler_options=opts,
        generator=gen,
        cond_label=null_label,
        batch_size=batch_size,
        meter=meter,
    )
    out = scan.to_dict()
    if not regresses_clean_shape(process):
        out["notes"].append(
            f"P_snap reads D(x; sigma), for {process.name} the estimate of its own target (close to "
            "E[y | x] where the target share vanishes, at both ends of the sigma range); the final near-copy "
            "fractions compare samples only"
        )
    return out


def _likelihood(denoiser, process, sets, plan, gen, meter, null_label, batch_size) -> dict:
    kw = dict(
        sigma_min=process.sigma_min,
        sigma_max=process.sigma_max,
        steps=plan.like_steps,
        n_probe=plan.like_probes,
        process=process,
        cond_label=null_label,
        generator=gen,
        batch_size=batch_size,
        meter=meter,
    )
    out = {}
    for split, shapes in (("heldout", sets.heldout), ("train", sets.train)):
        out[split] = pf_ode_log_likelihood(denoiser, shapes[: plan.like_shapes], split=split, **kw).to_dict()
    d = out["heldout"]["dim"]
    out["mean_nats_per_dim"] = {
        s: sum(out[s]["logp"]) / len(out[s]["logp"]) / d for s in ("heldout", "train")
    }
    return out


def diagnose(
    denoiser,
    process,
    config: dict,
    sets: ShapeSets,
    *,
    what: tuple[str, ...],
    plan: Plan,
    generator: torch.Generator,
    meter: Meter,
    route: str = "auto",
    clusters: int = 2,
    batch_size: int = 32,
    log: Callable[[str], None] = print,
) -> dict:
    """Run the diagnostics in ``what`` (a subset of info, commitment, collapse, likelihood) with the sizes of
    ``plan``; returns the report dict (curves, estimates, costs). ``route``: the commitment route, ``auto``
    (= ``uturn``, which works for any model), ``uturn`` or ``posterior`` (class-conditional models; check the
    I4 residual it reports); ``clusters``:
    the k of the k-means stand-in classes of an unconditional model."""
    from gen3d.models import num_classes_of

    num_classes = num_classes_of(config)
    null_label = num_classes if num_classes else None
    if route == "auto":
        route = "uturn"  # posterior (I4) failed on the trained demo net: see docs/diagnostics.md
    if route == "posterior" and num_classes < 2:
        from gen3d.errors import UserInputError

        raise UserInputError("--route posterior needs a class-conditional model (use --route uturn)")
    report: dict = {
        "process": process.config(),
        "gaussian_kernel": is_gaussian_kernel(process),
        "clean_target": regresses_clean_shape(process),
        "data": {
            "shape": list(sets.train.shape[1:]),
            "dim": int(sets.train[0].numel()),
            "n_train": int(sets.train.shape[0]),
            "n_heldout": int(sets.heldout.shape[0]),
            "splits": [sets.train_split, sets.heldout_split],
            "classes": sets.class_names,
        },
        "num_classes": num_classes,
        "plan": plan.to_dict(),
        "cost": {},
    }
    stages = {
        "info": (
            "information curve",
            lambda: _info(denoiser, process, sets, plan, generator, meter, null_label, batch_size),
        ),
        "commitment": (
            f"class commitment ({route})",
            lambda: _commitment(
                denoiser, process, sets, plan, generator, meter, num_classes, route, clusters, batch_size
            ),
        ),
        "collapse": (
            "collapse scan",
            lambda: _collapse(
                denoiser, process, sets, plan, generator, meter, null_label, batch_size, config["sampler"]
            ),
        ),
        "likelihood": (
            "PF-ODE likelihood",
            lambda: _likelihood(denoiser, process, sets, plan, generator, meter, null_label, batch_size),
        ),
    }
    skip = inapplicable(what, process, route, tuple(sets.train.shape[1:]))
    for key in WHAT:
        if key in skip:
            log(f"diagnose: {stages[key][0]} does not apply to {process.name}: {skip[key]}")
            report[key] = {"applicable": False, "reason": skip[key]}
            report["cost"][key] = {"nfe": 0, "seconds": 0.0}
        elif key in what:
            title, fn = stages[key]
            report[key], report["cost"][key] = _stage(title, meter, log, fn)
    report["nfe_total"] = meter.nfe
    report["minutes"] = round(meter.minutes(), 2)
    report["summary"] = summarise(report)
    return report


def summarise(report: dict) -> dict:
    """The headline numbers of a report."""
    s: dict = {}
    na = [k for k in WHAT if k in report and not applies(report, k)]
    if na:
        s["not_applicable"] = na
    if applies(report, "info"):
        s["sigma_C_entropy"] = report["info"]["sigma_C_entropy"]
        held, train = report["info"]["heldout"], report["info"]["train"]
        if held["I"] and train["I"]:
            s["I_heldout_at_sigma_lo"] = held["I"][-1]
            s["I_train_at_sigma_lo"] = train["I"][-1]
    if applies(report, "commitment"):
        c = report["commitment"]
        s["sigma_S"] = c["sigma_S"]
        s["commitment_route"] = c["route"]
        s["commitment_threshold"] = c["threshold"]
    if applies(report, "collapse"):
        c = report["collapse"]
        s["sigma_C"] = c["sigma_C"]
        s["near_copy_fraction"] = c["near_copy_fraction"]
        s["near_copy_fraction_null"] = c["near_copy_fraction_null"]
        s["near_copy_fraction_full_train"] = c["near_copy_fraction_full_train"]
    if applies(report, "likelihood"):
        s["log_likelihood_nats_per_dim"] = report["likelihood"]["mean_nats_per_dim"]
    s["nfe_total"] = report["nfe_total"]
    s["minutes"] = report["minutes"]
    return s
