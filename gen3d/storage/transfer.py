"""Reading and writing locations (plain paths or fsspec URLs): atomic writes, streamed verified reads.

Atomic writes on object stores: **a local temporary file, then one upload.** The writer produces the whole
object in a local temporary file; only when it has finished without error is the file uploaded to the final
key in a single operation. On S3 that operation is one ``PutObject`` (objects below 2 x s3fs's 50 MiB chunk)
or one multipart upload, and S3 makes an object visible only when the PUT or the
``CompleteMultipartUpload`` succeeds: readers see the old object or the whole new one, never a prefix. s3fs
aborts the multipart upload on any error, so an interrupted upload leaves nothing under the final key (an
abandoned multipart upload is invisible to readers; a bucket lifecycle rule expires its parts). GCS
(single or resumable upload, finalised at the end) and ``memory://`` (one dict assignment) behave the same.

Why not the alternatives: ``fs.open(url, "wb")`` streams parts as they are written and *completes* the
upload when the ``with`` block exits, also when it exits by an exception (fsspec's ``__exit__`` calls
``close``), so a failing writer would publish a half-written object. Writing to a temporary key and copying
costs a server-side copy (one ``CopyObject`` only up to 5 GB), leaves orphaned temporary keys behind when
interrupted, and is no more atomic than the upload itself. The price of the chosen way is local disk space
for one object, which every gen3d writer needs anyway (torch, numpy and PIL write to files).

Plain paths and ``file://`` URLs use :func:`gen3d.atomic.atomic_path` (temporary file + ``os.replace``),
unchanged.

Reads stream in :data:`~gen3d.storage.checksums.CHUNK` pieces into a local file while hashing; a download
whose size differs from the store's listing (or from an expected size / sha256) raises
:class:`~gen3d.storage.errors.IntegrityError` and leaves no file behind.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from gen3d.storage.checksums import copy_hashing
from gen3d.storage.errors import IntegrityError, ObjectNotFoundError, storage_errors
from gen3d.storage.filesystem import open_fs
from gen3d.storage.urls import local_path, redact

__all__ = [
    "atomic_upload_path",
    "create_exclusive",
    "download",
    "exists",
    "fetched",
    "list_names",
    "read_bytes",
    "upload_file",
    "write_bytes",
]


def exists(location: str | os.PathLike, storage_options: dict | None = None) -> bool:
    """Whether a file/object exists at ``location`` (a missing bucket is an error, not False)."""
    lp = local_path(location)
    if lp is not None:
        return lp.is_file()
    url = str(location)
    fs, path = open_fs(url, storage_options)
    with storage_errors(url, "read"):
        try:
            return fs.info(path).get("type") == "file"
        except FileNotFoundError as e:
            if "bucket does not exist" in str(e).lower():  # NoSuchBucket; a fresh prefix is empty
                raise
            return False


def list_names(location: str | os.PathLike, storage_options: dict | None = None) -> list[str]:
    """Names (last path component) of the entries directly under the folder/prefix ``location``; [] when
    there is none."""
    lp = local_path(location)
    if lp is not None:
        return sorted(p.name for p in lp.iterdir()) if lp.is_dir() else []
    url = str(location)
    fs, path = open_fs(url, storage_options)
    with storage_errors(url, "list"):
        try:
            entries = fs.ls(path, detail=False, refresh=True)
        except FileNotFoundError as e:
            if "bucket does not exist" in str(e).lower():  # NoSuchBucket; a fresh prefix is empty
                raise
            return []
    return sorted({str(e).rstrip("/").rsplit("/", 1)[-1] for e in entries} - {""})


def upload_file(
    local: str | os.PathLike, url: str | os.PathLike, storage_options: dict | None = None
) -> None:
    """Upload the complete local file ``local`` to ``url`` in one operation (see the module docstring); a
    local destination (plain path, ``file://``) is copied atomically (temporary file + rename)."""
    lp = local_path(url)
    if lp is not None:
        import shutil

        from gen3d.atomic import atomic_path

        with atomic_path(lp) as tmp:
            shutil.copyfile(local, tmp)
        return
    fs, path = open_fs(str(url), storage_options)
    with storage_errors(str(url), "write"):
        fs.put_file(os.fspath(local), path)


@contextlib.contextmanager
def atomic_upload_path(
    url: str, suffix: str | None = None, storage_options: dict | None = None
) -> Iterator[Path]:
    """Yield a local temporary path to write the object into; on success upload it to ``url`` (one
    operation), on error upload nothing. The temporary file is removed in both cases."""
    open_fs(url, storage_options)  # a missing implementation fails before the writer runs
    name = url.rstrip("/").rsplit("/", 1)[-1]
    sfx = suffix if suffix is not None else (Path(name).suffix or "")
    fd, tmp = tempfile.mkstemp(prefix="gen3d-upload-", suffix=sfx)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        upload_file(tmp_path, url, storage_options)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()


def write_bytes(location: str | os.PathLike, data: bytes, storage_options: dict | None = None) -> None:
    """Write ``data`` to ``location`` atomically (a local file via temp + rename, an object via one PUT)."""
    lp = local_path(location)
    if lp is not None:
        from gen3d.atomic import atomic_write_bytes

        atomic_write_bytes(lp, data)
        return
    url = str(location)
    fs, path = open_fs(url, storage_options)
    with storage_errors(url, "write"):
        fs.pipe_file(path, data)


def create_exclusive(location: str | os.PathLike, data: bytes, storage_options: dict | None = None) -> bool:
    """Write ``data`` to ``location`` only if nothing is there; True when this call created it.

    Local files: a complete temporary file, then ``os.link`` to the target (atomic; fails if the target
    exists). S3: a conditional PUT (``If-None-Match: *``; AWS S3 since 2024, MinIO, moto). Other stores get
    fsspec's ``pipe_file(mode="create")``, which may only check before writing (``memory://`` does) or, for
    gcsfs, is untested here. Callers that need exclusivity read the object back and compare (see
    :mod:`gen3d.storage.registry`).
    """
    lp = local_path(location)
    if lp is not None:
        lp.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{lp.name}.", dir=lp.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            try:
                os.link(tmp, lp)
            except FileExistsError:
                return False
            return True
        finally:
            os.unlink(tmp)
    url = str(location)
    fs, path = open_fs(url, storage_options)
    with storage_errors(url, "write"):
        try:
            fs.pipe_file(path, data, mode="create")
        except FileExistsError:
            return False
    return True


def read_bytes(location: str | os.PathLike, storage_options: dict | None = None) -> bytes:
    """The whole content of a small file/object (manifests, configs, JSON); its size is checked against the
    store's listing."""
    lp = local_path(location)
    if lp is not None:
        if not lp.is_file():
            raise ObjectNotFoundError(f"no file at {lp}")
        return lp.read_bytes()
    url = str(location)
    fs, path = open_fs(url, storage_options)
    with storage_errors(url, "read"):
        size = fs.info(path)["size"]
        data = fs.cat_file(path)
    if size is not None and len(data) != size:
        raise IntegrityError(
            f"{redact(url)}: read {len(data)} of {size} bytes (the object changed or the connection "
            "dropped); retry"
        )
    return data


def download(
    url: str,
    dest: str | os.PathLike,
    size: int | None = None,
    sha256: str | None = None,
    storage_options: dict | None = None,
) -> tuple[int, str]:
    """Stream the object ``url`` into the local file ``dest`` (atomically), hashing on the way.

    The byte count must equal the store's listed size and ``size`` when given, the digest ``sha256`` when
    given; otherwise :class:`IntegrityError` and no ``dest``. Returns ``(size, sha256 hex)``.
    """
    from gen3d.atomic import atomic_path

    shown = redact(url)
    fs, path = open_fs(url, storage_options)
    with storage_errors(url, "read"):
        listed = fs.info(path).get("size")
        with atomic_path(dest, suffix="") as tmp, fs.open(path, "rb") as src, open(tmp, "wb") as dst:
            got_size, got_sha = copy_hashing(src, dst)
            _check(shown, got_size, got_sha, listed, size, sha256)
    return got_size, got_sha


def _check(shown: str, got_size: int, got_sha: str, listed, size: int | None, sha256: str | None) -> None:
    if size is not None and got_size != size:
        raise IntegrityError(
            f"{shown}: {got_size} bytes where the manifest says {size} (a truncated or partial object, "
            "e.g. an interrupted upload): refusing it"
        )
    if listed is not None and got_size != listed:
        raise IntegrityError(f"{shown}: read {got_size} of {listed} bytes (connection dropped?); retry")
    if sha256 is not None and got_sha != sha256:
        raise IntegrityError(
            f"{shown}: sha256 {got_sha[:12]}... differs from the manifest's {sha256[:12]}... (corrupt or "
            "replaced object): refusing it"
        )


@contextlib.contextmanager
def fetched(
    location: str | os.PathLike, suffix: str = "", storage_options: dict | None = None
) -> Iterator[Path]:
    """A local path holding the content of ``location``: the file itself for plain paths and ``file://``
    URLs, else a streamed download into a temporary file, removed when the block ends."""
    lp = local_path(location)
    if lp is not None:
        yield lp
        return
    fd, tmp = tempfile.mkstemp(prefix="gen3d-fetch-", suffix=suffix)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        download(str(location), tmp_path, storage_options=storage_options)
        yield tmp_path
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
