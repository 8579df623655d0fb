"""Object storage for every path gen3d reads or writes: fsspec URLs (``s3://``, ``gs://``, ``file://``,
``memory://``) and plain paths, atomic writes on object stores, and the model registry in a bucket."""
