import math

import numpy as np
import pytest

from gen3d.errors import UserInputError
from gen3d.metrics import jsd_divergence, occupancy_counts, point_set_jsd
from gen3d.metrics.jsd import pointflow_counts


def naive_jsd_bits(p, q):
    """JSD in bits from the definition, with explicit loops: H(M) - (H(P) + H(Q)) / 2."""
    sp, sq = sum(p), sum(q)
    p = [v / sp for v in p]
    q = [v / sq for v in q]

    def h(a):
        return -sum(v * math.log2(v) for v in a if v > 0)

    return h([(a + b) / 2 for a, b in zip(p, q)]) - (h(p) + h(q)) / 2


def naive_pointflow_counts(points, resolution):
    """PointFlow's binning from its description: the resolution^3 grid vertices -0.5 + i / (resolution - 1)
    (i = 0 .. resolution - 1 on each axis) that lie in the ball of radius 0.5; every point counts for its
    nearest such vertex. Vertices enumerated by loops, the nearest one by brute force over all of them."""
    step = 1.0 / (resolution - 1)
    verts = []
    for i in range(resolution):
        for j in range(resolution):
            for k in range(resolution):
                v = (i * step - 0.5, j * step - 0.5, k * step - 0.5)
                if math.sqrt(v[0] ** 2 + v[1] ** 2 + v[2] ** 2) <= 0.5:
                    verts.append(v)
    verts = np.array(verts)
    counts = np.zeros(len(verts), int)
    for p in np.asarray(points, np.float64).reshape(-1, 3):
        counts[int(np.argmin(((verts - p) ** 2).sum(axis=1)))] += 1
    return counts


def naive_cell_counts(points, resolution, lo=-1.0, hi=1.0):
    """gen3d's "cells" binning from its description: each point goes to the cell box nearest to it (distance
    0 for the box containing it; for a point outside the cube, the boundary cell it is clipped to)."""
    h = (hi - lo) / resolution
    counts = np.zeros((resolution,) * 3, int)
    n_out = 0
    for p in np.asarray(points, np.float64).reshape(-1, 3):
        n_out += bool(((p < lo) | (p > hi)).any())
        best, best_d = None, np.inf
        for i in range(resolution):
            for j in range(resolution):
                for k in range(resolution):
                    b_lo = lo + h * np.array([i, j, k])
                    d = np.linalg.norm(np.maximum(np.maximum(b_lo - p, 0), p - (b_lo + h)))
                    if d < best_d:
                        best, best_d = (i, j, k), d
        counts[best] += 1
    return counts.ravel(), n_out


def test_pointflow_counts_by_hand():
    # resolution 3: vertices -0.5, 0, 0.5 per axis; inside the ball: the centre and the 6 face centres
    counts, n_out = pointflow_counts(
        np.array([[[0.3, 0, 0], [0.1, 0, 0], [0.45, 0.4, 0.4], [0, 0, -3.0]]]), 3
    )
    assert len(counts) == 7 and counts.sum() == 4  # nothing dropped, even the point far outside
    assert sorted(counts.tolist()) == [0, 0, 0, 0, 1, 1, 2]  # (0.5,0,0) twice, centre once, (0,0,-0.5) once
    assert n_out == 2
    with pytest.raises(UserInputError):
        pointflow_counts(np.zeros((1, 2, 3)), 2)  # no vertex of the 2^3 grid lies in the ball


def test_pointflow_counts_against_naive_loops(rng):
    # raw-unit-like clouds that reach outside the ball and the cube: PointFlow assigns them all anyway
    pts = rng.uniform(-0.7, 0.7, (3, 40, 3)).astype(np.float32)
    counts, _ = pointflow_counts(pts, 28)
    np.testing.assert_array_equal(counts, naive_pointflow_counts(pts, 28))
    assert counts.sum() == pts.shape[0] * pts.shape[1]


def test_pointflow_jsd_reproduces_the_independent_number(rng):
    gen = (rng.standard_normal((4, 60, 3)) * 0.2).astype(np.float32)
    ref = (rng.standard_normal((5, 60, 3)) * 0.25 + 0.05).astype(np.float32)
    r = point_set_jsd(gen, ref, mode="pointflow")
    expected = naive_jsd_bits(naive_pointflow_counts(gen, 28), naive_pointflow_counts(ref, 28))
    assert r["jsd"] == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert r["mode"] == "pointflow" and r["resolution"] == 28 and r["base"] == 2.0
    # the "cells" binning is a different number for the same sets
    assert point_set_jsd(gen, ref, mode="cells")["jsd"] != pytest.approx(r["jsd"], rel=1e-3)


def test_cell_counts_against_naive_loops(rng):
    pts = rng.uniform(-1.2, 1.2, (3, 30, 3)).astype(np.float32)
    counts, n_out = occupancy_counts(pts, resolution=4)
    ref_counts, ref_out = naive_cell_counts(pts, 4)
    np.testing.assert_array_equal(counts, ref_counts)
    assert n_out == ref_out > 0


def test_upper_face_is_inside():
    counts, n_out = occupancy_counts(np.ones((1, 1, 3)), resolution=28)
    assert n_out == 0 and counts[-1] == 1


def test_jsd_values():
    p = np.array([1.0, 0, 0, 0])
    q = np.array([0, 1.0, 0, 0])
    assert jsd_divergence(p, p) == 0.0
    assert jsd_divergence(p, q) == pytest.approx(1.0)  # disjoint supports: 1 bit
    assert jsd_divergence(p, q, base=np.e) == pytest.approx(np.log(2))
    a, b = np.array([3.0, 1, 0, 2]), np.array([1.0, 1, 1, 1])
    assert jsd_divergence(a, b) == pytest.approx(naive_jsd_bits(a.tolist(), b.tolist()))
    assert jsd_divergence(a, b) == pytest.approx(jsd_divergence(b, a))


def test_point_set_jsd_identical_and_in_sphere(rng):
    X = rng.uniform(-1, 1, (4, 100, 3)).astype(np.float32)
    for mode in ("cells", "pointflow"):
        r = point_set_jsd(X, X[::-1], mode=mode)
        assert r["jsd"] == 0.0 and r["base"] == 2.0
    corner = np.full((1, 10, 3), 0.99, np.float32)
    centre = np.zeros((1, 10, 3), np.float32)
    counts, n_out = occupancy_counts(np.concatenate([corner, centre], 1), in_sphere=True)
    assert n_out == 10 and counts.sum() == 10


def test_errors():
    with pytest.raises(UserInputError):
        jsd_divergence(np.zeros(4), np.ones(4))
    with pytest.raises(UserInputError):
        occupancy_counts(np.zeros((1, 3, 3)), bounds=(1, -1))
    with pytest.raises(UserInputError, match="JSD mode"):
        point_set_jsd(np.zeros((1, 3, 3)), np.zeros((1, 3, 3)), mode="latent3d")
