"""Reading a prepared shape cache (written by :func:`gen3d.datasets.prepare.prepare`, ``gen3d prepare``).

A cache may be named by a URL (``s3://bucket/caches/chairs``, any fsspec URL; see ``docs/storage.md``):
:class:`ShapeCache` then reads a verified local copy, downloaded once per distinct remote manifest
(:func:`gen3d.storage.prepared.resolve_cache`, the one place where every reader resolves a cache location).

Labels: ``label i <-> class_names[i]``, the sorted human class names of the cache's shapes. Model ids returned
by the loaders are the records' keys ``<category>/<model_id>`` (unique across categories); :meth:`norm_params`
and :meth:`denormalize` take them back.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import numpy as np

from gen3d.errors import UserInputError

__all__ = ["PartialViews", "ShapeCache", "cache_up_axis"]

_SPLIT_ORDER = {"train": 0, "val": 1, "test": 2}


@dataclass
class PartialViews:
    """Stored partial views (:meth:`ShapeCache.load_partials`): ``partials`` (M_i, 3) float32 in each shape's
    normalised frame, ``cameras`` their poses in that frame (camera dicts, see
    :class:`gen3d.completion.cameras.Camera`), ``keys`` the shapes' keys and ``skipped`` how many selected
    shapes have no usable view of that index (degenerate views are not stored)."""

    partials: list[np.ndarray]
    cameras: list[dict]
    keys: list[str]
    skipped: int


class ShapeCache:
    """A prepared cache at ``path``: a folder, or a URL read through a verified local copy (module
    docstring). Raises :class:`UserInputError` when it is missing, incomplete or corrupt (a remote object
    that differs from its manifest: :class:`gen3d.storage.errors.IntegrityError`).

    ``path`` is the local folder read; ``source`` names the cache as given (a URL without credentials)."""

    def __init__(self, path: str | os.PathLike):
        from gen3d.datasets.prepare import CACHE_FORMAT
        from gen3d.storage.prepared import resolve_cache
        from gen3d.storage.urls import is_url, redact

        self.path = resolve_cache(path)
        self.source = redact(path) if is_url(path) else str(self.path)
        manifest = self.path / "manifest.json"
        if not self.path.is_dir():
            raise UserInputError(f"shape cache {self.path} does not exist; create it with `gen3d prepare`")
        if not manifest.is_file():
            raise UserInputError(
                f"{self.path} is not a complete shape cache (no manifest.json): run `gen3d prepare ... --out "
                f"{self.path}` (re-running an interrupted prepare finishes it)"
            )
        try:
            self.manifest = json.loads(manifest.read_text(encoding="utf-8"))
            fmt = self.manifest["format"]
            self._shapes = list(self.manifest["shapes"])
            self.params = dict(self.manifest["params"])
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise UserInputError(
                f"{manifest} is corrupt ({e}); re-run `gen3d prepare` into a new folder"
            ) from e
        if fmt != CACHE_FORMAT:
            raise UserInputError(
                f"{manifest}: unsupported cache format {fmt!r} (this gen3d reads {CACHE_FORMAT})"
            )
        self.class_names: list[str] = sorted({s["name"] for s in self._shapes})
        self.splits: list[str] = sorted(
            {s["split"] for s in self._shapes}, key=lambda s: _SPLIT_ORDER.get(s, 9)
        )
        self._by_key = {s["key"]: s for s in self._shapes}
        self._norm_cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    # ---- description ----

    def __len__(self) -> int:
        return len(self._shapes)

    def __repr__(self) -> str:
        return f"ShapeCache({self.source!r}, {len(self)} shapes, classes={self.class_names})"

    @property
    def n_points(self) -> int:
        return int(self.params["n_points"])

    @property
    def resolutions(self) -> list[int]:
        return [int(r) for r in self.params["voxels"]]

    @property
    def normalization(self) -> dict:
        """``{"kind": "bbox"|..., "global": {"shift": [...], "scale": [...]} | None}``."""
        return dict(self.manifest["normalization"])

    @property
    def voxel_frame(self) -> str | None:
        """The frame the grids were made in: ``"bbox"`` or ``"unit_sphere"`` (each shape mapped to [-1,1]^3 by
        that per-shape normalisation); the points' own frame only when it equals ``normalization["kind"]``.
        ``None`` for caches written before the manifest recorded it."""
        return self.manifest.get("voxel_frame")

    @property
    def up_axis(self) -> str:
        """The source data's up axis, "x" | "y" | "z" (``gen3d prepare --up``; metadata for pictures, the
        arrays are not rotated). Caches written before the manifest recorded it read as "y"."""
        from gen3d.geometry.up_axis import DEFAULT_UP_AXIS, UP_AXES

        axis = self.manifest.get("up_axis", DEFAULT_UP_AXIS)
        if axis not in UP_AXES:
            raise UserInputError(
                f"{self.path / 'manifest.json'}: unknown up_axis {axis!r} (expected x, y or z)"
            )
        return axis

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def label_of(self, name_or_category: str) -> int:
        for s in self._shapes:
            if name_or_category in (s["name"], s["category"]):
                return self.class_names.index(s["name"])
        raise UserInputError(f"unknown category {name_or_category!r}; the cache holds {self.class_names}")

    # ---- selection ----

    def split_names(self, split: str) -> list[str]:
        """The splits named by ``split`` (one name, or several comma-separated: ``val,test``), checked against
        the cache: an unknown, repeated or empty name raises :class:`UserInputError`."""
        wanted = [p.strip() for p in str(split).split(",") if p.strip()]
        missing = [p for p in wanted if p not in self.splits]
        if not wanted or missing or len(set(wanted)) != len(wanted):
            raise UserInputError(f"split {split!r} not in cache {self.source}; it holds {self.splits}")
        return wanted

    def entries(self, split: str, categories=None, max_count: int | None = None) -> list[dict]:
        """Manifest entries of ``split`` (optionally only ``categories``: names or ids; at most ``max_count``
        per category, in model-id order). ``split`` may name several splits, comma-separated (``val,test``:
        a larger held-out set); ``max_count`` then applies to their union."""
        wanted = self.split_names(split)
        if isinstance(categories, str):
            categories = [c for c in categories.split(",") if c]
        rows = [s for s in self._shapes if s["split"] in wanted]
        if categories is not None:
            known = {s["name"] for s in self._shapes} | {s["category"] for s in self._shapes}
            bad = [c for c in categories if c not in known]
            if bad:
                raise UserInputError(f"unknown categories {bad}; the cache holds {self.class_names}")
            rows = [s for s in rows if s["name"] in categories or s["category"] in categories]
        rows.sort(key=lambda s: (s["name"], s["model_id"]))
        if max_count is not None:
            kept, count = [], {}
            for s in rows:
                if count.get(s["name"], 0) < int(max_count):
                    count[s["name"]] = count.get(s["name"], 0) + 1
                    kept.append(s)
            rows = kept
        if not rows:
            raise UserInputError(f"no shapes in split {split!r} of {self.source} for categories {categories}")
        return rows

    def _entry(self, key: str) -> dict:
        """The manifest entry of shape ``key`` (``<category>/<model_id>``); UserInputError when unknown."""
        if key not in self._by_key:
            raise UserInputError(
                f"unknown shape {key!r} (expected a key '<category>/<model_id>' of this cache)"
            )
        return self._by_key[key]

    def _open(self, entry: dict):
        path = self.path / entry["file"]
        try:
            return np.load(path, allow_pickle=False)
        except (OSError, ValueError) as e:
            raise UserInputError(
                f"cache file {path} is missing or corrupt ({e}); re-run `gen3d prepare`"
            ) from e

    # ---- normalisation ----

    def _shape_norm(self, entry: dict, z=None) -> tuple[np.ndarray, np.ndarray]:
        glob = self.manifest["normalization"].get("global")
        if glob is not None:
            return np.asarray(glob["shift"], dtype=np.float64), np.asarray(glob["scale"], dtype=np.float64)
        key = entry["key"]
        if key not in self._norm_cache:
            if z is None:
                with self._open(entry) as zz:
                    self._norm_cache[key] = (zz["norm_shift"], zz["norm_scale"])
            else:
                self._norm_cache[key] = (z["norm_shift"], z["norm_scale"])
        return self._norm_cache[key]

    def norm_params(self, model_ids) -> list:
        """:class:`gen3d.geometry.NormParams` of each shape key (``<category>/<model_id>``)."""
        from gen3d.geometry import NormParams

        return [NormParams(*self._shape_norm(self._entry(k))) for k in model_ids]

    def voxel_params(self, model_ids) -> list:
        """:class:`gen3d.geometry.NormParams` of each shape's voxel frame (``raw = grid_coords * scale +
        shift``; ``apply`` maps raw points into the frame of its grids)."""
        from gen3d.geometry import NormParams

        out = []
        for k in model_ids:
            with self._open(self._entry(k)) as z:
                if "vox_shift" not in z.files:
                    raise UserInputError(
                        f"cache {self.source} does not record the voxel frame of {k!r}; re-run "
                        "`gen3d prepare`"
                    )
                out.append(NormParams(z["vox_shift"], z["vox_scale"]))
        return out

    def denormalize(self, points: np.ndarray, model_ids=None) -> np.ndarray:
        """Normalised points (S,N,3) -> raw units. The ``global``/``none`` kinds need no ids; per-shape kinds
        need one key per shape."""
        pts = np.asarray(points)
        kind = self.manifest["normalization"]["kind"]
        if kind in ("global", "none"):
            shift, scale = self._shape_norm({}) if kind == "global" else (np.zeros(3), np.ones(3))
            return (pts * scale + shift).astype(pts.dtype, copy=False)
        if model_ids is None or len(model_ids) != len(pts):
            raise UserInputError(
                f"the cache's {kind!r} normalisation is per shape: pass one model id per shape"
            )
        params = self.norm_params(model_ids)
        return np.stack([p.invert(x) for p, x in zip(params, pts)]).astype(pts.dtype, copy=False)

    # ---- loaders ----

    def load_points(self, split: str, categories=None, max_count=None, n_points: int | None = None):
        """-> ``points (S,N,3) float32`` normalised, ``labels (S,) int64``, ``model_ids`` (keys).

        ``n_points`` (<= the cache's) keeps the first points of each shape, a uniform random subset since the
        stored points are in random order."""
        n = self.n_points if n_points is None else int(n_points)
        if not 1 <= n <= self.n_points:
            raise UserInputError(f"n_points must be in 1..{self.n_points} (what the cache holds), got {n}")
        rows = self.entries(split, categories, max_count)

        def read(e: dict, z) -> np.ndarray:
            shift, scale = self._shape_norm(e, z)
            return (z["points"][:n].astype(np.float64) - shift) / scale

        return self._stack(rows, (n, 3), read), *self._labels_and_keys(rows)

    def load_normals(self, split: str, categories=None, max_count=None, n_points: int | None = None):
        """-> ``normals (S,N,3) float32`` in the order of :meth:`load_points` (caches made with
        ``--normals``)."""
        if not self.params.get("normals"):
            raise UserInputError(f"cache {self.source} was prepared without --normals")
        n = self.n_points if n_points is None else int(n_points)
        rows = self.entries(split, categories, max_count)

        def read(e: dict, z) -> np.ndarray:
            nrm = z["normals"][:n].astype(np.float64)
            _, scale = self._shape_norm(e, z)
            nrm = nrm / scale  # normals transform by the inverse scale, then renormalise
            return nrm / np.maximum(np.linalg.norm(nrm, axis=1, keepdims=True), 1e-12)

        return self._stack(rows, (n, 3), read)

    def load_voxels(
        self, split: str, resolution: int = 32, kind: str = "solid", categories=None, max_count=None
    ):
        """-> ``voxels (S,1,R,R,R) float32`` in {0,1}, ``labels (S,) int64``, ``model_ids`` (keys)."""
        if kind not in ("solid", "surface"):
            raise UserInputError(f"voxel kind must be 'solid' or 'surface', got {kind!r}")
        r = int(resolution)
        if r not in self.resolutions:
            raise UserInputError(
                f"cache {self.source} has no {r}^3 grids (it has {self.resolutions or 'none'}); "
                f"prepare it with --voxels {r}"
            )
        rows = self.entries(split, categories, max_count)

        def read(e: dict, z) -> np.ndarray:
            return np.unpackbits(z[f"{kind}_{r}"], count=r**3).reshape(1, r, r, r)

        return self._stack(rows, (1, r, r, r), read), *self._labels_and_keys(rows)

    def load_partials(self, split: str, categories=None, max_count=None, view: int = 0) -> PartialViews:
        """Partial view ``view`` (index among the stored usable views) of each shape of ``split``, in the
        shape's normalised frame (caches made with ``--partial-views K``); see :class:`PartialViews`."""
        from gen3d.completion.cameras import Camera

        if not int(self.params.get("partial_views", 0)):
            raise UserInputError(
                f"cache {self.source} was prepared without partial views; prepare one with --partial-views K "
                "(into a new --out)"
            )
        rows = self.entries(split, categories, max_count)
        out = PartialViews([], [], [], 0)
        for e in rows:
            with self._open(e) as z:
                off = z["partial_offsets"]
                if view >= len(off) - 1:
                    out.skipped += 1
                    continue
                shift, scale = self._shape_norm(e, z)
                pts = z["partial_points"][off[view] : off[view + 1]].astype(np.float64)
                cam = json.loads(str(z["partial_cameras"]))[view]
            moved = Camera.from_dict(cam).transformed(shift, scale)
            out.partials.append(((pts - shift) / scale).astype(np.float32))
            out.cameras.append({**moved.to_dict(), "sensor": cam.get("sensor"), "raw": cam})
            out.keys.append(e["key"])
        return out

    def _stack(self, rows: list[dict], sample_shape: tuple[int, ...], read) -> np.ndarray:
        """The one loader loop: ``(S, *sample_shape) float32`` with row ``i = read(rows[i], npz)``, each shape
        file opened once."""
        out = np.empty((len(rows), *sample_shape), dtype=np.float32)
        for i, e in enumerate(rows):
            with self._open(e) as z:
                out[i] = read(e, z)
        return out

    def _labels_and_keys(self, rows: list[dict]) -> tuple[np.ndarray, list[str]]:
        """``labels (S,) int64`` (indices into :attr:`class_names`) and the shape keys of ``rows``."""
        labels = np.array([self.class_names.index(e["name"]) for e in rows], dtype=np.int64)
        return labels, [e["key"] for e in rows]


def cache_up_axis(cache_dir) -> str | None:
    """The up axis recorded in the cache at ``cache_dir`` (:attr:`ShapeCache.up_axis`), or None when there
    is no readable cache there (no path; a missing, incomplete or corrupt cache; an unreadable URL). A URL's
    manifest alone is read (no shape is downloaded)."""
    from gen3d.errors import Gen3dError
    from gen3d.geometry.up_axis import DEFAULT_UP_AXIS, UP_AXES
    from gen3d.storage.prepared import is_remote, manifest_bytes

    if not cache_dir:
        return None
    try:
        if is_remote(cache_dir):
            axis = json.loads(manifest_bytes(cache_dir)).get("up_axis", DEFAULT_UP_AXIS)
            return axis if axis in UP_AXES else None
        return ShapeCache(cache_dir).up_axis
    except (Gen3dError, OSError, TypeError, ValueError, AttributeError):
        return None
