"""fsspec file systems for gen3d's URLs, configured the way fsspec and boto users already configure them.

Credentials and endpoints are never part of a gen3d config or record. They come from, in increasing order:

1. gen3d's defaults for S3 (:data:`S3_DEFAULTS`): a short connect timeout and few retries, so a wrong or
   unreachable endpoint fails in seconds instead of hanging;
2. botocore's own environment and profiles (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``,
   ``AWS_PROFILE``, ``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_S3``, ``~/.aws/config``), read by s3fs itself;
3. fsspec's configuration (``FSSPEC_S3_ENDPOINT_URL=...``, ``FSSPEC_S3='{"anon": true}'``, or a JSON/INI
   file in ``FSSPEC_CONFIG_DIR``), merged key by key over the defaults (nested ``config_kwargs`` too);
4. the ``storage_options`` a caller passes (e.g. ``{"endpoint_url": "http://127.0.0.1:9000"}``).

The s3fs / gcsfs modules are imported by fsspec when a URL of theirs is first opened, never when gen3d is
imported.
"""

from __future__ import annotations

import copy
from typing import Any

from gen3d.storage.errors import storage_errors
from gen3d.storage.urls import is_url, protocol_of

__all__ = ["S3FS_RETRIES", "S3_DEFAULTS", "open_fs", "options_for"]

#: gen3d's defaults for ``s3://``: connect within 5 s, 2 attempts per request (botocore's retry loop, inside
#: s3fs's own loop of :data:`S3FS_RETRIES`), reads that stall for 60 s fail, and no listing is
#: cached (a registry written by another process must be seen as it is now).
S3_DEFAULTS: dict[str, Any] = {
    "use_listings_cache": False,
    "config_kwargs": {
        "connect_timeout": 5,
        "read_timeout": 60,
        "retries": {"total_max_attempts": 2, "mode": "standard"},
    },
}


#: attempts of s3fs's own retry loop around each request (timeouts, dropped connections)
S3FS_RETRIES = 2


def _merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def options_for(url: str, storage_options: dict | None = None) -> dict:
    """The storage options for ``url``: gen3d's defaults < fsspec's configuration < ``storage_options``."""
    import fsspec.config

    protocol = protocol_of(url)
    base = S3_DEFAULTS if protocol in ("s3", "s3a") else {}
    conf = fsspec.config.conf.get(protocol, {})
    return _merge(_merge(base, conf), storage_options or {})


def open_fs(url: str, storage_options: dict | None = None) -> tuple[Any, str]:
    """``(fsspec file system, path inside it)`` for the URL ``url`` (``s3://b/k`` -> (S3FileSystem, "b/k")).

    A missing implementation (``gs://`` without gcsfs) raises
    :class:`~gen3d.storage.errors.StorageUnavailableError`.
    """
    if not is_url(url):
        raise ValueError(f"open_fs: {url!r} is not a URL")
    import fsspec.core

    with storage_errors(url, "open"):
        try:
            fs, path = fsspec.core.url_to_fs(url, **options_for(url, storage_options))
        except ValueError as e:
            if "protocol not known" not in str(e).lower():
                raise
            raise ImportError(str(e)) from e
    if protocol_of(url) in ("s3", "s3a") and getattr(fs, "retries", 0) > S3FS_RETRIES:
        fs.retries = S3FS_RETRIES  # s3fs's own retry loop (a class attribute, 5): not a constructor option
    return fs, path
