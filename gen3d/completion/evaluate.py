"""``gen3d evaluate --task completion``: PVD's completion metrics of a completion file against the complete
shapes (:mod:`gen3d.completion.metrics`).

The complete shapes (the "reference") come from the cache the partial views were stored in (matched by the
inputs' keys, in the cache's normalised frame, which is the frame the completions are in: ``units ==
"cache"``), from an array file ``(I, T, 3)`` in the inputs' units and order (``.npy``, or ``.npz`` with
``points``), or from the completion file itself when it holds them (pass its own path). Distances are in the
units of the completions; the result records which (the normalisation of the cache, or the inputs' units).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from gen3d.completion.completion_file import CompletionFile, load_completions
from gen3d.errors import UserInputError

__all__ = ["evaluate_completion_file", "format_completion_result", "load_truth"]


def load_truth(
    reference: str | os.PathLike, comp: CompletionFile, completion_path: str
) -> tuple[np.ndarray, str]:
    """``(truth (I, T, 3), description)`` for the completion file ``comp`` (see the module docstring)."""
    ref = Path(reference)
    if ref.resolve() == Path(completion_path).resolve():
        if comp.truth is None:
            raise UserInputError(
                f"{completion_path} holds no complete shapes; pass the cache or a truth file"
            )
        return np.asarray(comp.truth), "stored in the completion file"
    if ref.is_dir():
        return _truth_from_cache(ref, comp), f"cache {ref}"
    from gen3d.sample_file import load_samples

    pts = load_samples(ref).points
    if pts is None or len(pts) != comp.num_inputs:
        got = None if pts is None else len(pts)
        raise UserInputError(f"{ref} must hold one complete shape per input ({comp.num_inputs}), got {got}")
    return np.asarray(pts), f"file {ref}"


def _truth_from_cache(path: Path, comp: CompletionFile) -> np.ndarray:
    from gen3d.datasets.cache import ShapeCache

    if comp.meta.get("units") != "cache":
        raise UserInputError(
            "these completions were made from partial-scan files in their own units; a cache cannot be their "
            "reference (pass an (I, T, 3) truth file in the same units)"
        )
    keys = [info.get("key") for info in comp.meta.get("inputs", [])]
    if len(keys) != comp.num_inputs or None in keys:
        raise UserInputError("the completion file does not record the cache keys of its inputs")
    cache = ShapeCache(path)
    split_of = {e["key"]: e["split"] for e in cache.manifest["shapes"]}
    unknown = [k for k in keys if k not in split_of]
    if unknown:
        raise UserInputError(f"cache {path} holds none of the shapes {unknown[:3]}: the wrong cache?")
    by_key: dict[str, np.ndarray] = {}
    for split in sorted({split_of[k] for k in keys}):
        pts, _, found = cache.load_points(split)
        by_key.update(zip(found, pts))
    out = [by_key[k] for k in keys]
    return np.stack(out)


def evaluate_completion_file(
    path: str, reference: str, metrics: tuple[str, ...] = ("cd", "emd"), emd_tol: float = 0.01, seed: int = 0
) -> dict:
    """Score the completion file at ``path`` against ``reference``; the result dict of
    :func:`gen3d.completion.metrics.completion_metrics` with ``inputs`` (what was scored, the units)."""
    from gen3d.completion.metrics import completion_metrics

    comp = load_completions(path)
    truth, described = load_truth(reference, comp, path)
    result = completion_metrics(comp.completions, comp.partials, truth, metrics, emd_tol, seed)
    units = comp.meta.get("units")
    result["inputs"] = {
        "completions": str(path),
        "reference": described,
        "units": f"the cache's normalised frame ({comp.meta.get('normalization')})"
        if units == "cache"
        else "the inputs' own units",
        "frame_mode": comp.meta.get("frame_mode"),
        "n_observed": comp.meta.get("n_observed"),
        "sampler": comp.meta.get("sampler"),
        "steps": comp.meta.get("steps"),
        "nfe": comp.meta.get("nfe"),
    }
    result["options"] = {"metrics": list(metrics), "emd_tol": emd_tol, "seed": seed}
    return result


def format_completion_result(r: dict) -> str:
    """A short table: CD/EMD best-of-K and mean-of-K, fidelity (UHD) and diversity (TMD)."""
    lines = [f"completion: {r['n_inputs']} inputs x {r['k']} completions of {r['n_points']} points "
             f"(units: {r['inputs']['units']})"]  # fmt: skip
    for m, factor in (("cd", 1e3), ("emd", 1e2)):
        if m in r:
            lines.append(f"  {m.upper()} x{factor:g}: best-of-K {r[m]['best_of_k'] * factor:.3f}  "
                         f"mean-of-K {r[m]['mean_of_k'] * factor:.3f}")  # fmt: skip
    lines.append(f"  fidelity UHD x1e2: {r['fidelity_uhd'] * 1e2:.3f}")
    tmd = r["diversity_tmd"]
    lines.append(
        f"  diversity TMD x1e2: {tmd * 1e2:.3f}" if tmd is not None else "  diversity TMD: n/a (K = 1)"
    )
    return "\n".join(lines)
