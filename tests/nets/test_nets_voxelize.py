"""Point <-> voxel transfer against naive loops."""

import itertools

import torch

from gen3d.nets.points.voxelize import devoxelize, voxel_coords, voxelize


def naive_voxelize(features, coords, r):
    b, c, n = features.shape
    grid = torch.zeros(b, c, r, r, r, dtype=torch.float64)
    count = torch.zeros(b, r, r, r, dtype=torch.float64)
    for bi in range(b):
        for p in range(n):
            i, j, k = (int(round(float(v))) for v in coords[bi, p])
            grid[bi, :, i, j, k] += features[bi, :, p].double()
            count[bi, i, j, k] += 1
    return grid / count.clamp_min(1)[:, None]


def naive_trilinear(grid, coords):
    b, c, r = grid.shape[0], grid.shape[1], grid.shape[-1]
    n = coords.shape[1]
    out = torch.zeros(b, c, n, dtype=torch.float64)
    for bi in range(b):
        for p in range(n):
            u = coords[bi, p].double()
            base = u.floor().long().clamp(0, r - 1)
            frac = u - base
            for corner in itertools.product((0, 1), repeat=3):
                idx = [min(int(base[a]) + corner[a], r - 1) for a in range(3)]
                w = 1.0
                for a in range(3):
                    w *= float(frac[a]) if corner[a] else 1.0 - float(frac[a])
                out[bi, :, p] += w * grid[bi, :, idx[0], idx[1], idx[2]].double()
    return out


def test_voxelize_matches_naive_average(gen):
    feats = torch.randn(2, 3, 40, generator=gen)
    coords = voxel_coords(torch.randn(2, 40, 3, generator=gen), 4)
    got = voxelize(feats, coords, 4)
    torch.testing.assert_close(got.double(), naive_voxelize(feats, coords, 4), atol=1e-6, rtol=1e-6)


def test_devoxelize_matches_naive_trilinear(gen):
    grid = torch.randn(2, 3, 5, 5, 5, generator=gen)
    coords = torch.rand(2, 30, 3, generator=gen) * 4.0  # anywhere in [0, r-1]^3
    coords[0, 0] = torch.tensor([4.0, 0.0, 2.0])  # exactly on border / centre
    got = devoxelize(grid, coords)
    torch.testing.assert_close(got.double(), naive_trilinear(grid, coords), atol=1e-5, rtol=1e-5)


def test_devoxelize_at_cell_centres_reads_cells(gen):
    grid = torch.randn(1, 2, 4, 4, 4, generator=gen)
    idx = torch.tensor([[[0, 1, 2], [3, 0, 1], [2, 2, 3]]])
    got = devoxelize(grid, idx.float())
    want = grid[0][:, idx[0, :, 0], idx[0, :, 1], idx[0, :, 2]][None]
    torch.testing.assert_close(got, want)


def test_fixed_bounds_follow_grid_convention():
    # Cell centre of index i along an axis is -1 + (i + 0.5) * 2/r: it must map to continuous index i.
    r = 8
    centres = -1 + (torch.arange(r, dtype=torch.float32) + 0.5) * 2 / r
    pts = torch.stack([centres, centres.flip(0), torch.zeros(r)], dim=1)[None]
    u = voxel_coords(pts, r, normalize=False)
    torch.testing.assert_close(u[0, :, 0], torch.arange(r, dtype=torch.float32))
    torch.testing.assert_close(u[0, :, 1], torch.arange(r, dtype=torch.float32).flip(0))
    far = voxel_coords(torch.tensor([[[5.0, -5.0, 0.0]]]), r, normalize=False)
    torch.testing.assert_close(far[0, 0, :2], torch.tensor([r - 1.0, 0.0]))  # clamped to the border cells


def test_normalized_coords_are_invariant_to_translation_and_scale(gen):
    pts = torch.randn(2, 50, 3, generator=gen)
    u = voxel_coords(pts, 16)
    assert float(u.min()) >= 0 and float(u.max()) <= 15
    torch.testing.assert_close(voxel_coords(pts * 7.0 + 3.0, 16), u, atol=1e-4, rtol=1e-4)


def test_degenerate_cloud_gives_finite_coords_and_grads():
    pts = torch.zeros(1, 10, 3, requires_grad=True)  # every point at the same place
    u = voxel_coords(pts, 8)
    grid = torch.randn(1, 2, 8, 8, 8)
    devoxelize(grid, u).sum().backward()
    assert torch.isfinite(u).all() and torch.isfinite(pts.grad).all()
