"""The hierarchical point-voxel U-Net ("pvd"): any N, equivariance, its geometric steps against naive code."""

import pytest
import torch
from pytorch3d.ops import ball_query, knn_gather

from gen3d.nets import SIZES, get_backbone
from gen3d.nets.points.pvd import (
    PointVoxelUNet,
    ball_group,
    farthest_point_sample,
    gather_points,
    normalize_points,
    three_nn_interpolate,
)


def build(num_classes=0, seed=0, **kw):
    torch.manual_seed(seed)
    return get_backbone("pvd", "tiny", num_classes=num_classes, **kw)


@pytest.fixture(params=[0, 8], ids=["no-local", "local8"])
def net(request, perturb_parameters):
    """A tiny conditional net (without and with the full-resolution local block) with every parameter
    (zero-initialised head and gates included) perturbed."""
    n = build(num_classes=2, local_neighbours=request.param)
    perturb_parameters(n)
    return n


def naive_fps(points: torch.Tensor, k: int) -> torch.Tensor:
    """O(N k) farthest point sampling of one cloud (N, 3), started at the point farthest from the centroid."""
    start = int((points - points.mean(dim=0)).norm(dim=1).argmax())
    chosen = [start]
    dist = torch.full((points.shape[0],), float("inf"))
    for _ in range(k - 1):
        dist = torch.minimum(dist, (points - points[chosen[-1]]).square().sum(dim=1))
        chosen.append(int(dist.argmax()))
    return torch.tensor(chosen)


# ----------------------------------------------------------------------------------------------------------
# The network
# ----------------------------------------------------------------------------------------------------------


def test_one_net_runs_at_512_1024_and_2048_points_and_is_zero_at_init(gen):
    net = build()
    c = torch.randn(2, generator=gen)
    with torch.no_grad():
        for n in (512, 1024, 2048):
            x = torch.randn(2, n, 3, generator=gen)
            out = net(x, c)
            assert out.shape == (2, n, 3) and out.dtype == x.dtype
            assert torch.count_nonzero(out) == 0  # zero-initialised output layer


def test_permutation_equivariant_and_deterministic(net, gen):
    x = torch.randn(2, 512, 3, generator=gen)
    c, cond = torch.randn(2, generator=gen), torch.tensor([0, 2])
    perm = torch.randperm(512, generator=gen)
    with torch.no_grad():
        out = net(x, c, cond)
        again = net(x, c, cond)
        out_perm = net(x[:, perm], c, cond)
    assert out.abs().max() > 1e-3  # not trivially zero
    torch.testing.assert_close(again, out, rtol=0, atol=0)  # no random generator inside forward
    torch.testing.assert_close(out_perm, out[:, perm], atol=1e-5, rtol=1e-4)


def test_samples_in_a_batch_are_independent(net, gen):
    x = torch.randn(3, 256, 3, generator=gen)
    c, cond = torch.tensor([-1.0, 0.0, 1.0]), torch.tensor([0, 2, 1])
    with torch.no_grad():
        full = net(x, c, cond)
        for i in range(3):
            one = net(x[i : i + 1], c[i : i + 1], cond[i : i + 1])
            torch.testing.assert_close(one, full[i : i + 1], atol=1e-5, rtol=1e-4)


def test_gradients_reach_every_parameter_and_the_input(net, gen):
    x = torch.randn(2, 256, 3, generator=gen, requires_grad=True)
    net(x, torch.randn(2, generator=gen), torch.tensor([0, 1])).square().mean().backward()
    missing = [n for n, p in net.named_parameters() if p.grad is None or not torch.any(p.grad != 0)]
    assert missing == []
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().max() > 0


def test_bf16_autocast_forward_is_finite_and_close(net, gen):
    x, c, cond = torch.randn(2, 512, 3, generator=gen), torch.randn(2, generator=gen), torch.tensor([0, 2])
    with torch.no_grad():
        with torch.autocast("cpu", dtype=torch.bfloat16):
            low = net(x, c, cond)
        ref = net(x, c, cond)
    assert low.dtype == torch.float32 and torch.isfinite(low).all()
    assert (low - ref).abs().max() < 0.1 * ref.abs().max() + 1e-3


def test_bad_inputs_raise_clear_errors():
    net = build()
    with pytest.raises(ValueError, match=r"\(B, N, 3\)"):
        net(torch.zeros(2, 100, 2), torch.zeros(2))
    with pytest.raises(ValueError, match=r"\(B, N, 3\)"):
        net(torch.zeros(100, 3), torch.zeros(2))
    assert net.min_points == 64  # 3 levels of stride 4
    with pytest.raises(ValueError, match="minimum is N = 64"):
        net(torch.zeros(2, 63, 3), torch.zeros(2))
    net(torch.randn(1, 64, 3), torch.zeros(1))  # one point at the coarsest level is enough
    with pytest.raises(ValueError, match="divisible by heads"):
        build(attn_heads=5)
    with pytest.raises(ValueError, match="fp_channels"):
        build(fp_channels=[32, 32])
    with pytest.raises(ValueError, match="voxel_resolutions"):
        build(voxel_resolutions=[16, 8, 8, 8, 8])


# ----------------------------------------------------------------------------------------------------------
# Geometric steps
# ----------------------------------------------------------------------------------------------------------


def test_fps_matches_naive_farthest_point_sampling_and_is_equivariant(gen):
    points = torch.randn(3, 300, 3, generator=gen)
    idx = farthest_point_sample(points, 40)
    assert idx.shape == (3, 40)
    for b in range(3):
        torch.testing.assert_close(idx[b], naive_fps(points[b], 40), rtol=0, atol=0)
    perm = torch.randperm(300, generator=gen)
    torch.testing.assert_close(perm[farthest_point_sample(points[:, perm], 40)], idx, rtol=0, atol=0)


def test_ball_group_is_ball_query_with_nearest_first_selection(gen):
    points = normalize_points(torch.randn(2, 400, 3, generator=gen))
    centres = points[:, :30]
    radius = 0.3
    # K large enough to hold every ball: the same neighbour sets as pytorch3d's ball_query.
    mine = ball_group(centres, points, radius, 400)
    ref = ball_query(centres, points, K=400, radius=radius).idx
    for b in range(2):
        for m in range(30):
            want = set(ref[b, m][ref[b, m] >= 0].tolist())
            assert set(mine[b, m].tolist()) == want and m in want
    # Small K: the K nearest points inside the ball, padded with the centre itself.
    small = ball_group(centres, points, radius, 8)
    d2 = torch.cdist(centres, points).square()
    for b in range(2):
        for m in range(30):
            inside = (d2[b, m] < radius**2).nonzero().flatten()
            nearest = inside[d2[b, m, inside].argsort()][:8].tolist()
            got = small[b, m].tolist()
            assert got[: len(nearest)] == nearest and set(got[len(nearest) :]) <= {m}


def test_gather_points_equals_knn_gather(gen):
    x = torch.randn(2, 30, 4, generator=gen)
    idx = torch.randint(0, 30, (2, 7, 5), generator=gen)
    torch.testing.assert_close(gather_points(x, idx), knn_gather(x, idx), rtol=0, atol=0)


def test_three_nn_interpolation_matches_dense_reference(gen):
    fine = torch.randn(2, 200, 3, generator=gen)
    coarse = torch.cat([fine[:, :50], torch.randn(2, 10, 3, generator=gen)], dim=1)  # some shared points
    feats = torch.randn(2, 5, 60, generator=gen)
    exact = "donot_use_mm_for_euclid_dist"  # the matmul form is off by ~1e-3 at zero distance
    d, idx = torch.cdist(fine, coarse, compute_mode=exact).topk(3, dim=2, largest=False)  # (B, N, 3)
    w = 1.0 / d.clamp_min(1e-6)
    w = w / w.sum(dim=2, keepdim=True)
    gathered = feats[torch.arange(2)[:, None, None], :, idx]  # (B, N, 3, C)
    want = (gathered * w[..., None]).sum(dim=2).transpose(1, 2)
    got = three_nn_interpolate(fine, coarse, feats)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(got[:, :, :50], feats[:, :, :50], atol=1e-4, rtol=1e-4)  # coincident points
    # Fewer than 3 coarse points: interpolate from those there are.
    two = three_nn_interpolate(fine, coarse[:, :2], feats[:, :, :2])
    assert two.shape == (2, 5, 200) and torch.isfinite(two).all()


# ----------------------------------------------------------------------------------------------------------
# Registry
# ----------------------------------------------------------------------------------------------------------


def test_every_size_builds_and_config_rebuilds_the_same_architecture(monkeypatch):
    for fn in ("kaiming_uniform_", "uniform_", "normal_"):  # counting and shapes need no random init
        monkeypatch.setattr(torch.nn.init, fn, lambda t, *args, **kwargs: t)
    assert list(SIZES["pvd"]) == ["tiny", "small", "base", "paper"]
    counts = {}
    for size in SIZES["pvd"]:
        net = get_backbone("pvd", size=size, num_classes=3)
        assert isinstance(net, PointVoxelUNet)
        again = get_backbone(**net.config())
        assert again.config() == net.config()
        shapes = {k: v.shape for k, v in net.state_dict().items()}
        assert {k: v.shape for k, v in again.state_dict().items()} == shapes
        counts[size] = net.num_parameters()
    assert 200_000 <= counts["tiny"] <= 300_000, counts
    assert 1_500_000 <= counts["small"] <= 2_500_000, counts
    assert 26_000_000 <= counts["paper"] <= 29_000_000, counts  # PVD: 27.6M
    assert list(counts.values()) == sorted(counts.values())


def test_local_block_changes_the_output_and_is_refused_when_malformed(gen, perturb_parameters):
    """With every shared weight equal, the local block changes the output (it is used), and a zeroed local
    block gives exactly the net without it (it is a residual on the stem); bad settings are refused."""
    x, c = torch.randn(2, 256, 3, generator=gen), torch.randn(2, generator=gen)
    plain, local = build(), build(local_neighbours=8)
    perturb_parameters(plain)
    perturb_parameters(local)
    missing, unexpected = local.load_state_dict(plain.state_dict(), strict=False)
    assert unexpected == [] and missing and all(k.startswith("local.") for k in missing)
    assert get_backbone(**local.config()).config() == local.config()
    with torch.no_grad():
        assert not torch.allclose(plain(x, c), local(x, c))
        for p in local.local.parameters():  # a zero local block leaves exactly the plain net
            p.zero_()
        torch.testing.assert_close(local(x, c), plain(x, c))
    for bad in ({"local_neighbours": -1}, {"local_neighbours": 8, "local_radius": 0.0}):
        with pytest.raises(ValueError, match="local_neighbours must be >= 0"):
            build(**bad)
