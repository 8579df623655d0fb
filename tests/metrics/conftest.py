"""Fixtures for the metrics tests: small random and structured point sets."""

import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture
def naive_cd():
    return _naive_cd


def _naive_cd(x, y):
    """Chamfer distance by explicit float64 loops over point pairs (reference implementation)."""
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    rows = [min(((a - b) ** 2).sum() for b in y) for a in x]
    cols = [min(((a - b) ** 2).sum() for a in x) for b in y]
    return sum(rows) / len(x) + sum(cols) / len(y)
