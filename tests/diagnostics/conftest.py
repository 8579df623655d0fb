"""Diagnostics fixtures: the training area's tiny mesh collection and cache, and a tiny checkpoint written by
the real components (``tests/core/conftest.py``)."""

import pytest

from tests.training.conftest import tiny_cache, tiny_collection  # noqa: F401  (fixtures reused as they are)


@pytest.fixture(scope="session")
def tiny_points_ckpt(tmp_path_factory):
    from tests.core.conftest import write_checkpoint

    return write_checkpoint(tmp_path_factory.mktemp("diag_ckpt") / "edm.ckpt", "edm")[0]
