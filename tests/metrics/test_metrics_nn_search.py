"""The certified search gives the all-pairs protocol values exactly, ties included, from a fraction of the
pairs; a lower bound that is not a bound breaks it (so the tests can fail)."""

import numpy as np
import pytest

from gen3d.metrics.bootstrap import resamples
from gen3d.metrics.evaluation import protocol_from_matrices, score_matrices
from gen3d.metrics.nn_search import NNSearch


def _points_metric(rng, g, r, ties):
    """Symmetric distances between g + r random points in 4-D (a metric, as shape distances are)."""
    p = rng.standard_normal((g + r, 4))
    d = np.linalg.norm(p[:, None] - p[None], axis=-1)
    if ties:
        d = np.round(d * 2) / 2  # many exact ties, including between the nearest same-set and other-set shape
    return d


def _search(d, lower, stop_early=True):
    calls = []

    def solve(a, b, stop):
        v = d[a, b].copy()
        lo = v.copy()
        if stop_early:
            # the solver's contract: it may stop once d > stop is certified, reporting a bound in (stop, d]
            far = v > stop
            lo[far] = stop[far] + (v[far] - stop[far]) / 2
            v[far] = np.nan
        calls.append(len(a))
        return v, lo

    return NNSearch(lower, solve), calls


def _blocks(gu, ru):
    return [(gu, gu), (gu, ru), (ru, ru), (ru, gu)]


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("stop_early", [False, True])
def test_identical_to_all_pairs_with_bootstrap(rng, ties, stop_early):
    g, r = 40, 35
    d = _points_metric(rng, g, r, ties)
    lower = d * rng.uniform(0.5, 1.0, d.shape)
    lower = np.minimum(lower, lower.T)
    lower[rng.random(d.shape) < 0.05] = 0.0  # some useless bounds
    lower = np.minimum(lower, lower.T)
    s, _ = _search(d, lower, stop_early)
    gi, ri = np.arange(g), np.arange(r)
    s.certify(_blocks(gi, ri + g))
    on_gen, on_ref = [], []
    for ug, ur in resamples(g, r, 200, 7):
        gr, rr = gi[ug], ri[ur] + g
        on_gen += [(gr, gr), (rr, gr)]
        on_ref += [(rr, rr), (gr, rr)]
    s.certify(s.uncertified(on_gen, gi) + s.uncertified(on_ref, ri + g))
    m = s.matrix()
    full = (d[:g, :g], d[g:, g:], d[:g, g:])
    pruned = (m[:g, :g], m[g:, g:], m[:g, g:])
    assert score_matrices(*pruned, gi, ri, n_boot=200, seed=7) == score_matrices(
        *full, gi, ri, n_boot=200, seed=7
    )
    assert s.stats["pairs_solved"] < 0.8 * (g + r) * (g + r - 1) / 2  # it pruned


def test_subsets_certified_separately(rng):
    g, r = 30, 30
    d = _points_metric(rng, g, r, ties=True)
    s, _ = _search(d, d * 0.8)
    gi = np.arange(0, g, 2)
    ri = np.arange(1, r, 3)
    s.certify(_blocks(gi, ri + g))
    m = s.matrix()
    sub = lambda a: (a[np.ix_(gi, gi)], a[np.ix_(ri + g, ri + g)], a[np.ix_(gi, ri + g)])  # noqa: E731
    assert protocol_from_matrices(*sub(m)) == protocol_from_matrices(*sub(d))


def test_a_bound_above_the_distance_changes_the_answer(rng):
    g, r = 20, 20
    d = _points_metric(rng, g, r, ties=False)
    lower = d * 0.9
    dd = d.copy()
    np.fill_diagonal(dd, np.inf)
    # break the bound for every shape's true nearest neighbour: the search can no longer find them
    nn = dd.argmin(axis=1)
    lower[np.arange(g + r), nn] = lower[nn, np.arange(g + r)] = d[np.arange(g + r), nn] * 3
    s, _ = _search(d, lower)
    gi, ri = np.arange(g), np.arange(r)
    s.certify(_blocks(gi, ri + g))
    m = s.matrix()
    split = lambda a: (a[:g, :g], a[g:, g:], a[:g, g:])  # noqa: E731
    assert protocol_from_matrices(*split(m)) != protocol_from_matrices(*split(d))


def test_rounds_batch_the_solves_and_never_resolve_a_pair(rng):
    g, r = 25, 25
    d = _points_metric(rng, g, r, ties=False)
    seen = set()

    def solve(a, b, stop):
        for pair in zip(a.tolist(), b.tolist()):
            assert pair[0] < pair[1] and pair not in seen
            seen.add(pair)
        return d[a, b].copy(), d[a, b].copy()

    s = NNSearch(d * 0.7, solve)
    s.certify(_blocks(np.arange(g), np.arange(r) + g))
    assert s.stats["rounds"] < s.stats["pairs_solved"]  # more than one pair per round


def test_a_solver_that_stops_without_certifying_is_refused(rng):
    d = _points_metric(rng, 6, 6, ties=False)

    def solve(a, b, stop):
        return np.full(len(a), np.nan), np.zeros(len(a))  # "stopped" but no bound above the incumbent

    s = NNSearch(d * 0.5, solve)
    with pytest.raises(FloatingPointError):
        s.certify(_blocks(np.arange(6), np.arange(6) + 6))
