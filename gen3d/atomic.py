"""Atomic file writes: a file either appears complete or not at all.

Every cache file, checkpoint, sample file and export in gen3d goes through :func:`atomic_path`: the data is
written to a temporary file in the destination folder, flushed to disk, then renamed over the target
(``os.replace`` is atomic on POSIX and Windows within one file system). An interrupted write leaves the old
file (or nothing) behind, never a truncated one.

A destination given as an fsspec URL string (``s3://bucket/key``, ``memory://x``; see :mod:`gen3d.storage`)
is written the same way on the object store: the writer fills a local temporary file, which is uploaded to
the key in one operation only after the writer succeeded (:func:`gen3d.storage.transfer.atomic_upload_path`).
``file://`` URLs are local paths.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_path", "atomic_write_bytes", "atomic_write_text", "save_npz_atomic"]


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success rename it to ``path``, on error delete it.

    ``suffix`` defaults to the target's suffix (some writers pick the format from it, e.g. ``.glb``).
    A URL string ``path`` is uploaded after success instead of renamed (see the module docstring).
    """
    if isinstance(path, str) and "://" in path:
        from gen3d.storage.transfer import atomic_upload_path
        from gen3d.storage.urls import is_url, local_path

        if is_url(path):
            lp = local_path(path)
            if lp is None:
                with atomic_upload_path(path, suffix) as upload_tmp:
                    yield upload_tmp
                return
            path = lp
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=suffix if suffix is not None else path.suffix, dir=path.parent
    )
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as f:
            os.fsync(f.fileno())
        # mkstemp creates the file owner-only (0600); give it the permissions a plain open() would
        os.chmod(tmp_path, 0o666 & ~_umask())
        os.replace(tmp_path, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


def _umask() -> int:
    """The process umask (read by setting and restoring it; there is no getter)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def save_npz_atomic(path: str | os.PathLike, compressed: bool = False, **arrays) -> None:
    """``numpy.savez`` to ``path`` atomically (``path`` should end in ``.npz``)."""
    import numpy as np

    with atomic_path(path, suffix=".npz") as tmp:
        with open(tmp, "wb") as f:
            (np.savez_compressed if compressed else np.savez)(f, **arrays)
