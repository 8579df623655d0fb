"""Per-sample seeding and the explicit-generator Gamma sampler."""

import numpy as np
import pytest
import torch
from scipy import stats

from gen3d.random import generators_for_seeds, rand, randn, randn_per_sample, standard_gamma


def test_randn_per_sample_independent_of_batch_position():
    a = randn_per_sample((5, 3), generators_for_seeds([7, 8, 9]))
    b = randn_per_sample((5, 3), generators_for_seeds([9, 7]))
    assert torch.equal(a[0], b[1])
    assert torch.equal(a[2], b[0])
    assert not torch.equal(a[0], a[1])
    # the sample for seed 7 is exactly what a generator seeded with 7 gives
    assert torch.equal(a[0], torch.randn((5, 3), generator=torch.Generator().manual_seed(7)))


def test_generator_forms_and_errors():
    g = torch.Generator().manual_seed(0)
    assert randn((4, 2), g).shape == (4, 2)
    assert rand((3,), generators_for_seeds([1, 2, 3])).shape == (3,)
    with pytest.raises(ValueError, match="one generator per sample"):
        randn((4, 2), generators_for_seeds([1, 2]))
    with pytest.raises(TypeError):
        randn((2, 2), [g, "x"])
    with pytest.raises(ValueError):
        generators_for_seeds([-1])
    with pytest.raises(TypeError):
        randn_per_sample((2,), g)


@pytest.mark.parametrize("alpha", [0.5, 3.0, 5e5])
def test_standard_gamma_matches_gamma_law(alpha):
    x = standard_gamma(alpha, 2000, torch.Generator().manual_seed(1)).numpy()
    assert x.dtype == np.float64 and (x > 0).all()
    p = stats.kstest(x, stats.gamma(alpha).cdf).pvalue
    assert p > 1e-3, f"KS p-value {p} for Gamma({alpha})"


def test_standard_gamma_per_sample_streams():
    a = standard_gamma(2.5, 3, generators_for_seeds([4, 5, 6]))
    b = standard_gamma(2.5, 1, generators_for_seeds([5]))
    assert a[1] == b[0]
    with pytest.raises(ValueError):
        standard_gamma(0.0, 3)
