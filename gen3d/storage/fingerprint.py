"""The data fingerprint of a trained model: which prepared data it learned from, in a form that names the
data without shipping it.

``data_fingerprint(config) -> dict`` with ``type``, ``n_points`` / ``resolution``, ``class_names``, the
config's ``categories`` and ``cache_dir``, and, when the cache named by ``data.cache_dir`` is readable here (a
local folder holding ``manifest.json``, see ``datasets/prepare.py``, or a URL whose manifest is read, see
:mod:`gen3d.storage.prepared`): ``cache_manifest_sha256`` (the digest of that manifest: two caches with the
same digest hold the same shapes, the same way prepared), ``normalization`` (kind and global parameters),
``categories`` and ``splits`` counted from its shapes, and the preparation ``params``. Without a readable
cache these are None and ``note`` says why.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

from gen3d.errors import Gen3dError
from gen3d.storage.prepared import is_remote, manifest_bytes
from gen3d.storage.urls import join_url, redact

__all__ = ["data_fingerprint"]


def data_fingerprint(config: dict) -> dict:
    """See the module docstring. ``config`` is a resolved gen3d config (``config["data"]``, ...)."""
    data = config["data"]
    fp: dict = {
        "type": data.get("type"),
        "n_points": data.get("n_points"),
        "resolution": data.get("resolution"),
        "class_names": config["experiment"].get("class_names"),
        "config_categories": data.get("categories"),
        "cache_dir": data.get("cache_dir"),
        "cache_manifest_sha256": None,
        "normalization": None,
        "categories": None,
        "splits": None,
        "params": None,
    }
    cache_dir = data.get("cache_dir")
    if is_remote(cache_dir):
        manifest = redact(join_url(str(cache_dir), "manifest.json"))
        try:
            raw = manifest_bytes(str(cache_dir))
        except Gen3dError as e:
            fp["note"] = f"no cache manifest readable at publish time ({e})"
            return fp
    else:
        path = Path(cache_dir) / "manifest.json" if cache_dir else None
        if path is None or not path.is_file():
            fp["note"] = f"no cache manifest readable at publish time ({path or 'data.cache_dir unset'})"
            return fp
        manifest, raw = str(path), path.read_bytes()
    try:
        m = json.loads(raw)
        shapes = m["shapes"]
        fp["normalization"] = m["normalization"]
        fp["params"] = m.get("params")
    except (ValueError, KeyError, TypeError) as e:
        fp["note"] = f"cache manifest {manifest} is unreadable ({e})"
        return fp
    fp["cache_manifest_sha256"] = hashlib.sha256(raw).hexdigest()
    fp["categories"] = dict(sorted(Counter(str(s.get("category")) for s in shapes).items()))
    fp["splits"] = dict(sorted(Counter(str(s.get("split")) for s in shapes).items()))
    return fp
