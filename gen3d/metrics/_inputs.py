"""Validation and layout of point-set inputs shared by the metric modules (not public API)."""

from __future__ import annotations

import numpy as np

from gen3d.errors import UserInputError

__all__ = ["as_cloud", "as_cloud_set", "to_soa_padded"]


def _to_numpy(a) -> np.ndarray:
    if hasattr(a, "detach"):  # torch tensor
        a = a.detach().cpu().numpy()
    return np.asarray(a)


def as_cloud(x, name: str = "x") -> np.ndarray:
    """One point cloud ``(N, 3)`` as float32, finite and non-empty, else :class:`UserInputError`."""
    x = _to_numpy(x)
    if x.ndim != 2 or x.shape[1] != 3:
        raise UserInputError(f"{name} must have shape (N, 3), got {tuple(x.shape)}")
    if x.shape[0] == 0:
        raise UserInputError(f"{name} is an empty point cloud (0 points)")
    if not np.isfinite(x).all():
        raise UserInputError(f"{name} holds NaN/inf coordinates")
    return np.ascontiguousarray(x, dtype=np.float32)


def as_cloud_set(x, name: str = "X") -> np.ndarray:
    """A set of point clouds ``(S, N, 3)`` as float32, ``S >= 1``, ``N >= 1``, finite."""
    x = _to_numpy(x)
    if x.ndim != 3 or x.shape[2] != 3:
        raise UserInputError(f"{name} must have shape (S, N, 3), got {tuple(x.shape)}")
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise UserInputError(f"{name} is empty: shape {tuple(x.shape)}")
    if not np.isfinite(x).all():
        bad = int((~np.isfinite(x).reshape(len(x), -1).all(1)).sum())
        raise UserInputError(f"{name} holds NaN/inf coordinates in {bad} of {len(x)} shapes")
    return np.ascontiguousarray(x, dtype=np.float32)


def to_soa_padded(x: np.ndarray, multiple: int = 32) -> np.ndarray:
    """``(S, N, 3)`` -> ``(S, 3, Np)`` float32 with ``Np`` the next multiple of ``multiple``.

    Padding repeats each cloud's first point, which changes no minimum over points; kernels loop over the
    first ``N`` entries wherever a sum or a bijection over points is taken.
    """
    s, n, _ = x.shape
    n_pad = -(-n // multiple) * multiple
    out = np.empty((s, 3, n_pad), dtype=np.float32)
    out[:, :, :n] = x.transpose(0, 2, 1)
    out[:, :, n:] = x[:, :1, :].transpose(0, 2, 1)
    return out
