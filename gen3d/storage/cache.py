"""A local, content-addressed cache of verified objects: what pays to keep when a model is sampled often.

An object downloaded from a registry is stored as ``<root>/objects/sha256/<ab>/<digest>``, only after its
size and sha256 matched the manifest (:func:`gen3d.storage.transfer.download` writes it atomically), so a
cache entry is never a partial download. A hit is re-hashed before use (a local disk can corrupt too) and
re-downloaded when it does not match. The root is ``$GEN3D_CACHE_DIR``, else ``$XDG_CACHE_HOME/gen3d``, else
``~/.cache/gen3d``. Objects of a local registry (plain path or ``file://``) are verified in place, not copied.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from gen3d.storage.checksums import sha256_file
from gen3d.storage.errors import IntegrityError, ObjectNotFoundError
from gen3d.storage.transfer import download
from gen3d.storage.urls import local_path, redact

__all__ = ["cache_root", "verified_local_copy"]


def cache_root() -> Path:
    """The cache folder (see the module docstring); not created here."""
    if os.environ.get("GEN3D_CACHE_DIR"):
        return Path(os.environ["GEN3D_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "gen3d"


def verified_local_copy(location: str, size: int, sha256: str, root: Path | None = None) -> Path:
    """A local file holding the object ``location`` whose size is ``size`` and sha256 ``sha256``.

    Raises :class:`IntegrityError` when the object (or a local registry's file) does not match.
    """
    lp = local_path(location)
    if lp is not None:
        if not lp.is_file():
            raise ObjectNotFoundError(f"no file at {lp} (listed in the manifest)")
        got = sha256_file(lp)
        if got != (size, sha256):
            raise IntegrityError(
                f"{lp}: {got[0]} bytes, sha256 {got[1][:12]}... where the manifest says {size} bytes, "
                f"{sha256[:12]}... (truncated, partial or replaced): refusing it"
            )
        return lp
    dest = (root or cache_root()) / "objects" / "sha256" / sha256[:2] / sha256
    if dest.is_file():
        if sha256_file(dest) == (size, sha256):
            return dest
        with contextlib.suppress(FileNotFoundError):
            dest.unlink()
    download(location, dest, size=size, sha256=sha256)
    if not dest.is_file():  # pragma: no cover - download either writes dest or raises
        raise IntegrityError(f"{redact(location)}: download left no file")
    return dest
