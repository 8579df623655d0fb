"""The sample file: round trip, validation of layouts, clear errors for truncated or foreign files."""

import numpy as np
import pytest

from gen3d.errors import CheckpointError, UserInputError
from gen3d.sample_file import SampleFile, load_samples, save_samples


def test_round_trip_keeps_arrays_and_meta(tmp_path):
    rng = np.random.default_rng(0)
    s = SampleFile(
        points=rng.standard_normal((3, 16, 3)).astype(np.float32),
        seeds=np.arange(3),
        labels=np.array([0, 1, 1]),
        meta={"sampler": "heun", "nfe": 35, "class_names": ["a", "b"]},
    )
    back = load_samples(save_samples(tmp_path / "s.npz", s))
    np.testing.assert_array_equal(back.points, s.points)
    np.testing.assert_array_equal(back.seeds, s.seeds)
    assert back.meta == s.meta and back.num_shapes == 3


def test_bare_npy_arrays_are_accepted(tmp_path):
    np.save(tmp_path / "p.npy", np.zeros((2, 8, 3), np.float32))
    np.save(tmp_path / "v.npy", np.zeros((2, 4, 4, 4), np.float32))
    assert load_samples(tmp_path / "p.npy").points.shape == (2, 8, 3)
    assert load_samples(tmp_path / "v.npy").voxels.shape == (2, 1, 4, 4, 4)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({}, "neither"),
        ({"points": np.zeros((2, 8, 2))}, r"\(S, N, 3\)"),
        ({"points": np.full((2, 8, 3), np.nan)}, "NaN"),
        ({"voxels": np.zeros((2, 1, 4, 4, 5))}, r"\(S, 1, R, R, R\)"),
        ({"points": np.zeros((2, 8, 3)), "seeds": np.arange(3)}, "seeds"),
    ],
)
def test_bad_layouts_are_refused(tmp_path, kwargs, match):
    with pytest.raises(UserInputError, match=match):
        save_samples(tmp_path / "bad.npz", SampleFile(**kwargs))
    assert not (tmp_path / "bad.npz").exists()


def test_truncated_and_missing_files(tmp_path):
    p = save_samples(tmp_path / "s.npz", SampleFile(points=np.zeros((4, 64, 3), np.float32)))
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated"):
        load_samples(p)
    (tmp_path / "text.npz").write_text("not an archive")
    with pytest.raises(CheckpointError, match="not an .npz or .npy file"):
        load_samples(tmp_path / "text.npz")
    with pytest.raises(UserInputError, match="no sample file"):
        load_samples(tmp_path / "missing.npz")
