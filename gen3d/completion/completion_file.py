"""The completion file (``gen3d complete --out completions.npz``): K completions per partial input.

An ``.npz`` written atomically (:func:`gen3d.atomic.save_npz_atomic`) and read with ``allow_pickle=False``:

================ ======================= ==============================================================
key              shape / dtype           content
================ ======================= ==============================================================
completions      (I, K, N, 3) float32    K completions of each of I inputs, in the inputs' units
seeds            (I, K) int64            seed of each completion (it depends on that seed only)
observed         (I, K) int64            how many leading points of each completion are observed ones
partial_points   (P, 3) float32          the I partial inputs concatenated, in the inputs' units
partial_offsets  (I + 1,) int64          input i is ``partial_points[offsets[i]:offsets[i + 1]]``
truth            (I, T, 3) float32       optional: the complete shapes (inputs from a cache split)
meta             0-d str (JSON)          see below
================ ======================= ==============================================================

``meta``: ``inputs`` (one dict per input: ``name``, and for cache inputs ``key``, ``view``; ``camera``, the
pose of the view in the inputs' units, or None), ``frames`` (per input, ``{"shift", "scale"}``: the map from
the inputs' units into the model's frame, ``model = (x - shift) / scale``), ``frame_mode``,
``frame_iterations``, ``normalization`` (the model's kind), ``units`` (``"input"``: each file's own units;
``"cache"``: the cache's normalised frame), the checkpoint, its resolved config, sampler, steps, schedule,
rho, sampler options, NFE, ``n_points``, ``n_observed``, and the gen3d version.
"""

from __future__ import annotations

import json
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gen3d.atomic import save_npz_atomic
from gen3d.errors import CheckpointError, UserInputError

__all__ = ["CompletionFile", "load_completions", "save_completions"]


@dataclass
class CompletionFile:
    """In-memory completion file; ``partials`` is the list of I arrays (M_i, 3) (see the module docstring)."""

    completions: np.ndarray
    seeds: np.ndarray
    observed: np.ndarray
    partials: list[np.ndarray]
    truth: np.ndarray | None = None
    meta: dict = field(default_factory=dict)

    def validate(self) -> CompletionFile:
        """Check shapes and finiteness; :class:`UserInputError` saying what was expected."""
        c = np.asarray(self.completions)
        if c.ndim != 4 or c.shape[-1] != 3 or 0 in c.shape:
            raise UserInputError(f"'completions' must have shape (I, K, N, 3), got {tuple(c.shape)}")
        if not np.isfinite(c).all():
            raise UserInputError("'completions' holds NaN/inf")
        for key in ("seeds", "observed"):
            if np.asarray(getattr(self, key)).shape != c.shape[:2]:
                raise UserInputError(f"'{key}' must have shape {c.shape[:2]}")
        if len(self.partials) != c.shape[0]:
            raise UserInputError(f"{len(self.partials)} partial inputs for {c.shape[0]} completion rows")
        for i, p in enumerate(self.partials):
            if p.ndim != 2 or p.shape[1] != 3 or len(p) == 0 or not np.isfinite(p).all():
                raise UserInputError(f"partial input {i} must be a finite non-empty (M, 3) array")
        if self.truth is not None:
            t = np.asarray(self.truth)
            if t.ndim != 3 or t.shape[0] != c.shape[0] or t.shape[2] != 3 or not np.isfinite(t).all():
                raise UserInputError(f"'truth' must be finite (I={c.shape[0]}, T, 3), got {tuple(t.shape)}")
        return self

    @property
    def num_inputs(self) -> int:
        return int(self.completions.shape[0])


def save_completions(path: str | os.PathLike, data: CompletionFile) -> Path:
    """Validate ``data`` and write it to ``path`` atomically; returns the path."""
    data.validate()
    offsets = np.concatenate([[0], np.cumsum([len(p) for p in data.partials])]).astype(np.int64)
    arrays: dict[str, np.ndarray] = {
        "completions": np.asarray(data.completions, dtype=np.float32),
        "seeds": np.asarray(data.seeds, dtype=np.int64),
        "observed": np.asarray(data.observed, dtype=np.int64),
        "partial_points": np.concatenate(data.partials).astype(np.float32),
        "partial_offsets": offsets,
        "meta": np.array(json.dumps(data.meta, default=str)),
    }
    if data.truth is not None:
        arrays["truth"] = np.asarray(data.truth, dtype=np.float32)
    save_npz_atomic(Path(path), compressed=False, **arrays)
    return Path(path)


def load_completions(path: str | os.PathLike) -> CompletionFile:
    """Read a file written by :func:`save_completions`; raises UserInputError or CheckpointError otherwise."""
    path = Path(path)
    if not path.is_file():
        raise UserInputError(f"no completion file at {path}")
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except (zipfile.BadZipFile, EOFError, ValueError, OSError) as e:
        raise CheckpointError(f"cannot read completion file {path}: {e}") from e
    missing = {"completions", "seeds", "observed", "partial_points", "partial_offsets"} - set(data)
    if missing:
        raise UserInputError(f"{path} is not a completion file (no {', '.join(sorted(missing))}); "
                             "write one with `gen3d complete`")  # fmt: skip
    off = data["partial_offsets"]
    pts = data["partial_points"]
    if off.ndim != 1 or off[0] != 0 or off[-1] != len(pts) or (np.diff(off) < 0).any():
        raise UserInputError(f"{path}: 'partial_offsets' does not index 'partial_points'")
    try:
        meta = json.loads(str(data["meta"])) if "meta" in data else {}
    except json.JSONDecodeError as e:
        raise CheckpointError(f"completion file {path} has a corrupt 'meta' entry: {e}") from e
    partials = [pts[a:b] for a, b in zip(off[:-1], off[1:])]
    out = CompletionFile(
        data["completions"], data["seeds"], data["observed"], partials, data.get("truth"), meta
    )
    return out.validate()
