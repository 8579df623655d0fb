"""Telling URLs from plain paths, and writing them down safely.

A *location* in gen3d is either a plain local path (``runs/x/last.ckpt``, ``/data/cache``) or an fsspec URL
``<protocol>://...`` (``s3://bucket/key``, ``gs://bucket/key``, ``memory://name``, ``file:///abs/path``).
Plain paths keep gen3d's local behaviour exactly (``gen3d.atomic``, ``pathlib``); URLs go through
:mod:`gen3d.storage.transfer`. Nothing here imports fsspec.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import unquote

__all__ = ["is_url", "join_url", "local_path", "protocol_of", "redact"]

_URL = re.compile(r"^(?P<protocol>[A-Za-z][A-Za-z0-9+.\-]*)://(?P<rest>.*)$", re.DOTALL)
_USERINFO = re.compile(r"^(?P<protocol>[A-Za-z][A-Za-z0-9+.\-]*://)[^/@]*@")


def is_url(location: str | os.PathLike) -> bool:
    """True for ``<protocol>://...`` strings (``s3://b/k``, ``file:///x``); False for plain paths and
    :class:`pathlib.Path` objects (a Path has already lost the ``//`` of a URL)."""
    return isinstance(location, str) and _URL.match(location) is not None


def protocol_of(location: str | os.PathLike) -> str:
    """``"s3"``, ``"gs"``, ``"memory"``, ``"file"``, ...; ``"file"`` for a plain path."""
    m = _URL.match(location) if isinstance(location, str) else None
    return m.group("protocol").lower() if m else "file"


def local_path(location: str | os.PathLike) -> Path | None:
    """The local path of a plain path or a ``file://`` URL; None for any other URL."""
    if not is_url(location):
        return Path(location)
    if protocol_of(location) != "file":
        return None
    rest = _URL.match(str(location)).group("rest")  # type: ignore[union-attr]
    return Path(unquote(rest if rest.startswith("/") else "/" + rest.partition("/")[2]))


def join_url(base: str | os.PathLike, *parts: str) -> str:
    """``base/part/...`` for a URL or a plain path (one ``/`` between parts; parts must be relative)."""
    for p in parts:
        if not p or p.startswith("/") or ".." in p.split("/"):
            raise ValueError(f"join_url: part {p!r} must be a non-empty relative name without '..'")
    if not is_url(base):
        return str(Path(base).joinpath(*parts))
    out = str(base).rstrip("/")
    return "/".join([out, *parts])


def redact(location: str | os.PathLike) -> str:
    """``location`` fit for messages, logs and records: user info (``s3://KEY:SECRET@bucket``) and query
    strings (signed URLs carry credentials there) removed."""
    s = os.fspath(location)
    if not is_url(s):
        return s
    s = _USERINFO.sub(lambda m: m.group("protocol"), s)
    return s.split("?", 1)[0]
