"""Object storage for every path gen3d reads or writes: fsspec URLs (``s3://``, ``gs://``, ``file://``,
``memory://``) and plain paths, atomic writes on object stores, and the model registry in a bucket.

Modules (each imports fsspec, s3fs and torch only inside its functions or not at all):

* :mod:`~gen3d.storage.urls`: URL or path, joining, redacting credentials (no fsspec);
* :mod:`~gen3d.storage.filesystem`: fsspec file systems with gen3d's short timeouts, configured by
  environment, profiles, fsspec config or ``storage_options``;
* :mod:`~gen3d.storage.errors`: one-line errors (no such bucket, access denied, unreachable endpoint, a
  partial object);
* :mod:`~gen3d.storage.transfer`: atomic writes (local temporary file + one upload), streamed verified
  downloads, exclusive creates;
* :mod:`~gen3d.storage.prepared`: prepared shape caches at URLs (a verified, content-addressed local copy for
  readers; ``gen3d prepare --out <URL>`` uploads manifest last);
* :mod:`~gen3d.storage.registry`, :mod:`~gen3d.storage.publish`, :mod:`~gen3d.storage.load`,
  :mod:`~gen3d.storage.model_card`, :mod:`~gen3d.storage.fingerprint`, :mod:`~gen3d.storage.cache`: the model
  registry (``gen3d publish``, ``gen3d models``, ``gen3d sample --model``).

Layering: ``urls``, ``errors``, ``filesystem``, ``checksums`` and ``transfer`` import only fsspec (lazily),
``gen3d.errors`` and ``gen3d.atomic``, so the shared helper :mod:`gen3d.atomic` may call them; ``prepared``
adds ``cache`` (the local cache root) and is imported lazily by the data wing (``ShapeCache``,
``prepare``); ``publish`` and ``load`` import :mod:`gen3d.models` (inference layer), never Lightning.
"""

from gen3d.storage.urls import is_url, join_url, local_path, protocol_of, redact

__all__ = ["is_url", "join_url", "local_path", "protocol_of", "redact"]
