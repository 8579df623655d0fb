"""Stand-in classes for unlabelled single-category data: k-means clusters of the training set (note §7).

Each training shape is embedded (point clouds: the occupancy histogram of a coarse grid over [-1, 1]^3, which
is permutation-invariant; other shapes: the flattened array), clustered by k-means (k-means++ start, explicit
generator), and a new shape is given the cluster of its nearest training shape under the set distance of
:mod:`gen3d.diagnostics.distances` (the note's rule for classifying a U-turn's output).
"""

from __future__ import annotations

import torch

from gen3d.diagnostics.distances import is_point_cloud, pairwise_distances

__all__ = ["NearestLabel", "embed", "kmeans"]


def embed(shapes: torch.Tensor, cells: int = 6) -> torch.Tensor:
    """Embeddings (S, F) float64: occupancy histograms (``cells^3`` bins, shares summing to 1) for point
    clouds (S, N, 3), the flattened arrays otherwise."""
    if not is_point_cloud(shapes):
        return shapes.reshape(shapes.shape[0], -1).double()
    idx = ((shapes.double().clamp(-1.0, 1.0 - 1e-9) + 1.0) * (cells / 2.0)).long()
    flat = (idx[..., 0] * cells + idx[..., 1]) * cells + idx[..., 2]  # (S, N)
    out = torch.zeros(shapes.shape[0], cells**3, dtype=torch.float64)
    out.scatter_add_(1, flat, torch.ones_like(flat, dtype=torch.float64))
    return out / shapes.shape[1]


def kmeans(
    z: torch.Tensor, k: int, generator: torch.Generator | None = None, iters: int = 50
) -> torch.Tensor:
    """Cluster labels (S,) int64 of the rows of z (S, F) into ``k`` clusters (k-means++ start, Lloyd)."""
    S = z.shape[0]
    if not 2 <= k <= S:
        raise ValueError(f"k must be in 2..{S} (the number of shapes), got {k}")
    first = int(torch.randint(S, (1,), generator=generator))
    centres = [z[first]]
    for _ in range(1, k):
        d2 = torch.cdist(z, torch.stack(centres)).min(1).values ** 2
        probs = d2 / d2.sum() if float(d2.sum()) > 0 else torch.full((S,), 1.0 / S, dtype=z.dtype)
        centres.append(z[int(torch.multinomial(probs.float(), 1, generator=generator))])
    C = torch.stack(centres)
    labels = torch.cdist(z, C).argmin(1)
    for _ in range(iters):
        for j in range(k):
            members = z[labels == j]
            if len(members):
                C[j] = members.mean(0)
        new = torch.cdist(z, C).argmin(1)
        if bool((new == labels).all()):
            break
        labels = new
    return labels


class NearestLabel:
    """Classifier ``self(shapes (B, ...)) -> (B,)``: the label of the nearest of ``max_ref`` reference shapes
    (a random subset of refs (S, ...) with labels (S,)), under the set distance. Cost ``B * max_ref`` set
    distances."""

    def __init__(
        self,
        refs: torch.Tensor,
        labels: torch.Tensor,
        generator: torch.Generator | None = None,
        max_ref: int = 256,
    ) -> None:
        n = refs.shape[0]
        keep = torch.randperm(n, generator=generator)[: min(n, max_ref)]
        self.refs, self.ref_labels = refs[keep], labels[keep]

    def __call__(self, shapes: torch.Tensor) -> torch.Tensor:
        D = pairwise_distances(shapes, self.refs)
        return self.ref_labels[torch.as_tensor(D.argmin(1))]
