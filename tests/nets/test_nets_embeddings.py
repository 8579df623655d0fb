"""Noise and class embeddings."""

import math

import pytest
import torch

from gen3d.nets.embeddings import ConditionEmbedding, FourierEmbedding, check_cond


def test_fourier_embedding_closed_form():
    emb = FourierEmbedding(8, min_freq=1.0, max_freq=8.0)
    t = torch.tensor([0.0, 0.5])
    out = emb(t)
    freqs = torch.tensor([1.0, 2.0, 4.0, 8.0])
    want = torch.cat([torch.cos(t[:, None] * freqs), torch.sin(t[:, None] * freqs)], dim=1)
    torch.testing.assert_close(out, want)
    assert math.isclose(float(out[0, :4].sum()), 4.0)


def test_fourier_embedding_rejects_odd_dim():
    with pytest.raises(ValueError, match="even"):
        FourierEmbedding(7)


def test_null_class_is_default_and_labels_differ():
    torch.manual_seed(0)
    emb = ConditionEmbedding(16, num_classes=3)
    c = torch.tensor([0.1, 0.1, 0.1, 0.1])
    labelled = emb(c, torch.tensor([0, 1, 2, 3]))
    torch.testing.assert_close(emb(c, None), emb(c, torch.full((4,), 3)))
    torch.testing.assert_close(labelled[3], emb(c, None)[0])
    assert not torch.allclose(labelled[0], labelled[1])


@pytest.mark.parametrize(
    ("cond", "num_classes", "match"),
    [
        (torch.tensor([0, 1]), 0, "num_classes=0"),
        (torch.tensor([0.0, 1.0]), 3, "integer"),
        (torch.tensor([0, 1, 2]), 3, "shape"),
        (torch.tensor([0, 4]), 3, r"\[0, 3\]"),
        (torch.tensor([-1, 0]), 3, r"\[0, 3\]"),
    ],
)
def test_check_cond_errors(cond, num_classes, match):
    with pytest.raises(ValueError, match=match):
        check_cond(cond, 2, num_classes)
