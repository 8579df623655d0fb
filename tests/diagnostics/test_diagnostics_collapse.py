"""The collapse scan against the empirical measure of N points (note §2: sigma_C^2 = s^2 / (N^(2/d) - 1))."""

import math

import numpy as np
import pytest
import torch

from gen3d.analytic.mixture import DiracMixtureDenoiser, GaussianMixtureDenoiser
from gen3d.diagnostics import collapse_scan
from gen3d.processes import get_process

PROC = get_process("edm", sigma_min=0.01, sigma_max=20.0)


def _empirical(d: int, N: int, seed: int):
    g = torch.Generator().manual_seed(seed)
    train = torch.randn(N, d, generator=g, dtype=torch.float64)
    held = torch.randn(N, d, generator=g, dtype=torch.float64)
    return train, held, g


@pytest.mark.parametrize(("d", "N", "tol"), [(8, 16, 0.15), (16, 256, 0.06)])
def test_sigma_c_of_the_empirical_measure(d, N, tol):
    # N = 2^(d/2) puts the predicted sigma_C at 1; the crossover sharpens as d grows (tolerance 15% -> 6%)
    train, held, g = _empirical(d, N, seed=d)
    assert 1.0 / math.sqrt(N ** (2 / d) - 1) == pytest.approx(1.0)
    scan = collapse_scan(
        DiracMixtureDenoiser(train), PROC, train, held, n_samples=200, steps=40, generator=g, batch_size=200
    )
    assert scan.sigma_C == pytest.approx(1.0, rel=tol)
    assert scan.near_copy_fraction == 1.0 and scan.near_copy_fraction_full_train == 1.0
    # the held-out null of the same size: never snapped at the end, never past 1/2 (at large sigma D is the
    # training mean, which can sit next to one reference point: the ratio rule alone is not enough there)
    assert max(scan.p_snap_null) < 0.5 and scan.near_copy_fraction_null == 0.0
    assert np.nanmedian(scan.onset) == pytest.approx(1.0, rel=0.25)
    assert scan.nfe == 200 * (2 * 40 - 1)


def test_generalising_model_makes_no_copies():
    train, held, g = _empirical(16, 256, seed=5)
    pop = GaussianMixtureDenoiser(torch.zeros(1, 16), std=1.0)
    scan = collapse_scan(pop, PROC, train, held, n_samples=100, steps=20, generator=g, batch_size=100)
    assert scan.sigma_C is None
    assert scan.near_copy_fraction == 0.0 and scan.near_copy_fraction_full_train == 0.0


def test_swapped_train_and_heldout_are_caught():
    # the memorising model copies its training set: handing the held-out set as "train" reads 0 copies and
    # the null 100%, the opposite of the truth
    train, held, g = _empirical(8, 16, seed=6)
    scan = collapse_scan(
        DiracMixtureDenoiser(train), PROC, held, train, n_samples=50, steps=20, generator=g, batch_size=50
    )
    assert scan.near_copy_fraction == 0.0 and scan.near_copy_fraction_null == 1.0


def test_voxel_grids_use_the_flat_distance():
    g = torch.Generator().manual_seed(7)
    train = torch.where(torch.rand(12, 1, 4, 4, 4, generator=g) < 0.5, -1.0, 1.0).double()
    held = torch.where(torch.rand(12, 1, 4, 4, 4, generator=g) < 0.5, -1.0, 1.0).double()
    scan = collapse_scan(
        DiracMixtureDenoiser(train), PROC, train, held, n_samples=8, steps=12, generator=g, batch_size=8
    )
    assert scan.near_copy_fraction == 1.0 and scan.near_copy_fraction_null == 0.0


def test_small_chamfer_matches_a_kd_tree_reference():
    # the torch path for small problems against nearest neighbours from scipy's k-d tree (independent code;
    # gen3d.metrics' numba kernel is not called here: its OpenMP threads would slow the tests after it)
    from scipy.spatial import cKDTree

    from gen3d.diagnostics.distances import _chamfer_small, pairwise_distances

    g = torch.Generator().manual_seed(8)
    q, r = torch.rand(4, 16, 3, generator=g), torch.rand(5, 16, 3, generator=g)
    ref = np.array(
        [
            [
                np.mean(cKDTree(b).query(a)[0] ** 2) + np.mean(cKDTree(a).query(b)[0] ** 2)
                for b in r.double().numpy()
            ]
            for a in q.double().numpy()
        ]
    )
    assert np.allclose(_chamfer_small(q, r), ref, rtol=1e-6)
    assert np.allclose(pairwise_distances(q, r), np.sqrt(ref), rtol=1e-6)
