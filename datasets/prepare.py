"""Preprocessing: a collection (see :func:`gen3d.datasets.open_dataset`) -> a shape cache on disk.

Cache layout (``<out>``)::

    params.json                     processing parameters; written first, checked on every run
    shapes/<category>/<model>.npz   one file per usable shape (written atomically by the worker)
    skipped/<category>/<model>.json one file per unusable shape, with the reason
    report.json                     counts and the list of skipped shapes with reasons
    manifest.json                   written last: its presence marks a complete cache (read by ShapeCache);
                                    lists every shape file with its size ("bytes") and "sha256"

Per-shape ``.npz`` keys: ``points`` (N,3) float32 in **raw** source units; ``normals`` (N,3) float32 (with
``--normals``); ``norm_shift``/``norm_scale`` (3,) the shape's own normalisation (per-shape kinds only; the
``global`` kind lives in the manifest); ``vox_shift``/``vox_scale`` (3,) the frame the grids were made in
(``raw = grid_coords * vox_scale + vox_shift``); ``solid_<R>``/``surface_<R>`` bit-packed bool (R,R,R) grids
over [-1,1]^3 of that frame; ``meta`` (JSON): source, sha1, fingerprint, parameter key. With
``--partial-views K``: ``partial_points`` (P,3) float32, the usable views of K concatenated, in raw units like
``points``; ``partial_offsets`` (V+1,) int64 (view v is ``partial_points[off[v]:off[v+1]]``, V <= K);
``partial_cameras`` (JSON): per view the camera (:class:`gen3d.completion.cameras.Camera`, raw units), its
sensor and its index among the K; ``meta["views_skipped"]`` the degenerate views by reason.

What each input kind gives:

* meshes: ``points`` sampled area-uniformly on the surface (seeded per shape); grids by
  :func:`gen3d.geometry.voxelize_surface` / :func:`~gen3d.geometry.voxelize_solid` of the mesh mapped into the
  voxel frame. The normalisation is fitted to the vertices the faces use.
* point files (pc15k, points): ``points`` = a seeded subset without replacement of the file's points (a file
  with fewer points than requested is skipped, never padded with duplicates). Grids mark the cells that
  contain at least one of **all** the file's points; ``solid`` additionally fills enclosed cavities, which
  only happens when the marked shell is closed at that resolution (sparse clouds give ``solid`` ==
  ``surface``). ``--normals`` is refused for point inputs (files carry no reliable normals).
* voxel files: grids = the file's grid resampled to each requested R (block majority / nearest), ``solid``
  with cavities filled and ``surface`` its one-cell shell; ``points`` (and normals) are sampled uniformly on
  the grid's boundary cell faces at the file's own resolution, in the file's coordinates (binvox
  translate/scale, or [-1,1]^3 for numpy grids); the voxel frame is the file's grid box.

Partial views (``--partial-views K``, :mod:`gen3d.completion.views`): meshes are scanned by the depth sensor
(Open3D ray casting from K sampled pinhole poses), point files and voxel inputs by hidden-point removal of
all their points (voxel inputs: of the sampled surface points), from a seeded stream of their own, so the
other arrays do not change. Degenerate views (nothing visible, fewer than 16 points, NaN) are skipped and
counted in ``report.json`` (``partial_views``); a shape keeps its complete points even when all its views
are skipped.

Voxel frame: the points' own normalisation when it is ``bbox`` or ``unit_sphere`` (both fit [-1,1]^3),
otherwise (``none``, ``unit_cube``, ``global``) the per-shape ``bbox`` normalisation.

Resuming and re-running: a shape is done when its ``.npz`` (or skip ``.json``) exists, carries the same
parameter key and the source file's size and mtime are unchanged; only the rest is processed. A run whose
shapes are all done and whose manifest lists the same shapes does nothing and says so. **Different parameters
into the same ``<out>`` are an error** (``params.json`` differs): use another ``--out`` or delete the old
cache. The selection (categories, splits, max count) may change between runs: the manifest then lists the new
selection.

A URL ``out`` (``s3://bucket/caches/chairs``; not ``file://``, which is a local path): the cache is prepared
as above in a local working folder (:func:`gen3d.storage.prepared.staging_dir`, kept so that a re-run resumes
there and finds it up to date), after checking that the prefix holds no cache of other parameters; then its
shape files, ``params.json`` and ``report.json`` are uploaded and ``manifest.json`` last
(:func:`gen3d.storage.prepared.upload_cache`). Readers resolve the URL to a verified local copy
(:func:`gen3d.storage.prepared.resolve_cache`).

Up axis (``up``, ``gen3d prepare --up``): the axis that points up in the source data, recorded as
``manifest["up_axis"]`` for pictures (:mod:`gen3d.geometry.up_axis`); the arrays are not rotated. Not given:
the axis the cache already records, else the layout's convention (:func:`gen3d.datasets.default_up_axis`:
modelnet z, others y). It is metadata only, so another axis on a re-run is no parameter clash: no shape is
redone, the manifest is rewritten with the new axis.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from gen3d import __version__
from gen3d.atomic import atomic_write_text, save_npz_atomic
from gen3d.datasets import default_up_axis, open_dataset
from gen3d.datasets.records import ShapeRecord, stable_key_seed
from gen3d.errors import Gen3dError, UserInputError

__all__ = ["CACHE_FORMAT", "PrepareParams", "PrepareResult", "prepare", "process_record", "shape_file"]

log = logging.getLogger(__name__)

CACHE_FORMAT = "gen3d-shape-cache/1"
_VOXEL_FRAME_KINDS = ("bbox", "unit_sphere")  # normalisations that fit [-1,1]^3; others voxelise in bbox


@dataclass(frozen=True)
class PrepareParams:
    """Processing parameters; any change needs a new cache. ``voxels``: resolutions (sorted, unique);
    ``layout``: the layout name, ``shapenet:<kind>.binvox`` when ShapeNet's shipped grids are the source."""

    layout: str
    root: str
    n_points: int = 2048
    normals: bool = False
    voxels: tuple[int, ...] = ()
    normalize: str = "bbox"
    seed: int = 0
    partial_views: int = 0
    partial_points: int | None = None
    partial_noise: float = 0.0
    partial_dropout: float = 0.0

    def to_dict(self) -> dict:
        """The recorded parameters; the partial-view ones only when views are made (so caches prepared
        without them keep their parameter key)."""
        d = asdict(self)
        d["voxels"] = list(self.voxels)
        if not self.partial_views:
            for k in ("partial_views", "partial_points", "partial_noise", "partial_dropout"):
                d.pop(k)
        return {"format": CACHE_FORMAT, **d}

    @property
    def key(self) -> str:
        """Short hash of the parameters, stored in every per-shape file."""
        return hashlib.sha1(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:16]


@dataclass
class PrepareResult:
    """What a run did: ``processed`` shapes written now, ``reused`` found done, ``skipped`` (bad input, this
    run or earlier), ``up_to_date`` when nothing needed doing."""

    out: Path
    total: int
    processed: int
    reused: int
    skipped: int
    up_to_date: bool
    skip_reasons: dict = field(default_factory=dict)
    up_axis: str = "y"
    location: str | None = None  # the URL given as ``out`` (None: ``out`` is the cache itself)
    uploaded: int | None = None  # files uploaded to ``location`` (0: it already held this cache)

    @property
    def where(self) -> str:
        """The cache as the user named it: the URL (without credentials), else the local folder."""
        return self.location if self.location is not None else str(self.out)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)


def shape_file(out: Path, rec: ShapeRecord, skipped: bool = False) -> Path:
    """Path of a record's per-shape file (``.npz``) or skip note (``.json``) inside cache ``out``."""
    sub, ext = ("skipped", ".json") if skipped else ("shapes", ".npz")
    return Path(out) / sub / _safe(rec.category) / (_safe(rec.model_id) + ext)


def _fingerprint(path: Path) -> list[int]:
    st = path.stat()
    return [int(st.st_size), int(st.st_mtime_ns)]


def _sha1(path: Path) -> str:
    h = hashlib.sha1()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _pack(grid: np.ndarray) -> np.ndarray:
    return np.packbits(np.asarray(grid, dtype=bool).reshape(-1))


# ---- per-shape processing (runs in worker processes: top-level, picklable arguments only) ----


def _mesh_shape(rec: ShapeRecord, p: PrepareParams, rng: np.random.Generator) -> dict:
    from gen3d.geometry import (
        check_mesh,
        fit_normalization,
        load_mesh,
        sample_surface,
        voxelize_solid,
        voxelize_surface,
    )

    v, f = load_mesh(rec.path)
    reason = check_mesh(v, f)
    if reason:
        raise _Skip(reason)
    used = v[np.unique(f)]
    out = {}
    res = sample_surface(v, f, p.n_points, rng, with_normals=p.normals)
    out["points"], out["normals"] = res if p.normals else (res, None)
    norm = _fit_shape_norm(p.normalize, used)
    vox = norm if p.normalize in _VOXEL_FRAME_KINDS else fit_normalization("bbox", used)
    out["norm"], out["vox"] = norm, vox
    vv = vox.apply(v)
    for r in p.voxels:
        out[f"surface_{r}"] = voxelize_surface(vv, f, r)
        out[f"solid_{r}"] = voxelize_solid(vv, f, r)
    out["view_source"] = {"mesh": (v, f)}
    return out


def _fit_shape_norm(kind: str, pts: np.ndarray):
    from gen3d.geometry import fit_normalization

    if kind == "global":
        return None  # fitted over the training split after all shapes are done
    return fit_normalization(kind, pts)


def _points_shape(rec: ShapeRecord, p: PrepareParams, rng: np.random.Generator) -> dict:
    from gen3d.datasets.gridops import points_to_grid, solid_and_surface
    from gen3d.datasets.pointfiles import read_points
    from gen3d.geometry import fit_normalization

    pts = read_points(rec.path)
    if len(pts) == 0:
        raise _Skip("empty")
    if not np.isfinite(pts).all():
        raise _Skip("nan/inf points")
    if not (pts.max(axis=0) - pts.min(axis=0)).max() > 0:
        raise _Skip("degenerate (all points coincide)")
    if len(pts) < p.n_points:
        raise _Skip(f"only {len(pts)} points (< {p.n_points} requested)")
    out = {"points": pts[rng.choice(len(pts), p.n_points, replace=False)].astype(np.float32), "normals": None}
    norm = _fit_shape_norm(p.normalize, pts)
    vox = norm if p.normalize in _VOXEL_FRAME_KINDS else fit_normalization("bbox", pts)
    out["norm"], out["vox"] = norm, vox
    pv = vox.apply(pts)
    for r in p.voxels:
        out[f"solid_{r}"], out[f"surface_{r}"] = solid_and_surface(points_to_grid(pv, r))
    out["view_source"] = {"points": pts}
    return out


def _voxel_shape(rec: ShapeRecord, p: PrepareParams, rng: np.random.Generator) -> dict:
    from gen3d.datasets.gridops import grid_surface_points, resample_grid, solid_and_surface
    from gen3d.datasets.voxelfiles import read_voxels
    from gen3d.geometry import NormParams

    g = read_voxels(rec.path, rec.index)
    if not g.occupancy.any():
        raise _Skip("empty grid")
    r0 = g.occupancy.shape[0]
    res = grid_surface_points(g.occupancy, p.n_points, rng, g.origin, g.spacing, with_normals=p.normals)
    out = {}
    out["points"], out["normals"] = res if p.normals else (res, None)
    half = g.spacing * r0 / 2.0  # the grid box in the file's coordinates is the voxel frame
    out["vox"] = NormParams(np.asarray(g.origin) + half, np.full(3, half))
    out["norm"] = _fit_shape_norm(p.normalize, out["points"])
    for r in p.voxels:
        out[f"solid_{r}"], out[f"surface_{r}"] = solid_and_surface(resample_grid(g.occupancy, r))
    return out


class _Skip(Exception):
    """Unusable input: the message is the reason written to the report."""


def _partial_arrays(rec: ShapeRecord, p: PrepareParams, data: dict) -> dict:
    """The per-shape arrays of ``--partial-views`` (module docstring) and ``skipped`` (reason -> count),
    from a stream seeded by the shape alone (the other arrays' stream is untouched)."""
    from gen3d.completion.views import ViewOptions, partial_views

    src = data.get("view_source") or {"points": np.asarray(data["points"], dtype=np.float64)}
    opts = ViewOptions(
        k=p.partial_views, max_points=p.partial_points, depth_noise=p.partial_noise, dropout=p.partial_dropout
    )
    rng = np.random.default_rng([*stable_key_seed(p.seed, rec.category, rec.model_id), 1])
    vs = partial_views(rng, opts, points=src.get("points"), mesh=src.get("mesh"))
    sizes = [len(v.points) for v in vs.views]
    cams = [{**v.camera.to_dict(), "sensor": v.sensor} for v in vs.views]
    return {
        "partial_points": np.concatenate([v.points for v in vs.views])
        if vs.views
        else np.zeros((0, 3), np.float32),
        "partial_offsets": np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64),
        "partial_cameras": np.array(json.dumps(cams)),
        "skipped": dict(vs.skipped),
        "stored": len(vs.views),
    }


_BY_KIND = {"mesh": _mesh_shape, "points": _points_shape, "voxels": _voxel_shape}


def process_record(task: tuple[ShapeRecord, str, PrepareParams]) -> dict:
    """Process one shape and write its per-shape file (or skip note). Never raises for bad input.

    Returns ``{"key", "status": "ok"|"skipped", "reason", "sha1"}``.
    """
    rec, out, p = task
    out = Path(out)
    info = {"key": rec.key, "status": "ok", "reason": None, "sha1": None}
    try:
        fp = _fingerprint(rec.path)
        meta = {
            "params_key": p.key,
            "source": str(rec.path),
            "fingerprint": fp,
            "category": rec.category,
            "model_id": rec.model_id,
            "index": rec.index,
        }
        rng = np.random.default_rng(stable_key_seed(p.seed, rec.category, rec.model_id))
        data = _BY_KIND[rec.kind](rec, p, rng)
        pts = data["points"]
        if not np.isfinite(pts).all():
            raise _Skip("nan/inf in sampled points")
        meta["sha1"] = info["sha1"] = _sha1(rec.path)
        views = _partial_arrays(rec, p, data) if p.partial_views else {}
        if views:
            meta["views_skipped"] = info["views_skipped"] = views.pop("skipped")
            meta["views_stored"] = info["views_stored"] = views.pop("stored")
        arrays = {"points": np.asarray(pts, dtype=np.float32), "meta": np.array(json.dumps(meta)), **views}
        if data.get("normals") is not None:
            arrays["normals"] = np.asarray(data["normals"], dtype=np.float32)
        if data.get("norm") is not None:
            arrays["norm_shift"], arrays["norm_scale"] = data["norm"].shift, data["norm"].scale
        arrays["vox_shift"], arrays["vox_scale"] = data["vox"].shift, data["vox"].scale
        for r in p.voxels:
            for kind in ("solid", "surface"):
                arrays[f"{kind}_{r}"] = _pack(data[f"{kind}_{r}"])
        save_npz_atomic(shape_file(out, rec), compressed=True, **arrays)
        return info
    except Exception as e:  # bad input of any kind becomes a reported skip, never a stopped run
        reason = str(e) if isinstance(e, _Skip) else f"{type(e).__name__}: {e}"
        note = {
            "params_key": p.key,
            "source": str(rec.path),
            "reason": reason,
            "fingerprint": _fingerprint(rec.path) if rec.path.exists() else None,
        }
        atomic_write_text(shape_file(out, rec, skipped=True), json.dumps(note))
        info.update(status="skipped", reason=reason)
        return info


# ---- the run ----


def _done_status(rec: ShapeRecord, out: Path, p: PrepareParams) -> dict | None:
    """The stored result for ``rec`` if it is up to date, else None."""
    try:
        fp = _fingerprint(rec.path)
    except OSError:
        fp = None
    npz = shape_file(out, rec)
    if npz.is_file():
        try:
            with np.load(npz, allow_pickle=False) as z:
                meta = json.loads(str(z["meta"]))
            if meta.get("params_key") == p.key and meta.get("fingerprint") == fp:
                done = {"key": rec.key, "status": "ok", "reason": None, "sha1": meta.get("sha1")}
                for k in ("views_skipped", "views_stored"):
                    if k in meta:
                        done[k] = meta[k]
                return done
        except Exception:  # unreadable leftover: redo the shape
            pass
    note = shape_file(out, rec, skipped=True)
    if note.is_file():
        try:
            d = json.loads(note.read_text())
            if d.get("params_key") == p.key and d.get("fingerprint") == fp:
                return {"key": rec.key, "status": "skipped", "reason": d.get("reason"), "sha1": None}
        except (OSError, ValueError):
            pass
    return None


def _params_clash(where: str, old: dict | None, new: dict) -> UserInputError:
    diff = sorted(k for k in set(new) | set(old or {}) if (old or {}).get(k) != new.get(k))
    detail = ", ".join(f"{k}: {(old or {}).get(k)!r} -> {new.get(k)!r}" for k in diff)
    return UserInputError(
        f"{where} holds a cache prepared with different parameters ({detail}); "
        "use another --out or delete that folder"
    )


def _check_params(out: Path, p: PrepareParams) -> None:
    path = out / "params.json"
    if path.is_file():
        try:
            old = json.loads(path.read_text())
        except (OSError, ValueError):
            old = None
        new = p.to_dict()
        if old != new:
            raise _params_clash(str(out), old, new)
    else:
        atomic_write_text(path, json.dumps(p.to_dict(), indent=2))


def _staging_for(url: str, p: PrepareParams) -> Path:
    """The local working folder of a cache prepared for the URL ``url``
    (:func:`gen3d.storage.prepared.staging_dir`), after checking that the prefix, when it already holds a
    cache, holds one of the same parameters (a missing bucket fails here, before any shape is processed).
    A working folder of other parameters (the remote one was deleted or replaced) is started afresh."""
    import shutil

    from gen3d.storage.prepared import remote_params, staging_dir
    from gen3d.storage.urls import redact

    new = p.to_dict()
    old = remote_params(url)
    if old is not None and old != new:
        raise _params_clash(redact(url), old, new)
    staging = staging_dir(url)
    try:
        local = json.loads((staging / "params.json").read_text())
    except (OSError, ValueError):
        local = None
    if local is not None and local != new:
        log.info("local working folder %s holds other parameters; starting it afresh", staging)
        shutil.rmtree(staging, ignore_errors=True)
    return staging


def _upload(res: PrepareResult, url: str | None) -> PrepareResult:
    """``res`` unchanged for a local cache; else the prepared folder uploaded to ``url``, manifest last."""
    if url is None:
        return res
    from gen3d.storage.prepared import upload_cache
    from gen3d.storage.urls import redact

    up = upload_cache(res.out, url)
    res.location, res.uploaded = redact(url), up.files
    return res


_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


@contextlib.contextmanager
def _single_threaded_children():
    """Set the math-library thread variables the user left unset to 1 while worker processes start."""
    added = [k for k in _THREAD_VARS if k not in os.environ]
    os.environ.update({k: "1" for k in added})
    try:
        yield
    finally:
        for k in added:
            os.environ.pop(k, None)


def _run_tasks(tasks: list, workers: int, progress: bool) -> list[dict]:
    from tqdm.auto import tqdm

    bar = tqdm(total=len(tasks), disable=not progress, desc="prepare", unit="shape")
    results = []
    try:
        if workers <= 1 or len(tasks) <= 1:
            for t in tasks:
                results.append(process_record(t))
                bar.update(1)
        else:
            # spawn: safe with threads (torch) in the parent and identical on every OS; one math thread per
            # worker (unless the user set one), so N workers on N cores do not oversubscribe them
            with (
                _single_threaded_children(),
                ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as ex,
            ):
                chunk = max(1, min(16, len(tasks) // (4 * workers)))
                try:
                    for r in ex.map(process_record, tasks, chunksize=chunk):
                        results.append(r)
                        bar.update(1)
                except BrokenProcessPool as e:
                    raise Gen3dError(
                        f"a preprocessing worker died ({e}; out of memory or a crash in a mesh parser) after "
                        f"{len(results)} of {len(tasks)} shapes; finished shapes are kept: re-run to resume, "
                        "with --workers 1 to find the file that kills it"
                    ) from None
    finally:
        bar.close()
    return results


def _fit_global(out: Path, records: list[ShapeRecord], status: dict):
    from gen3d.geometry import fit_global_normalization

    train = [r for r in records if r.split == "train" and status[r.key]["status"] == "ok"]
    if not train:
        raise UserInputError(
            "global normalisation is fitted on the train split, but the selection has no usable "
            "train shapes; include --splits train or choose another --normalize"
        )

    def stream():
        for r in train:
            with np.load(shape_file(out, r), allow_pickle=False) as z:
                yield z["points"].astype(np.float64)

    return fit_global_normalization(stream())


@dataclass(frozen=True)
class _Selection:
    """Which shapes of the collection a run prepares (may change between runs into the same cache)."""

    layout: str
    root: str | os.PathLike
    categories: object = None
    splits: object = None
    max_count: int | None = None
    seed: int = 0
    split_file: str | os.PathLike | None = None
    binvox: str | None = None

    def manifest_entry(self) -> dict:
        """The ``selection`` entry of the manifest (lists as lists, a comma-separated string as given)."""
        return {
            "categories": _as_listed(self.categories),
            "splits": _as_listed(self.splits),
            "max_count": self.max_count,
        }


def _as_listed(value):
    return value if value is None or isinstance(value, str) else list(value)


def prepare(
    layout: str,
    root,
    out,
    *,
    categories=None,
    splits=None,
    max_count: int | None = None,
    n_points: int = 2048,
    normals: bool = False,
    voxels=(),
    normalize: str = "bbox",
    seed: int = 0,
    workers: int = 1,
    progress: bool = True,
    split_file=None,
    binvox: str | None = None,
    partial_views: int = 0,
    partial_points: int | None = None,
    partial_noise: float = 0.0,
    partial_dropout: float = 0.0,
    up: str | None = None,
) -> PrepareResult:
    """Preprocess a collection into the cache ``out`` (see the module docstring for layout and rules).

    ``partial_views`` K > 0 also stores K partial views per shape (at most ``partial_points`` points each,
    default ``n_points``; depth noise ``partial_noise`` in bounding radii and pixel ``partial_dropout`` for
    mesh scans). ``up``: the source data's up axis, "x" | "y" | "z" (None: see the module docstring)."""
    sel = _Selection(layout, root, categories, splits, max_count, seed, split_file, binvox)
    normalize, res = _check_processing(n_points, voxels, normalize)
    _check_partial(partial_views, partial_points, partial_noise, partial_dropout)
    ds = _open_selection(sel, normals, normalize)
    source = layout if binvox is None else f"{layout}:{binvox}.binvox"
    p = PrepareParams(
        source, str(Path(root).resolve()), int(n_points), bool(normals), res, normalize, int(seed),
        int(partial_views), int(n_points if partial_points is None else partial_points), float(partial_noise),
        float(partial_dropout),
    )  # fmt: skip
    url = str(out) if _is_remote(out) else None
    out = _staging_for(url, p) if url is not None else _local_out(out)
    up_axis = _resolve_up_axis(up, layout, out, _remote_up_axis(url) if url and up is None else None)
    out.mkdir(parents=True, exist_ok=True)
    _check_params(out, p)

    records = list(ds)
    status, todo = _triage(records, out, p)
    done = _up_to_date(out, records, status, up_axis) if not todo else None
    if done is not None:
        return _upload(done, url)
    for s in _run_tasks(todo, int(workers), progress):
        status[s["key"]] = s

    ok = [r for r in records if status[r.key]["status"] == "ok"]
    norm_global = _fit_global(out, records, status) if normalize == "global" and ok else None
    skipped, reasons = _write_report(out, records, status)
    if not ok:
        raise UserInputError(
            f"none of the {len(records)} selected shapes is usable "
            f"({', '.join(f'{k}: {v}' for k, v in reasons.most_common())}); see {out / 'report.json'}"
        )
    _write_manifest(out, p, sel, ds.notes, ok, status, norm_global, up_axis)
    reused = len(records) - len(todo)
    result = PrepareResult(out, len(records), len(todo), reused, len(skipped), False, dict(reasons), up_axis)
    return _upload(result, url)


def _is_remote(out) -> bool:
    from gen3d.storage.prepared import is_remote

    return is_remote(out)


def _local_out(out) -> Path:
    """A plain path, or the local path of a ``file://`` URL."""
    from gen3d.storage.urls import local_path

    lp = local_path(out)
    assert lp is not None
    return lp


def _remote_up_axis(url: str) -> str | None:
    """The up axis the cache manifest at ``url`` records, None when there is none (no cache there yet)."""
    from gen3d.storage.prepared import manifest_bytes

    try:
        return json.loads(manifest_bytes(url)).get("up_axis")
    except (Gen3dError, ValueError, AttributeError):
        return None


def _resolve_up_axis(up: str | None, layout: str, out: Path, uploaded: str | None = None) -> str:
    """``up`` checked; when None, the axis the manifest in ``out`` records, else the one the uploaded cache
    (``uploaded``: of a URL ``out``) records, else the layout's default."""
    from gen3d.geometry.up_axis import UP_AXES, check_up_axis

    if up is not None:
        try:
            return check_up_axis(up)
        except ValueError as e:
            raise UserInputError(f"--up: {e}") from None
    try:
        recorded = json.loads((out / "manifest.json").read_text()).get("up_axis")
    except (OSError, ValueError, AttributeError):
        recorded = None
    if recorded not in UP_AXES:
        recorded = uploaded
    return recorded if recorded in UP_AXES else default_up_axis(layout)


def _check_processing(n_points: int, voxels, normalize: str) -> tuple[str, tuple[int, ...]]:
    """The normalisation kind's canonical name and the sorted unique voxel resolutions; UserInputError for a
    bad kind, ``n_points < 1`` or a resolution below 2."""
    from gen3d.geometry import Normalization

    try:
        normalize = Normalization.parse(normalize).value
    except ValueError as e:
        raise UserInputError(str(e)) from None
    if int(n_points) < 1:
        raise UserInputError(f"--points must be >= 1, got {n_points}")
    res = tuple(sorted({int(r) for r in voxels}))
    if any(r < 2 for r in res):
        raise UserInputError(f"voxel resolutions must be >= 2, got {list(voxels)}")
    return normalize, res


def _check_partial(views: int, points: int | None, noise: float, dropout: float) -> None:
    """UserInputError for a negative view count, a view size below 16 points, negative noise or a dropout
    outside [0, 1)."""
    if int(views) < 0:
        raise UserInputError(f"--partial-views must be >= 0, got {views}")
    if points is not None and int(points) < 16:
        raise UserInputError(f"--partial-points must be >= 16 (the smallest usable view), got {points}")
    if not (noise >= 0 and 0.0 <= dropout < 1.0):
        raise UserInputError(
            f"need --partial-noise >= 0 and --partial-dropout in [0, 1), got {noise}, {dropout}"
        )


def _open_selection(sel: _Selection, normals: bool, normalize: str):
    """The selected collection, refused when empty or when it cannot give what was asked (a train split for
    the ``global`` normalisation, normals from point files)."""
    ds = open_dataset(
        sel.layout,
        sel.root,
        sel.categories,
        sel.splits,
        sel.max_count,
        sel.seed,
        split_file=sel.split_file,
        binvox=sel.binvox,
    )
    if len(ds) == 0:
        raise UserInputError(
            f"the selection is empty: no shapes in {sel.root} match the categories/splits given"
        )
    if normalize == "global" and not any(r.split == "train" for r in ds):
        raise UserInputError(
            "global normalisation is fitted on the train split, but the selection has no train shapes; "
            "include train in --splits or choose another --normalize"
        )
    if normals and sel.layout in ("pc15k", "points"):
        raise UserInputError(
            f"--normals is not available for the {sel.layout!r} layout: point files carry no normals"
        )
    return ds


def _triage(records: list[ShapeRecord], out: Path, p: PrepareParams) -> tuple[dict, list]:
    """``(status by key of the shapes already done, worker tasks for the others)``."""
    status, todo = {}, []
    for r in records:
        s = _done_status(r, out, p)
        if s is None:
            todo.append((r, str(out), p))
        else:
            status[r.key] = s
    return status, todo


def _up_to_date(out: Path, records: list[ShapeRecord], status: dict, up_axis: str) -> PrepareResult | None:
    """With every shape done: the result of a run with nothing to do when the manifest and the report list
    exactly these shapes and the manifest records ``up_axis``, else None (the manifest is rewritten for the
    new selection or axis)."""
    manifest_path = out / "manifest.json"
    if not manifest_path.is_file():
        return None
    try:
        manifest = json.loads(manifest_path.read_text())
        listed = {s["key"] for s in manifest["shapes"]}
        listed |= {s["key"] for s in json.loads((out / "report.json").read_text())["skipped"]}
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if listed != {r.key for r in records} or manifest.get("up_axis") != up_axis:
        return None
    if not all("sha256" in s for s in manifest["shapes"]):
        return None  # a manifest written before checksums were recorded: rewritten with them
    n_skip = sum(s["status"] == "skipped" for s in status.values())
    log.info("cache %s is up to date (%d shapes); nothing to do", out, len(records))
    reasons = dict(Counter(s["reason"] for s in status.values() if s["reason"]))
    return PrepareResult(out, len(records), 0, len(records) - n_skip, n_skip, True, reasons, up_axis)


def _write_report(out: Path, records: list[ShapeRecord], status: dict) -> tuple[list[ShapeRecord], Counter]:
    """Write ``report.json`` (counts, and every skipped shape with its reason); warn when shapes were skipped.
    Returns the skipped records and the count of each reason."""
    ok = [r for r in records if status[r.key]["status"] == "ok"]
    skipped = [r for r in records if status[r.key]["status"] == "skipped"]
    reasons = Counter(status[r.key]["reason"] for r in skipped)
    if skipped:
        log.warning(
            "%d of %d shapes skipped (%s); see %s",
            len(skipped),
            len(records),
            ", ".join(f"{k}: {v}" for k, v in reasons.most_common()),
            out / "report.json",
        )
    report = {
        "total": len(records),
        "ok": len(ok),
        "skipped_count": len(skipped),
        "reasons": dict(reasons),
        **_views_report(ok, status),
        "skipped": [
            {
                "key": r.key,
                "category": r.category,
                "model_id": r.model_id,
                "split": r.split,
                "source": str(r.path),
                "reason": status[r.key]["reason"],
            }
            for r in skipped
        ],
    }
    atomic_write_text(out / "report.json", json.dumps(report, indent=2))
    return skipped, reasons


def _views_report(ok: list[ShapeRecord], status: dict) -> dict:
    """``{"partial_views": {"stored": n, "skipped": n, "reasons": {reason: count}}}`` when views were made,
    else {}."""
    per = [status[r.key] for r in ok if "views_skipped" in status[r.key]]
    if not per:
        return {}
    reasons: Counter = Counter()
    for d in per:
        reasons.update(d["views_skipped"])
    if reasons:
        log.warning("%d partial views skipped as degenerate (%s)", sum(reasons.values()), dict(reasons))
    stored = sum(int(d.get("views_stored", 0)) for d in per)
    return {"partial_views": {"stored": stored, "skipped": sum(reasons.values()), "reasons": dict(reasons)}}


def _size_and_sha256(path: Path) -> dict:
    """``{"bytes": size, "sha256": hex}`` of a shape file: what a reader of a copied or uploaded cache checks
    (:mod:`gen3d.storage.prepared`)."""
    from gen3d.storage.checksums import sha256_file

    size, digest = sha256_file(path)
    return {"bytes": size, "sha256": digest}


def _write_manifest(
    out: Path,
    p: PrepareParams,
    sel: _Selection,
    notes,
    ok: list[ShapeRecord],
    status: dict,
    norm_global,
    up_axis: str,
) -> None:
    """Write ``manifest.json`` last: its presence marks a complete cache (:class:`ShapeCache` reads it).
    ``up_axis``: the source data's up axis (metadata for pictures; the arrays are not rotated)."""
    manifest = {
        "format": CACHE_FORMAT,
        "gen3d_version": __version__,
        "params": p.to_dict(),
        "selection": sel.manifest_entry(),
        "dataset_notes": notes,
        "normalization": {"kind": p.normalize, "global": norm_global.to_dict() if norm_global else None},
        "voxel_frame": p.normalize if p.normalize in _VOXEL_FRAME_KINDS else "bbox",
        "up_axis": up_axis,
        "shapes": [
            {
                "key": r.key,
                "category": r.category,
                "name": r.name,
                "model_id": r.model_id,
                "split": r.split,
                "index": r.index,
                "source": str(r.path),
                "sha1": status[r.key]["sha1"],
                "file": shape_file(out, r).relative_to(out).as_posix(),
                **_size_and_sha256(shape_file(out, r)),
            }
            for r in ok
        ],
    }
    atomic_write_text(out / "manifest.json", json.dumps(manifest, indent=1))
