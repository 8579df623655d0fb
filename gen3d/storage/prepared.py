"""Prepared shape caches (``gen3d prepare``) at URLs: a verified local copy for readers, an upload for
writers.

A prepared cache is a folder whose ``manifest.json`` (written last) lists every shape file
(``shapes[i]["file"]``, relative to the folder) and, for caches prepared since gen3d records them, each file's
``bytes`` and ``sha256`` (see ``datasets/prepare.py``). On an object store the same layout lives under a
prefix (``s3://bucket/caches/chairs/manifest.json``, ``.../shapes/<category>/<model>.npz``).

**Reading** (:func:`resolve_cache`, called by :class:`gen3d.datasets.cache.ShapeCache` for every reader:
training, ``gen3d evaluate``, ``gen3d sample --denormalize``, diagnostics): a URL is resolved to a local copy,
``<root>/caches/sha256/<digest>/``, where ``<root>`` is the registry's local cache folder
(:func:`gen3d.storage.cache.cache_root`: ``$GEN3D_CACHE_DIR``, else ``$XDG_CACHE_HOME/gen3d``, else
``~/.cache/gen3d``) and ``<digest>`` the sha256 of the remote ``manifest.json`` bytes (the data fingerprint's
``cache_manifest_sha256``). Content-addressed: an unchanged remote cache is not downloaded again (one GET of
its manifest, then a ``stat`` of every local file), a changed one (a new manifest) gives a new copy.

A download lists the prefix once, refuses a manifest-listed file that is missing or whose listed size differs
from the manifest's before fetching anything, fetches the files concurrently (fsspec's batched ``get``) into a
private temporary folder ``<root>/caches/.partial-<digest>-<host>-<pid>-<random>``, checks every file's size
(against the listing and the manifest) and, where the manifest lists it, its sha256, fsyncs it, and only
then renames the folder to its final name. An interrupted download therefore never looks like a copy; its
leftover folder is removed by the next download on the same host once its process is gone. A manifest
without checksums (caches prepared before they were recorded) is checked by sizes only, and the copy's
``download.json`` says so (``"verified": "size"``).

**Writing** (:func:`upload_cache`, called by :func:`gen3d.datasets.prepare.prepare` for a URL ``--out``):
the cache is prepared in a local working folder, :func:`staging_dir` (``<root>/staging/<hash of the URL>``,
kept so that an interrupted or repeated run resumes there), then every shape file plus ``params.json`` and
``report.json`` is uploaded (each object whole, concurrently) and ``manifest.json`` last, so a reader never
sees a manifest before all its files are there. A remote manifest that differs from the new one is deleted
*before* the upload starts: while files are replaced, readers find no cache (one clear line) instead of an
old manifest next to new files. A remote prefix that already holds exactly this manifest and its files is
left alone.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import socket
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

from gen3d.errors import UserInputError
from gen3d.storage.errors import IntegrityError, ObjectNotFoundError, storage_errors
from gen3d.storage.urls import is_url, join_url, local_path, redact

__all__ = [
    "MANIFEST",
    "CacheFile",
    "UploadResult",
    "cache_files",
    "is_remote",
    "manifest_bytes",
    "remote_params",
    "resolve_cache",
    "staging_dir",
    "upload_cache",
]

log = logging.getLogger(__name__)

#: the file whose presence marks a complete cache (written and uploaded last)
MANIFEST = "manifest.json"
#: small files of the cache folder copied along when present (not needed by readers)
EXTRAS = ("params.json", "report.json")
#: the record a local copy keeps of where it came from and how it was checked
RECORD = "download.json"


@dataclass(frozen=True)
class CacheFile:
    """One file of a cache: its path relative to the cache folder and, when the manifest records them, its
    size in bytes and sha256."""

    rel: str
    size: int | None = None
    sha256: str | None = None


@dataclass(frozen=True)
class UploadResult:
    """What :func:`upload_cache` did: ``files`` uploaded (0 when the remote cache was already this one) and
    their ``bytes``."""

    files: int
    bytes: int
    up_to_date: bool


def is_remote(location: str | os.PathLike | None) -> bool:
    """Whether ``location`` is a URL of an object store (not a plain path, not ``file://``)."""
    return location is not None and is_url(location) and local_path(location) is None


def _safe_rel(rel: object, where: str) -> str:
    if not isinstance(rel, str) or not rel or rel.startswith("/") or "\\" in rel:
        raise UserInputError(f"{where}: bad file name {rel!r} in the manifest; re-run `gen3d prepare`")
    if any(part in ("", ".", "..") for part in rel.split("/")):
        raise UserInputError(f"{where}: bad file name {rel!r} in the manifest; re-run `gen3d prepare`")
    return rel


def cache_files(manifest: dict, where: str = "the cache") -> list[CacheFile]:
    """The shape files a parsed cache manifest lists (sizes and digests where recorded); UserInputError for
    a manifest without a shape list or with an unsafe file name (absolute, ``..``)."""
    shapes = manifest.get("shapes") if isinstance(manifest, dict) else None
    if not isinstance(shapes, list):
        raise UserInputError(f"{where}: the manifest lists no shapes; re-run `gen3d prepare`")
    out: list[CacheFile] = []
    for s in shapes:
        if not isinstance(s, dict):
            raise UserInputError(f"{where}: a manifest entry is not an object; re-run `gen3d prepare`")
        size, sha = s.get("bytes"), s.get("sha256")
        out.append(
            CacheFile(
                _safe_rel(s.get("file"), where),
                int(size) if isinstance(size, int) else None,
                sha if isinstance(sha, str) else None,
            )
        )
    return out


def manifest_bytes(location: str | os.PathLike, storage_options: dict | None = None) -> bytes:
    """The bytes of the cache manifest at ``location`` (a folder or a URL prefix), without downloading the
    shapes; one-line errors for a missing bucket and for a location that holds no manifest."""
    lp = local_path(location)
    if lp is not None:
        path = lp / MANIFEST
        if not path.is_file():
            raise UserInputError(f"{lp} is not a complete shape cache (no {MANIFEST})")
        return path.read_bytes()
    url = str(location).rstrip("/")
    from gen3d.storage.transfer import list_names, read_bytes

    try:
        return read_bytes(join_url(url, MANIFEST), storage_options)
    except ObjectNotFoundError:
        names = list_names(url, storage_options)  # a missing bucket is reported as such here
        there = (
            f"the prefix holds {', '.join(names[:3])}{', ...' if len(names) > 3 else ''} but no {MANIFEST}: "
            "an upload that did not finish (gen3d prepare uploads the manifest last) or not a cache"
            if names
            else "nothing is there"
        )
        raise UserInputError(
            f"{redact(url)} is not a prepared cache ({there}); write one with "
            f"`gen3d prepare <layout> <root> --out {redact(url)}`"
        ) from None


def _parse(raw: bytes, where: str) -> dict:
    try:
        manifest = json.loads(raw)
    except ValueError as e:
        raise UserInputError(f"{where}/{MANIFEST} is corrupt ({e}); re-run `gen3d prepare`") from None
    if not isinstance(manifest, dict):
        raise UserInputError(f"{where}/{MANIFEST} is not a cache manifest; re-run `gen3d prepare`")
    return manifest


def resolve_cache(location: str | os.PathLike, storage_options: dict | None = None) -> Path:
    """The local folder of the prepared cache at ``location``: the folder itself for a plain path or a
    ``file://`` URL (not checked here), else a verified local copy of the remote cache (module docstring)."""
    lp = local_path(location)
    if lp is not None:
        return lp
    url = str(location).rstrip("/")
    shown = redact(url)
    raw = manifest_bytes(url, storage_options)
    files = cache_files(_parse(raw, shown), shown)
    digest = hashlib.sha256(raw).hexdigest()
    from gen3d.storage.cache import cache_root

    base = cache_root() / "caches"
    final = base / "sha256" / digest
    if final.is_dir():
        if _intact(final, raw):
            log.info("prepared cache %s: local copy %s", shown, final)
            return final
        log.warning("local copy %s of %s is damaged; downloading it again", final, shown)
        shutil.rmtree(final, ignore_errors=True)
    return _download(url, raw, files, digest, base, final, storage_options)


def _intact(folder: Path, raw: bytes) -> bool:
    """A local copy whose manifest is ``raw`` and whose files have the sizes recorded at download."""
    try:
        if (folder / MANIFEST).read_bytes() != raw:
            return False
        record = json.loads((folder / RECORD).read_text(encoding="utf-8"))
        return all((folder / rel).stat().st_size == size for rel, size in record["files"].items())
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False


def _listing(url: str, storage_options: dict | None) -> dict[str, int]:
    """``{relative path: size}`` of every object under the prefix ``url`` (one recursive listing)."""
    from gen3d.storage.filesystem import open_fs

    fs, root = open_fs(url, storage_options)
    root = root.rstrip("/")
    with storage_errors(url, "list"):
        try:
            found = fs.find(root, detail=True)
        except FileNotFoundError as e:
            if "bucket does not exist" in str(e).lower():  # NoSuchBucket; a fresh prefix is empty
                raise
            found = {}
    out: dict[str, int] = {}
    for path, info in found.items():
        path = str(path)
        if info.get("type", "file") == "file" and path.startswith(root + "/"):
            out[path[len(root) + 1 :]] = int(info.get("size") or 0)
    return out


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. PermissionError: the process exists
        return True
    return True


def _remove_dead_partials(base: Path) -> None:
    """Remove temporary download folders of this host whose process is gone (interrupted downloads)."""
    host = socket.gethostname()
    with contextlib.suppress(OSError):
        for p in base.glob(".partial-*"):
            parts = p.name.split("-")  # .partial, digest, host..., pid, random
            if len(parts) < 5 or "-".join(parts[2:-2]) != host or not parts[-2].isdigit():
                continue
            if not _pid_alive(int(parts[-2])):
                shutil.rmtree(p, ignore_errors=True)


def _download(
    url: str,
    raw: bytes,
    files: list[CacheFile],
    digest: str,
    base: Path,
    final: Path,
    storage_options: dict | None,
) -> Path:
    from gen3d.storage.checksums import copy_hashing
    from gen3d.storage.filesystem import open_fs

    shown = redact(url)
    listing = _listing(url, storage_options)
    missing = [f.rel for f in files if f.rel not in listing]
    if missing:
        raise UserInputError(
            f"{shown}: {len(missing)} of the {len(files)} shape files its manifest lists are missing (first: "
            f"{missing[0]}): an incomplete or partly deleted upload; upload it again with "
            f"`gen3d prepare ... --out {shown}`"
        )
    for f in files:
        if f.size is not None and listing[f.rel] != f.size:
            raise IntegrityError(
                f"{shown}/{f.rel}: {listing[f.rel]} bytes where the manifest says {f.size} (a truncated or "
                "partial object, e.g. an interrupted upload): refusing it"
            )
    rels = [f.rel for f in files] + [n for n in EXTRAS if n in listing]
    checksums = all(f.sha256 is not None and f.size is not None for f in files)
    base.mkdir(parents=True, exist_ok=True)
    _remove_dead_partials(base)
    tmp = base / f".partial-{digest[:16]}-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    total = sum(listing[rel] for rel in rels)
    print(
        f"gen3d: downloading prepared cache {shown} ({len(rels)} files, {total / 2**20:.1f} MiB) to {final}",
        file=sys.stderr,
    )
    try:
        fs, root = open_fs(url, storage_options)
        root = root.rstrip("/")
        for rel in rels:
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
        with storage_errors(url, "read"):
            fs.get([f"{root}/{rel}" for rel in rels], [os.fspath(tmp / rel) for rel in rels])
        expected = {f.rel: f for f in files}
        sizes: dict[str, int] = {}
        for rel in rels:
            with open(tmp / rel, "rb") as fh:
                size, sha = copy_hashing(fh)
                os.fsync(fh.fileno())
            want = expected.get(rel, CacheFile(rel))
            if size != listing[rel] or (want.size is not None and size != want.size):
                raise IntegrityError(
                    f"{shown}/{rel}: read {size} of {want.size or listing[rel]} bytes (the object changed or "
                    "the connection dropped): refusing it; retry"
                )
            if want.sha256 is not None and sha != want.sha256:
                raise IntegrityError(
                    f"{shown}/{rel}: sha256 {sha[:12]}... differs from the manifest's {want.sha256[:12]}... "
                    "(a corrupt or replaced object): refusing it"
                )
            sizes[rel] = size
        record = {
            "source": shown,
            "manifest_sha256": digest,
            "verified": "sha256" if checksums else "size",
            "files": sizes,
        }
        (tmp / RECORD).write_text(json.dumps(record, indent=1), encoding="utf-8")
        (tmp / MANIFEST).write_bytes(raw)
        final.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.rename(tmp, final)
        except OSError:
            if not final.is_dir():  # pragma: no cover - rename fails for another reason than a race
                raise
            shutil.rmtree(tmp, ignore_errors=True)  # another process finished the same copy first
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info("prepared cache %s: downloaded %d files, %d bytes, to %s", shown, len(rels), total, final)
    if not checksums:
        log.warning(
            "prepared cache %s: checked by sizes only (its manifest records no checksums; re-run "
            "`gen3d prepare` on it to add them)",
            shown,
        )
    return final


def staging_dir(url: str) -> Path:
    """The local working folder where ``gen3d prepare --out <url>`` prepares the cache before uploading it
    (``<root>/staging/<16 hex of the URL's sha256>``; kept, so a re-run resumes there)."""
    from gen3d.storage.cache import cache_root

    key = hashlib.sha256(redact(str(url)).rstrip("/").encode()).hexdigest()[:16]
    return cache_root() / "staging" / key


def remote_params(url: str, storage_options: dict | None = None) -> dict | None:
    """The ``params.json`` of the cache under the prefix ``url``, None when there is none (or it is not a
    JSON object); a missing bucket is an error (one listing of the prefix's top level, before any work)."""
    from gen3d.storage.transfer import list_names, read_bytes

    url = url.rstrip("/")
    if "params.json" not in list_names(url, storage_options):
        return None
    try:
        data = json.loads(read_bytes(join_url(url, "params.json"), storage_options))
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def upload_cache(local: str | os.PathLike, url: str, storage_options: dict | None = None) -> UploadResult:
    """Upload the complete local cache ``local`` to the prefix ``url``: its shape files, ``params.json`` and
    ``report.json``, then ``manifest.json`` last (module docstring)."""
    from gen3d.storage.filesystem import open_fs
    from gen3d.storage.transfer import read_bytes, upload_file

    local = Path(local)
    url = url.rstrip("/")
    shown = redact(url)
    raw = (local / MANIFEST).read_bytes()
    files = cache_files(_parse(raw, str(local)), str(local))
    rels = [f.rel for f in files] + [n for n in EXTRAS if (local / n).is_file()]
    sizes = {rel: (local / rel).stat().st_size for rel in rels}
    listing = _listing(url, storage_options)  # a missing bucket fails here, before any upload
    if MANIFEST in listing:
        same = read_bytes(join_url(url, MANIFEST), storage_options) == raw
        if same and all(listing.get(rel) == sizes[rel] for rel in rels):
            return UploadResult(0, 0, True)
        fs, root = open_fs(url, storage_options)
        with storage_errors(url, "write"):
            fs.rm_file(f"{root.rstrip('/')}/{MANIFEST}")  # readers see no cache while files change
    fs, root = open_fs(url, storage_options)
    root = root.rstrip("/")
    with storage_errors(url, "write"):
        fs.put([os.fspath(local / rel) for rel in rels], [f"{root}/{rel}" for rel in rels])
    after = _listing(url, storage_options)
    short = [rel for rel in rels if after.get(rel) != sizes[rel]]
    if short:
        raise IntegrityError(
            f"{shown}/{short[0]}: the store lists {after.get(short[0])} bytes after the upload of "
            f"{sizes[short[0]]}; the manifest was not uploaded: retry"
        )
    upload_file(local / MANIFEST, join_url(url, MANIFEST), storage_options)
    return UploadResult(len(rels) + 1, sum(sizes.values()) + len(raw), False)
