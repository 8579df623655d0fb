"""Content hashes: of a step's inputs (canonical JSON) and of its artefacts (files and folders).

The key of a step is :func:`json_digest` of its resolved inputs and its upstream artefacts' digests, so two
runs with the same key would compute the same thing; an artefact's digest is the sha256 of its bytes (a
folder: of every file's relative path and sha256, in sorted order), so an artefact changed or removed on
disk is noticed and its step runs again.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

__all__ = ["json_digest", "location_digest", "path_digest"]


def json_digest(value) -> str:
    """sha256 (hex) of ``value`` as canonical JSON (sorted keys, no spaces; non-JSON values by ``str``)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def path_digest(path: str | Path) -> str | None:
    """sha256 (hex) of a local file, or of a folder's files (relative paths and contents); None when the
    path does not exist or is an empty folder. Temporary files of :mod:`gen3d.atomic` (``.name.*``) are left
    out, so an interrupted writer does not change a folder's digest."""
    from gen3d.storage.checksums import sha256_file

    p = Path(path)
    if p.is_file():
        return sha256_file(p)[1]
    if not p.is_dir():
        return None
    files = sorted(f for f in p.rglob("*") if f.is_file() and not f.name.startswith("."))
    if not files:
        return None
    entries = [(f.relative_to(p).as_posix(), sha256_file(f)[1]) for f in files]
    return json_digest(entries)


def location_digest(location: str) -> str | None:
    """:func:`path_digest` of a local path or ``file://`` URL; for another URL (``s3://b/k``) the sha256 of
    the object, streamed (one download); None when there is no such object. A missing bucket or an
    unreachable endpoint raises (:mod:`gen3d.storage.errors`)."""
    from gen3d.storage.urls import local_path

    lp = local_path(location)
    if lp is not None:
        return path_digest(lp)
    from gen3d.storage.checksums import copy_hashing
    from gen3d.storage.errors import storage_errors
    from gen3d.storage.filesystem import open_fs
    from gen3d.storage.transfer import exists

    if not exists(location):
        return None
    fs, key = open_fs(location)
    with storage_errors(location, "read"), fs.open(key, "rb") as f:
        return copy_hashing(f)[1]
