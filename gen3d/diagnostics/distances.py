"""Set distances between shapes for every nearest-neighbour test of the diagnostics (note §6: permutation
symmetry).

Point clouds (S, N, 3): ``sqrt(CD)`` with gen3d's Chamfer distance (squared distances, both directions; the
square root makes it a length, so the nearest/second-nearest ratio rule of note §2 reads as for Euclidean
distances). Everything else (voxel grids (S, 1, R, R, R), flat vectors (S, d)): the Euclidean distance of the
flattened arrays (grids have a fixed ordering, note §6).
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["is_point_cloud", "nearest_two", "pairwise_distances"]


def is_point_cloud(x: torch.Tensor | np.ndarray) -> bool:
    """True for a batch of point clouds (S, N, 3)."""
    return x.ndim == 3 and x.shape[-1] == 3


#: Point-pair count up to which Chamfer is computed here in torch (float64, direct differences): small
#: problems skip the numba kernel, whose OpenMP worker threads slow every later torch call of the process
#: by up to 40x on this 2-core machine (a 7 ms forward of the tiny test net took 400 ms after one call).
SMALL = 2_000_000


def _chamfer_small(queries: torch.Tensor, refs: torch.Tensor) -> np.ndarray:
    """PointFlow Chamfer (A, B) of queries (A, N, 3) and refs (B, M, 3), float64, for small A B N M."""
    q = queries.detach().cpu().double()[:, None, :, None, :]
    r = refs.detach().cpu().double()[None, :, None, :, :]
    d = (q - r).square().sum(-1)  # (A, B, N, M)
    return (d.min(3).values.mean(2) + d.min(2).values.mean(2)).numpy()


def pairwise_distances(queries: torch.Tensor, refs: torch.Tensor) -> np.ndarray:
    """(A, B) float64 distances between queries (A, ...) and refs (B, ...) of the same per-shape shape."""
    if tuple(queries.shape[1:]) != tuple(refs.shape[1:]):
        raise ValueError(f"shapes differ: queries {tuple(queries.shape)}, refs {tuple(refs.shape)}")
    if is_point_cloud(queries):
        if queries.shape[0] * refs.shape[0] * queries.shape[1] * refs.shape[1] <= SMALL:
            return np.sqrt(_chamfer_small(queries, refs))
        from gen3d.metrics.chamfer import chamfer_pairwise

        q = queries.detach().cpu().float().numpy()
        r = refs.detach().cpu().float().numpy()
        return np.sqrt(np.maximum(chamfer_pairwise(q, r), 0.0))
    qf = queries.detach().reshape(queries.shape[0], -1).double().cpu()
    rf = refs.detach().reshape(refs.shape[0], -1).double().cpu()
    return torch.cdist(qf, rf).numpy()


def nearest_two(queries: torch.Tensor, refs: torch.Tensor) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each query (A, ...): ``(d1, d2, idx1)``, the nearest and second-nearest distance to refs (B >= 2,
    ...) and the nearest's index, each (A,)."""
    if refs.shape[0] < 2:
        raise ValueError("need at least 2 reference shapes for a nearest/second-nearest ratio")
    D = pairwise_distances(queries, refs)
    part = np.partition(D, 1, axis=1)
    return part[:, 0], part[:, 1], D.argmin(axis=1)
