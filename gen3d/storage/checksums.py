"""Sizes and sha256 digests, computed while streaming (never a whole object in memory)."""

from __future__ import annotations

import hashlib
import os
from typing import BinaryIO

__all__ = ["CHUNK", "copy_hashing", "sha256_file"]

#: bytes per read while streaming (8 MiB)
CHUNK = 8 * 2**20


def copy_hashing(src: BinaryIO, dst: BinaryIO | None = None) -> tuple[int, str]:
    """Copy ``src`` to ``dst`` (None: only hash) in :data:`CHUNK` reads; returns ``(size, sha256 hex)``."""
    h = hashlib.sha256()
    size = 0
    while chunk := src.read(CHUNK):
        h.update(chunk)
        size += len(chunk)
        if dst is not None:
            dst.write(chunk)
    return size, h.hexdigest()


def sha256_file(path: str | os.PathLike) -> tuple[int, str]:
    """``(size in bytes, sha256 hex)`` of the local file ``path``."""
    with open(path, "rb") as f:
        return copy_hashing(f)
