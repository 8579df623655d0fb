"""The completion file: round trip, validation, refusal of other files."""

from __future__ import annotations

import numpy as np
import pytest

from gen3d.completion.completion_file import CompletionFile, load_completions, save_completions
from gen3d.errors import UserInputError


def _file(**over) -> CompletionFile:
    rng = np.random.default_rng(0)
    kw = dict(
        completions=rng.standard_normal((2, 3, 8, 3)).astype(np.float32),
        seeds=np.arange(6).reshape(2, 3),
        observed=np.full((2, 3), 2),
        partials=[
            rng.standard_normal((4, 3)).astype(np.float32),
            rng.standard_normal((7, 3)).astype(np.float32),
        ],
        truth=None,
        meta={"units": "input"},
    )
    kw.update(over)
    return CompletionFile(**kw)


def test_round_trip(tmp_path):
    f = _file(truth=np.zeros((2, 10, 3), np.float32))
    back = load_completions(save_completions(tmp_path / "c.npz", f))
    np.testing.assert_array_equal(back.completions, f.completions)
    assert [p.shape for p in back.partials] == [(4, 3), (7, 3)] and back.truth.shape == (2, 10, 3)
    assert back.meta == {"units": "input"} and back.seeds.tolist() == f.seeds.tolist()


def test_refuses_bad_content_and_other_files(tmp_path):
    with pytest.raises(UserInputError, match="NaN"):
        save_completions(tmp_path / "x.npz", _file(completions=np.full((2, 3, 8, 3), np.nan, np.float32)))
    with pytest.raises(UserInputError, match="seeds"):
        save_completions(tmp_path / "x.npz", _file(seeds=np.zeros((2, 2))))
    with pytest.raises(UserInputError, match="partial inputs"):
        save_completions(tmp_path / "x.npz", _file(partials=[np.zeros((3, 3), np.float32)]))
    assert not (tmp_path / "x.npz").exists()
    np.savez(tmp_path / "samples.npz", points=np.zeros((2, 8, 3)))
    with pytest.raises(UserInputError, match="not a completion file"):
        load_completions(tmp_path / "samples.npz")
    one = np.zeros((1, 1))
    arrays = {"completions": np.zeros((1, 1, 4, 3)), "seeds": one, "observed": one}
    np.savez(
        tmp_path / "bad.npz", partial_points=np.zeros((3, 3)), partial_offsets=np.array([0, 5]), **arrays
    )
    with pytest.raises(UserInputError, match="partial_offsets"):
        load_completions(tmp_path / "bad.npz")
