"""Mirror a local file that a job rewrites (a training run's ``last.ckpt``) to an object store.

``FileMirror(local, url).sync()`` uploads ``local`` to ``url`` when its size or modification time changed
since the last upload; each upload is one atomic operation (:func:`gen3d.storage.transfer.upload_file`), so
the object under ``url`` is always a complete earlier or later version of the file, never a mix. The local
file is itself written atomically by gen3d (``os.replace``), so it is complete whenever it is seen. Nothing
here imports Lightning: ``gen3d fit --mirror`` calls :meth:`FileMirror.sync` from a callback.
"""

from __future__ import annotations

import os
from pathlib import Path

from gen3d.storage.transfer import upload_file

__all__ = ["FileMirror"]


class FileMirror:
    """Uploads ``local`` to ``url`` on :meth:`sync` whenever it changed; ``uploads`` counts the uploads."""

    def __init__(self, local: str | os.PathLike, url: str) -> None:
        self.local = Path(local)
        self.url = url
        self.uploads = 0
        self._seen: tuple[int, int] | None = None

    def sync(self) -> bool:
        """Upload if the file exists and changed since the last upload; True when it uploaded."""
        try:
            st = self.local.stat()
        except FileNotFoundError:
            return False
        stamp = (st.st_size, st.st_mtime_ns)
        if stamp == self._seen:
            return False
        upload_file(self.local, self.url)
        self._seen = stamp
        self.uploads += 1
        return True
