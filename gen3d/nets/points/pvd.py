"""Hierarchical point-voxel U-Net denoiser for point clouds (B, N, 3), in the style of PVD (Zhou et al. 2021)
built on PointNet++'s set abstraction / feature propagation (Qi et al. 2017) and pytorch3d's point ops.

Architecture, for L = 3 levels, stride s = 4 and N = 1024 input points (tensor shapes for the ``tiny`` size):

    geometry (float32, also under autocast): u = (x - mean) / max|x - mean|   per shape, in the unit ball
        level 0: N = 1024 points u_0 (B, 1024, 3)
        level l: n_l = n_{l-1} // s centres u_l by farthest point sampling of u_{l-1}  (256, 64, 16)
                 neighbours of each centre: K nearest points of level l-1 inside radius r_l (B, n_l, K)
    encoder
        level 0  : PVConv(3 -> c_0, voxel res 16) on all N points                    h_0 (B, 32, 1024)
        SA l     : [ (u_nbr - u_centre) / r_l , h_{l-1}[nbr] ]  (B, 3 + c_{l-1}, n_l, K)
                   -> 2 x [1x1 conv -> GroupNorm -> FiLM(emb) -> SiLU] -> max over K  h_l (B, c_l, n_l)
                   (+ PVConv(c_l -> c_l) at the finer levels: voxel res 8 at level 1)
    bottleneck : h_L + Linear(u_L) as n_L tokens -> adaLN self-attention block(s)  (B, 16, c_L)
    decoder
        FP l     : 3-NN inverse-distance interpolation of level l+1 features onto the points of level l,
                   concatenated with the skip h_l -> 2 x [1x1 conv -> GN -> FiLM -> SiLU]
                                                                                   g_0 (B, 32, 1024)
    (option local_neighbours = K > 0: after the stem, h_0 += SA over every point's K nearest points within
     local_radius, the surface around each point at the scale of the point spacing)
    head       : 1x1 conv -> GN -> FiLM -> SiLU -> 1x1 conv (3), zero-initialised, so F = 0 at init
                                                                                   out (B, 1024, 3)

``emb`` is the noise/class embedding (B, E). Each level keeps a fraction 1/s of the previous level's points,
so one network runs at any N >= s**L (trained at N = 512 or 1024, sampled at 1024 or 2048).

Determinism and permutation equivariance. PVD starts farthest point sampling at a random point; with
``random_start_point=False`` pytorch3d starts at index 0, which depends on the order of the points. Here
FPS starts at the point farthest from the shape's centroid (a symmetric choice: equivariant up to exact
ties), moved to index 0 before pytorch3d's FPS runs and mapped back afterwards. PointNet++'s ball query
keeps the *first* K points of the ball in index order, which is again order-dependent when the ball holds
more than K points; the neighbourhood here is the K *nearest* points (``knn_points``), and slots outside
the radius repeat the first neighbour (the centre itself, at distance 0), like ball query's padding. Forward
is therefore deterministic, as the ODE sampler needs, and ``F(x[:, perm]) = F(x)[:, perm]`` up to float
rounding. GroupNorm statistics and max pooling are symmetric functions, so they keep this property.

Sizes: ``tiny`` (0.27M params, CPU demo), ``small`` (1.9M), ``base`` (8.5M, 4 levels), ``paper`` (27.5M,
4 levels, the scale of PVD's 27.6M).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from pytorch3d.ops import knn_points, sample_farthest_points  # type: ignore[import-untyped]
from torch import nn

from gen3d.nets.base import Backbone
from gen3d.nets.embeddings import ConditionEmbedding
from gen3d.nets.norm import group_norm
from gen3d.nets.points.pvcnn import PVConv
from gen3d.nets.points.transformer import AdaLNAttentionBlock
from gen3d.nets.points.voxelize import voxel_coords

__all__ = [
    "PointVoxelUNet",
    "PVD_SIZES",
    "farthest_point_sample",
    "ball_group",
    "three_nn_interpolate",
    "normalize_points",
    "gather_points",
]

# sa_blocks: [channels, radius (unit-ball frame), neighbours K] per set-abstraction level;
# voxel_resolutions: PVConv resolution at levels 0, 1, ... (missing or 0: no voxel branch at that level);
# fp_channels: width after feature propagation at levels 0 .. L-1.
PVD_SIZES: dict[str, dict] = {
    "tiny": {
        "stem_channels": 32,
        "sa_blocks": [[32, 0.15, 16], [48, 0.3, 16], [64, 0.6, 16]],
        "voxel_resolutions": [16, 8],
        "fp_channels": [32, 32, 48],
        "attn_depth": 1,
        "attn_heads": 4,
        "mlp_ratio": 2.0,
        "emb_dim": 64,
        "head_channels": 64,
    },
    "small": {
        "stem_channels": 64,
        "sa_blocks": [[96, 0.15, 32], [128, 0.3, 32], [192, 0.6, 32]],
        "voxel_resolutions": [16, 8],
        "fp_channels": [64, 96, 128],
        "attn_depth": 1,
        "attn_heads": 4,
        "mlp_ratio": 4.0,
        "emb_dim": 128,
        "head_channels": 128,
    },
    # Four levels (N = 2048 -> 512 -> 128 -> 32 -> 8, like PVD's SA centres 1024/256/64/16 for N = 2048).
    "base": {
        "stem_channels": 64,
        "sa_blocks": [[128, 0.1, 32], [192, 0.2, 32], [256, 0.4, 32], [384, 0.8, 32]],
        "voxel_resolutions": [32, 16, 8],
        "fp_channels": [128, 128, 192, 256],
        "attn_depth": 1,
        "attn_heads": 8,
        "mlp_ratio": 4.0,
        "emb_dim": 256,
        "head_channels": 128,
    },
    # ~27.5M parameters, the scale of PVD (27.6M).
    "paper": {
        "stem_channels": 64,
        "sa_blocks": [[128, 0.1, 32], [256, 0.2, 32], [512, 0.4, 32], [512, 0.8, 32]],
        "voxel_resolutions": [32, 16, 8],
        "fp_channels": [128, 256, 256, 512],
        "attn_depth": 3,
        "attn_heads": 8,
        "mlp_ratio": 4.0,
        "emb_dim": 512,
        "head_channels": 128,
    },
}


# ----------------------------------------------------------------------------------------------------------
# Geometry (float32, index selection without gradients; coordinates keep theirs)
# ----------------------------------------------------------------------------------------------------------


def normalize_points(x: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Per-shape frame of ``x`` (B, N, 3): centred on the mean, scaled by the largest distance to it.

    Returns (B, N, 3) inside the unit ball, like ``voxel_coords(normalize=True)`` before its grid mapping.
    """
    centred = x - x.mean(dim=1, keepdim=True)
    return centred / centred.norm(dim=2).amax(dim=1).clamp_min(eps)[:, None, None]


def gather_points(x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """Rows of ``x`` (B, M, C) at ``idx`` (B, L, K) -> (B, L, K, C).

    Same values as pytorch3d's ``knn_gather`` (for valid indices), but one flat gather: its backward
    scatters into (B, M, C) rather than into a K-times larger expanded copy, about twice as fast on CPU.
    """
    b, l, k = idx.shape
    flat = idx.reshape(b, l * k, 1).expand(-1, -1, x.shape[-1])
    return x.gather(1, flat).reshape(b, l, k, x.shape[-1])


def farthest_point_sample(points: torch.Tensor, k: int) -> torch.Tensor:
    """Farthest point sampling of ``k`` indices (B, k) from ``points`` (B, N, 3), deterministic.

    The first sample is the point farthest from the centroid (symmetric in the points, so the result is
    permutation-equivariant up to exact ties): it is swapped to index 0, pytorch3d's FPS runs with
    ``random_start_point=False`` (which starts at index 0), and the indices are mapped back.
    """
    b, n, _ = points.shape
    points = points.detach().float()
    start = (points - points.mean(dim=1, keepdim=True)).norm(dim=2).argmax(dim=1)  # (B,)
    rows = torch.arange(b, device=points.device)
    order = torch.arange(n, device=points.device).repeat(b, 1)  # (B, N): swap 0 <-> start
    order[rows, start] = 0
    order[rows, 0] = start
    swapped = points.gather(1, order[:, :, None].expand(-1, -1, 3))
    _, idx = sample_farthest_points(swapped, K=k, random_start_point=False)  # (B, k) into swapped
    return order.gather(1, idx)


def ball_group(centres: torch.Tensor, points: torch.Tensor, radius: float, k: int) -> torch.Tensor:
    """Neighbourhoods (B, M, k') of ``centres`` (B, M, 3) among ``points`` (B, N, 3), k' = min(k, N).

    The k' nearest points (sorted by distance); those not closer than ``radius`` are replaced by the first
    neighbour, i.e. the centre itself when the centres are a subset of the points (ball-query padding).
    Unlike "first k points of the ball in index order", this choice does not depend on the point order.
    """
    k = min(k, points.shape[1])
    d2, idx, _ = knn_points(centres.detach().float(), points.detach().float(), K=k, return_sorted=True)
    return torch.where(d2 < radius**2, idx, idx[:, :, :1])  # strict, as pytorch3d's ball_query


def three_nn_interpolate(
    fine: torch.Tensor, coarse: torch.Tensor, feats: torch.Tensor, k: int = 3
) -> torch.Tensor:
    """Inverse-distance-weighted k-NN interpolation of ``feats`` (B, C, M) at ``coarse`` (B, M, 3) onto
    ``fine`` (B, N, 3) -> (B, C, N).

    Weights ``w_j = 1 / max(|p - q_j|, 1e-6)`` over the k = min(3, M) nearest coarse points, normalised to
    sum 1. Distances are recomputed from the gathered coordinates, so gradients reach both point sets.
    """
    k = min(k, coarse.shape[1])
    fine32, coarse32 = fine.float(), coarse.float()
    _, idx, _ = knn_points(fine32.detach(), coarse32.detach(), K=k, return_sorted=True)  # (B, N, k)
    d2 = (gather_points(coarse32, idx) - fine32[:, :, None]).square().sum(dim=-1)  # (B, N, k)
    w = d2.clamp_min(1e-12).rsqrt()
    w = w / w.sum(dim=-1, keepdim=True)
    f = gather_points(feats.transpose(1, 2), idx)  # (B, N, k, C)
    return (f * w[..., None].to(f.dtype)).sum(dim=2).transpose(1, 2)


@dataclass
class _Level:
    """Points of one level: ``coords`` (B, n_l, 3) in the unit-ball frame; ``group`` (B, n_l, K): indices of
    each centre's neighbours among the previous level's points; at level 0, the local block's neighbourhoods
    among the level's own points (None without a local block)."""

    coords: torch.Tensor
    group: torch.Tensor | None


# ----------------------------------------------------------------------------------------------------------
# Feature layers
# ----------------------------------------------------------------------------------------------------------


class PointMLP(nn.Module):
    """Shared per-point MLP: (h (B, C_in, L), emb (B, E)) -> (B, C_out, L).

    Each layer: 1x1 conv -> GroupNorm -> FiLM (scale, shift from ``emb``) -> SiLU. ``L`` may be a flattened
    (centres x neighbours) axis; GroupNorm statistics are taken over all of it.
    """

    def __init__(self, widths: Sequence[int], emb_dim: int):
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv1d(a, b, 1) for a, b in zip(widths[:-1], widths[1:]))
        self.norms = nn.ModuleList(group_norm(b) for b in widths[1:])
        self.films = nn.ModuleList(nn.Linear(emb_dim, 2 * b) for b in widths[1:])
        self.act = nn.SiLU()

    def forward(self, h: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        for conv, norm, film in zip(self.convs, self.norms, self.films):
            scale, shift = film(emb)[:, :, None].chunk(2, dim=1)
            h = self.act(norm(conv(h)) * (1 + scale) + shift)
        return h


class SetAbstraction(nn.Module):
    """SA level: group the previous level around each centre, shared MLP, max pool.

    ``forward(h (B, C_prev, n_prev), prev (B, n_prev, 3), centres (B, n, 3), group (B, n, K), emb)``
    -> (B, C, n).
    """

    def __init__(self, c_prev: int, c_out: int, radius: float, emb_dim: int):
        super().__init__()
        self.radius = radius
        self.mlp = PointMLP([3 + c_prev, c_out, c_out], emb_dim)

    def forward(
        self,
        h: torch.Tensor,
        prev: torch.Tensor,
        centres: torch.Tensor,
        group: torch.Tensor,
        emb: torch.Tensor,
    ) -> torch.Tensor:
        b, n, k = group.shape
        rel = (gather_points(prev, group) - centres[:, :, None]) / self.radius  # (B, n, K, 3)
        nbr = gather_points(h.transpose(1, 2), group)  # (B, n, K, C_prev)
        g = torch.cat([rel.to(nbr.dtype), nbr], dim=-1).permute(0, 3, 1, 2).reshape(b, -1, n * k)
        return self.mlp(g, emb).reshape(b, -1, n, k).amax(dim=3)


class FeaturePropagation(nn.Module):
    """FP level: interpolate coarse features onto the finer points, concatenate the skip, shared MLP.

    ``forward(coarse_h (B, C_c, m), coarse (B, m, 3), skip (B, C_s, n), fine (B, n, 3), emb)`` -> (B, C, n).
    """

    def __init__(self, c_coarse: int, c_skip: int, c_out: int, emb_dim: int):
        super().__init__()
        self.mlp = PointMLP([c_coarse + c_skip, c_out, c_out], emb_dim)

    def forward(
        self,
        coarse_h: torch.Tensor,
        coarse: torch.Tensor,
        skip: torch.Tensor,
        fine: torch.Tensor,
        emb: torch.Tensor,
    ) -> torch.Tensor:
        up = three_nn_interpolate(fine, coarse, coarse_h)  # (B, C_c, n)
        return self.mlp(torch.cat([up.to(skip.dtype), skip], dim=1), emb)


# ----------------------------------------------------------------------------------------------------------
# Network
# ----------------------------------------------------------------------------------------------------------


class PointVoxelUNet(Backbone):
    """Hierarchical point-voxel U-Net: (x (B, N, 3), c_noise (B,), cond (B,) | None) -> (B, N, 3).

    Deterministic and permutation-equivariant in N; works for any N >= stride ** len(sa_blocks).

    Args:
        stem_channels: width c_0 of the level-0 (all points) features.
        sa_blocks: ``[channels, radius, neighbours]`` per set-abstraction level; radii are in the per-shape
            unit-ball frame.
        voxel_resolutions: PVConv voxel resolution at levels 0, 1, ... (0 or absent: no voxel branch).
        fp_channels: feature width after feature propagation at levels 0 .. L-1.
        stride: each level keeps ``n // stride`` of the previous level's points.
        attn_depth: adaLN self-attention blocks over the coarsest level's points (0: none).
        attn_heads: attention heads (must divide the coarsest width).
        mlp_ratio: attention MLP hidden width / coarsest width.
        emb_dim: width of the noise/class embedding.
        head_channels: width of the per-point output head.
        local_neighbours: K of an optional full-resolution local block at level 0 (0: none): every point
            groups its K nearest points within ``local_radius`` (unit-ball frame), shared MLP of relative
            positions and features, max pool, added to the stem's features. It lets the net see the surface
            around each point at the scale of the point spacing, finer than any voxel branch.
        local_radius: radius of that neighbourhood.
        num_classes: number of class labels (0 = unconditional); label ``num_classes`` is the null class.
        size: preset name recorded in ``config()`` (informational).
    """

    NAME = "pvd"

    def __init__(
        self,
        stem_channels: int = 32,
        sa_blocks: Sequence[Sequence[float]] = ((32, 0.15, 16), (48, 0.3, 16), (64, 0.6, 16)),
        voxel_resolutions: Sequence[int] = (16, 8),
        fp_channels: Sequence[int] = (32, 32, 48),
        stride: int = 4,
        attn_depth: int = 1,
        attn_heads: int = 4,
        mlp_ratio: float = 2.0,
        emb_dim: int = 64,
        head_channels: int = 64,
        local_neighbours: int = 0,
        local_radius: float = 0.15,
        num_classes: int = 0,
        size: str | None = None,
    ):
        super().__init__()
        sa = [(int(c), float(r), int(k)) for c, r, k in sa_blocks]
        res = [int(r) for r in voxel_resolutions]
        fp = [int(c) for c in fp_channels]
        self._validate(stem_channels, sa, res, fp, stride, attn_depth, attn_heads, mlp_ratio, emb_dim)
        if int(local_neighbours) < 0 or not float(local_radius) > 0:
            raise ValueError(
                f"pvd: local_neighbours must be >= 0 (0: no local block) and local_radius > 0, got "
                f"{local_neighbours} and {local_radius}"
            )
        self._record_config(
            size,
            stem_channels=stem_channels,
            sa_blocks=[list(b) for b in sa],
            voxel_resolutions=res,
            fp_channels=fp,
            stride=stride,
            attn_depth=attn_depth,
            attn_heads=attn_heads,
            mlp_ratio=mlp_ratio,
            emb_dim=emb_dim,
            head_channels=head_channels,
            local_neighbours=int(local_neighbours),
            local_radius=float(local_radius),
            num_classes=num_classes,
        )
        self.num_classes = num_classes
        self.stride = stride
        self.neighbours = [k for _, _, k in sa]
        self.radii = [r for _, r, _ in sa]
        widths = [stem_channels] + [c for c, _, _ in sa]  # c_0 .. c_L
        self.resolutions = res + [0] * (len(widths) - len(res))  # per level, 0 = no voxel branch
        self.embed = ConditionEmbedding(emb_dim, num_classes)
        # Level 0: point-voxel features of all points (a point MLP when it has no voxel branch).
        r0 = self.resolutions[0]
        self.stem = PVConv(3, stem_channels, r0, emb_dim) if r0 else PointMLP([3, stem_channels], emb_dim)
        # Optional full-resolution local block (SA with every point as a centre), residual on the stem.
        self.local_neighbours, self.local_radius = int(local_neighbours), float(local_radius)
        self.local = (
            SetAbstraction(stem_channels, stem_channels, self.local_radius, emb_dim)
            if self.local_neighbours
            else None
        )
        # Encoder: SA (+ PVConv) per level.
        self.sa = nn.ModuleList(
            SetAbstraction(widths[l], widths[l + 1], r, emb_dim) for l, (_, r, _) in enumerate(sa)
        )
        self.sa_voxel = nn.ModuleList(
            PVConv(c, c, r, emb_dim) if r else nn.Identity() for c, r in zip(widths[1:], self.resolutions[1:])
        )
        # Bottleneck: global self-attention over the coarsest points.
        self.pos = nn.Linear(3, widths[-1]) if attn_depth else None
        self.attn = nn.ModuleList(
            AdaLNAttentionBlock(widths[-1], attn_heads, mlp_ratio, emb_dim, cross=False)
            for _ in range(attn_depth)
        )
        # Decoder: FP from level l + 1 to level l, for l = L-1 .. 0; fp[l] is level l's output width.
        coarse_widths = fp[1:] + [widths[-1]]
        self.fp = nn.ModuleList(
            FeaturePropagation(coarse_widths[l], widths[l], fp[l], emb_dim) for l in range(len(fp))
        )
        # Head.
        self.head_in = nn.Conv1d(fp[0], head_channels, 1)
        self.head_norm = group_norm(head_channels)
        self.head_emb = nn.Linear(emb_dim, 2 * head_channels)
        self.head_out = nn.Conv1d(head_channels, 3, 1)
        for p in self.head_out.parameters():  # zero-initialised output layer: F = 0 at init
            nn.init.zeros_(p)
        self.act = nn.SiLU()

    @staticmethod
    def _validate(
        stem: int,
        sa: list[tuple[int, float, int]],
        res: list[int],
        fp: list[int],
        stride: int,
        attn_depth: int,
        attn_heads: int,
        mlp_ratio: float,
        emb_dim: int,
    ) -> None:
        if not sa or any(c < 1 or r <= 0 or k < 1 for c, r, k in sa):
            raise ValueError(
                f"pvd: sa_blocks must be a non-empty list of [channels >= 1, radius > 0, neighbours >= 1], "
                f"got {sa}"
            )
        if len(fp) != len(sa) or min(fp) < 1 or stem < 1 or emb_dim < 1:
            raise ValueError(
                f"pvd: need stem_channels >= 1, emb_dim >= 1 and one fp_channels entry >= 1 per SA level "
                f"({len(sa)}), got stem_channels={stem}, fp_channels={fp}"
            )
        if len(res) > len(sa) + 1 or any(r != 0 and r < 2 for r in res):
            raise ValueError(
                f"pvd: voxel_resolutions holds at most {len(sa) + 1} entries (levels 0..{len(sa)}), "
                f"each 0 (no voxel branch) or >= 2, got {res}"
            )
        if stride < 2:
            raise ValueError(f"pvd: stride must be >= 2, got {stride}")
        if attn_depth < 0 or attn_heads < 1 or mlp_ratio <= 0:
            raise ValueError("pvd: attn_depth must be >= 0, attn_heads >= 1, mlp_ratio > 0")
        if attn_depth and sa[-1][0] % attn_heads:
            raise ValueError(
                f"pvd: the coarsest width {sa[-1][0]} must be divisible by heads {attn_heads} (attn_heads)"
            )

    @property
    def min_points(self) -> int:
        """Smallest N with at least one point at the coarsest level."""
        return int(self.stride ** len(self.sa))

    def _check_points(self, x: torch.Tensor) -> None:
        if x.dim() != 3 or x.shape[-1] != 3:
            raise ValueError(f"pvd expects points of shape (B, N, 3), got {tuple(x.shape)}")
        if x.shape[1] < self.min_points:
            raise ValueError(
                f"pvd: N = {x.shape[1]} points is too few for {len(self.sa)} levels of stride "
                f"{self.stride}; the minimum is N = {self.min_points}"
            )

    def _pyramid(self, x: torch.Tensor) -> list[_Level]:
        """Level coordinates and SA neighbourhoods from ``x`` (B, N, 3), in float32 (autocast off)."""
        with torch.autocast(device_type=x.device.type, enabled=False):
            u = normalize_points(x.float())
            local = ball_group(u, u, self.local_radius, self.local_neighbours) if self.local else None
            levels = [_Level(u, local)]  # level 0's group: the local block's neighbourhoods (or None)
            for radius, k in zip(self.radii, self.neighbours):
                prev = levels[-1].coords
                centre_idx = farthest_point_sample(prev, prev.shape[1] // self.stride)  # (B, n_l)
                centres = prev.gather(1, centre_idx[:, :, None].expand(-1, -1, 3))
                levels.append(_Level(centres, ball_group(centres, prev, radius, k)))
        return levels

    def _voxel_coords(self, coords: torch.Tensor, resolution: int) -> torch.Tensor:
        with torch.autocast(device_type=coords.device.type, enabled=False):
            return voxel_coords(coords, resolution, normalize=True)

    def forward(
        self, x: torch.Tensor, c_noise: torch.Tensor, cond: torch.Tensor | None = None
    ) -> torch.Tensor:
        self._check_points(x)
        in_dtype = x.dtype
        x, emb = self._prepare(x, c_noise, cond)
        levels = self._pyramid(x)
        # Level 0: point-voxel features of all N points (raw coordinates as input features, like PVCNN).
        h_in = x.transpose(1, 2)  # (B, 3, N)
        if isinstance(self.stem, PVConv):
            h = self.stem(h_in, self._voxel_coords(levels[0].coords, self.resolutions[0]), emb)
        else:
            h = self.stem(h_in, emb)
        if self.local is not None:
            assert levels[0].group is not None
            h = h + self.local(h, levels[0].coords, levels[0].coords, levels[0].group, emb)
        skips = [h]  # h_l (B, c_l, n_l)
        # Encoder: SA + optional PVConv per level.
        for l, (sa, voxel) in enumerate(zip(self.sa, self.sa_voxel), start=1):
            lev = levels[l]
            assert lev.group is not None
            h = sa(h, levels[l - 1].coords, lev.coords, lev.group, emb)
            if isinstance(voxel, PVConv):
                h = voxel(h, self._voxel_coords(lev.coords, voxel.resolution), emb)
            skips.append(h)
        # Bottleneck: global self-attention over the coarsest level's points.
        if self.pos is not None:
            tokens = h.transpose(1, 2) + self.pos(levels[-1].coords)  # (B, n_L, c_L)
            for block in self.attn:
                tokens = block(tokens, None, emb)
            h = tokens.transpose(1, 2)
        # Decoder: FP from level l + 1 down to level l.
        for l in reversed(range(len(self.fp))):
            h = self.fp[l](h, levels[l + 1].coords, skips[l], levels[l].coords, emb)
        # Head.
        scale, shift = self.head_emb(emb)[:, :, None].chunk(2, dim=1)
        h = self.act(self.head_norm(self.head_in(h)) * (1 + scale) + shift)
        out = self.head_out(h).transpose(1, 2)
        return out.to(in_dtype)
