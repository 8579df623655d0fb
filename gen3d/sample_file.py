"""The sample file: generated shapes on disk (``.npz``), shared by ``gen3d sample``, ``evaluate``, ``export``,
``render`` and ``view``.

Keys (all optional except one of ``points`` / ``voxels``):

============== ======================= ===============================================================
key            array                   meaning
============== ======================= ===============================================================
points         (S, N, 3) float32       point clouds
voxels         (S, 1, R, R, R) float32 occupancy in [0, 1] (or signed distance, see ``meta['voxel_kind']``)
seeds          (S,) int64              per-sample seed: shape i depends on ``seeds[i]`` only
labels         (S,) int64              class index into ``meta['class_names']`` (-1: unconditional)
trajectory     (T, S, ...) float32     intermediate states of the reverse process, ``traj_sigmas`` (T,)
traj_sigmas    (T,) float32            noise level of each trajectory frame
meta           0-d str (JSON)          resolved config, sampler, steps, NFE, normalisation, units, version
============== ======================= ===============================================================

``gen3d sample`` writes into ``meta``: ``config`` (the checkpoint's, with the sampler group it sampled with),
``sampler``, ``steps``, ``schedule``, ``rho``, ``sampler_options`` (every option the sampler ran with,
defaults included, e.g. ``S_churn`` or ``rtol``), ``nfe`` (denoiser calls per shape; the mean over shapes when
batches differ, as with the adaptive solver, then also ``nfe_per_batch`` and ``batch_sizes``),
``nfe_total`` and ``up_axis`` ("x" | "y" | "z": the training cache's, when that cache was readable), by which
``gen3d render`` and ``gen3d view`` draw the shapes upright (absent: y).

Files are written atomically and read without pickle (``allow_pickle=False``). A path may also be an fsspec
URL string (``s3://bucket/run/samples.npz``, ``memory://...``; :mod:`gen3d.storage`): written through a local
temporary file and one upload, read by a streamed download.
"""

from __future__ import annotations

import json
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gen3d.atomic import save_npz_atomic
from gen3d.errors import CheckpointError, UserInputError
from gen3d.storage.urls import is_url

__all__ = ["SampleFile", "load_samples", "save_samples"]

_ARRAY_KEYS = ("points", "voxels", "seeds", "labels", "trajectory", "traj_sigmas")


@dataclass
class SampleFile:
    """In-memory sample file. ``points`` (S,N,3) and/or ``voxels`` (S,1,R,R,R); see the module docstring."""

    points: np.ndarray | None = None
    voxels: np.ndarray | None = None
    seeds: np.ndarray | None = None
    labels: np.ndarray | None = None
    trajectory: np.ndarray | None = None
    traj_sigmas: np.ndarray | None = None
    meta: dict = field(default_factory=dict)

    @property
    def num_shapes(self) -> int:
        arr = self.points if self.points is not None else self.voxels
        return 0 if arr is None else int(arr.shape[0])

    def validate(self) -> SampleFile:
        """Check shapes and finiteness; raise :class:`UserInputError` with what was expected."""
        if self.points is None and self.voxels is None:
            raise UserInputError("sample file holds neither 'points' (S,N,3) nor 'voxels' (S,1,R,R,R)")
        if self.points is not None:
            p = self.points
            if p.ndim != 3 or p.shape[-1] != 3:
                raise UserInputError(f"'points' must have shape (S, N, 3), got {tuple(p.shape)}")
            if not np.isfinite(p).all():
                bad = int((~np.isfinite(p).reshape(len(p), -1).all(1)).sum())
                raise UserInputError(f"'points' holds NaN/inf in {bad} of {len(p)} shapes")
        if self.voxels is not None:
            v = self.voxels
            if v.ndim != 5 or v.shape[1] != 1 or not (v.shape[2] == v.shape[3] == v.shape[4]):
                raise UserInputError(f"'voxels' must have shape (S, 1, R, R, R), got {tuple(v.shape)}")
            if not np.isfinite(v).all():
                raise UserInputError("'voxels' holds NaN/inf")
        if self.points is not None and self.voxels is not None and len(self.points) != len(self.voxels):
            raise UserInputError("'points' and 'voxels' hold different numbers of shapes")
        for key in ("seeds", "labels"):
            arr = getattr(self, key)
            if arr is not None and arr.shape != (self.num_shapes,):
                raise UserInputError(f"'{key}' must have shape ({self.num_shapes},), got {tuple(arr.shape)}")
        return self


def save_samples(path: str | os.PathLike, samples: SampleFile) -> Path | str:
    """Validate and write ``samples`` to ``path`` (``.npz``, or a URL string) atomically. Returns the path
    (the URL string unchanged for a URL)."""
    samples.validate()
    arrays: dict[str, Any] = {
        k: np.asarray(getattr(samples, k)) for k in _ARRAY_KEYS if getattr(samples, k) is not None
    }
    arrays["meta"] = np.array(json.dumps(samples.meta, default=str))
    if is_url(path):
        save_npz_atomic(path, **arrays)
        return str(path)
    path = Path(path)
    save_npz_atomic(path, **arrays)
    return path


def load_samples(path: str | os.PathLike) -> SampleFile:
    """Read a sample file written by :func:`save_samples` (or any npz with ``points``/``voxels``).

    Also accepts a bare ``.npy`` array of shape (S,N,3) or (S,1,R,R,R)/(S,R,R,R). ``path`` may be a URL
    string (streamed into a temporary file first).
    """
    if is_url(path):
        from gen3d.storage.transfer import fetched
        from gen3d.storage.urls import redact

        url = str(path)
        suffix = ".npy" if url.endswith(".npy") else ".npz"
        with fetched(url, suffix=suffix) as local:
            return _load_local(Path(local), redact(url))
    return _load_local(Path(path), None)


def _load_local(path: Path, shown_as: str | None) -> SampleFile:
    """:func:`load_samples` of the local file ``path``; messages name ``shown_as`` (the URL) when given."""
    shown = shown_as or path
    if not path.is_file():
        raise UserInputError(f"no sample file at {shown}")
    with open(path, "rb") as f:
        magic = f.read(6)
    if magic[:2] != b"PK" and magic != b"\x93NUMPY":
        raise CheckpointError(f"{shown} is not an .npz or .npy file (truncated, or another format?)")
    try:
        if path.suffix == ".npy":
            arr = np.load(path, allow_pickle=False)
            if arr.ndim == 3 and arr.shape[-1] == 3:
                return SampleFile(points=arr.astype(np.float32)).validate()
            if arr.ndim == 4:
                arr = arr[:, None]
            return SampleFile(voxels=arr.astype(np.float32)).validate()
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except (zipfile.BadZipFile, EOFError, ValueError, OSError) as e:
        raise CheckpointError(
            f"cannot read sample file {shown}: {e} (truncated or not an .npz/.npy file?)"
        ) from e
    meta = {}
    if "meta" in data:
        try:
            meta = json.loads(str(data.pop("meta")))
        except json.JSONDecodeError as e:
            raise CheckpointError(f"sample file {shown} has a corrupt 'meta' entry: {e}") from e
    kwargs = {k: data[k] for k in _ARRAY_KEYS if k in data}
    if "voxels" in kwargs and kwargs["voxels"].ndim == 4:
        kwargs["voxels"] = kwargs["voxels"][:, None]
    return SampleFile(meta=meta, **kwargs).validate()
