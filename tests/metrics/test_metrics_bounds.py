"""The lower bounds of the pruned evaluation are bounds: checked pair by pair against the exact distances on
random and structured clouds, including cases where a bound is nearly tight (so an inflated bound fails)."""

import numpy as np
import pytest

from gen3d.metrics.chamfer import chamfer_pairwise
from gen3d.metrics.distance_field import grid_fields, nn_lower_bounds
from gen3d.metrics.emd import emd_exact
from gen3d.metrics.emd_bounds import sliced_lower_bounds, sliced_sketch


def _clouds(rng, n=48):
    """Varied clouds: blobs, ellipsoid surfaces, translated and rotated copies, a far cloud, a twin."""
    out = []
    for _ in range(6):
        out.append(rng.standard_normal((n, 3)) * rng.uniform(0.05, 0.4) + rng.uniform(-0.5, 0.5, 3))
    for _ in range(6):
        u = rng.standard_normal((n, 3))
        u /= np.linalg.norm(u, axis=1, keepdims=True)
        out.append(u * rng.uniform(0.2, 0.9, 3))
    base = out[7]
    out.append(base + np.array([0.3, 0.0, 0.0]))  # pure translation: EMD = |t| exactly
    out.append(base + np.array([2.5, -1.0, 0.5]))  # far away: the field bound is nearly tight
    q, _ = np.linalg.qr(rng.standard_normal((3, 3)))
    out.append(base @ q.T)
    out.append(base[rng.permutation(n)] + rng.normal(0, 1e-3, (n, 3)))  # near twin (near-tie with base)
    return np.stack(out).astype(np.float32)


@pytest.fixture
def clouds(rng):
    return _clouds(rng)


def _pairs(s):
    return np.triu_indices(s, k=1)


def _one_sided(x, y):
    d = np.linalg.norm(x[:, None].astype(np.float64) - y[None].astype(np.float64), axis=-1).min(axis=1)
    return d.mean(), (d**2).mean()


@pytest.mark.parametrize("res", [4, 16])
def test_field_bounds_below_chamfer_and_emd(clouds, res):
    ia, ib = _pairs(len(clouds))
    gf = grid_fields(clouds, res)
    cd_lb, emd_lb = nn_lower_bounds(gf, ia, ib)
    cd = chamfer_pairwise(clouds)[ia, ib]
    exact = np.array([emd_exact(clouds[i], clouds[j]) for i, j in zip(ia, ib)])
    assert (cd_lb <= cd * (1 + 1e-6)).all()
    assert (emd_lb <= exact * (1 + 1e-6)).all()
    # each side against the naive one-sided means (the bound's own statement)
    for k in range(0, len(ia), 7):
        m1, m2 = _one_sided(clouds[ia[k]], clouds[ib[k]])
        n1, n2 = _one_sided(clouds[ib[k]], clouds[ia[k]])
        assert emd_lb[k] <= max(m1, n1) * (1 + 1e-6) and cd_lb[k] <= (m2 + n2) * (1 + 1e-6)
    # teeth: for the far pair the bounds are close to what they bound, so a bound 10% too high fails above
    far = np.flatnonzero((ia == 7) & (ib == 13))[0]
    m1, _ = _one_sided(clouds[7], clouds[13])
    n1, _ = _one_sided(clouds[13], clouds[7])
    assert cd_lb[far] > 0.9 * cd[far] and emd_lb[far] > 0.9 * max(m1, n1)


def test_field_bound_grows_tighter_with_resolution(clouds):
    ia, ib = _pairs(len(clouds))
    coarse = nn_lower_bounds(grid_fields(clouds, 4), ia, ib)[0]
    fine = nn_lower_bounds(grid_fields(clouds, 32), ia, ib)[0]
    assert fine.sum() > coarse.sum()


def test_sliced_bounds_below_emd(clouds):
    ia, ib = _pairs(len(clouds))
    lb = sliced_lower_bounds(sliced_sketch(clouds, n_directions=12, blocks=16), ia, ib)
    exact = np.array([emd_exact(clouds[i], clouds[j]) for i, j in zip(ia, ib)])
    assert (lb <= exact * (1 + 1e-9)).all()
    # full resolution (a block per point) is the exact 1-D W1 and still a bound
    lb_full = sliced_lower_bounds(sliced_sketch(clouds, n_directions=24, blocks=48), ia, ib)
    assert (lb_full <= exact * (1 + 1e-9)).all() and (lb_full >= lb - 1e-12).sum() > 0.5 * len(lb)
    # teeth: for a pure translation t the bound is |t| max_u |u.t|/|t|, near |t| with 12 directions
    k = np.flatnonzero((ia == 7) & (ib == 12))[0]
    assert exact[k] == pytest.approx(0.3, rel=1e-5) and lb[k] > 0.9 * exact[k]


def test_sliced_bound_of_a_shape_with_itself_is_zero(clouds):
    sk = sliced_sketch(clouds)
    assert np.allclose(sliced_lower_bounds(sk, np.arange(len(clouds)), np.arange(len(clouds))), 0.0)
