"""Connected pieces of grids and the TSDF field, against naive references and closed forms."""

import numpy as np
import pytest

from gen3d.errors import UserInputError
from gen3d.geometry.components import count_components, fill_holes, largest_component, postprocess_grids
from gen3d.geometry.grid_field import check_voxel_field, flip_dims, occupancy_to_tsdf


def _naive_components(g: np.ndarray) -> int:
    """Flood fill over face neighbours, written out."""
    seen = np.zeros_like(g)
    n = 0
    for start in zip(*np.nonzero(g)):
        if seen[start]:
            continue
        n += 1
        stack = [start]
        seen[start] = True
        while stack:
            c = stack.pop()
            for axis in range(3):
                for d in (-1, 1):
                    q = list(c)
                    q[axis] += d
                    q = tuple(q)
                    if all(0 <= v < g.shape[0] for v in q) and g[q] and not seen[q]:
                        seen[q] = True
                        stack.append(q)
    return n


def test_count_components_matches_flood_fill_and_uses_face_connectivity():
    rng = np.random.default_rng(0)
    grids = rng.random((6, 7, 7, 7)) < 0.3
    assert count_components(grids).tolist() == [_naive_components(g) for g in grids]
    corner = np.zeros((4, 4, 4), bool)
    corner[0, 0, 0] = corner[1, 1, 1] = True  # touch at a corner only: two pieces
    edge = np.zeros((4, 4, 4), bool)
    edge[0, 0, 0] = edge[0, 1, 0] = True  # share a face: one piece
    assert count_components(corner).tolist() == [2]
    assert count_components(edge).tolist() == [1]
    assert count_components(np.zeros((2, 3, 3, 3), bool)).tolist() == [0, 0]


def test_largest_component_keeps_the_biggest_piece_only():
    g = np.zeros((10, 10, 10), bool)
    g[0:2, 0:2, 0:2] = True  # 8 cells
    g[5:8, 5:8, 5:8] = True  # 27 cells
    g[0, 9, 9] = True
    out = largest_component(g)
    assert out.sum() == 27 and out[5:8, 5:8, 5:8].all()
    assert not largest_component(np.zeros((3, 3, 3), bool)).any()


def test_fill_holes_fills_enclosed_cavities_only():
    shell = np.zeros((7, 7, 7), bool)
    shell[1:6, 1:6, 1:6] = True
    shell[2:5, 2:5, 2:5] = False  # closed cavity
    cup = shell.copy()
    cup[3, 3, 5] = False  # a hole through the top: the cavity reaches outside
    assert fill_holes(shell)[1:6, 1:6, 1:6].all()
    assert (fill_holes(cup) == cup).all()
    both = postprocess_grids(np.stack([shell, shell | (np.arange(7) == 0)[:, None, None]]), ["lcc", "fill"])
    assert both.shape == (2, 7, 7, 7) and both[0, 1:6, 1:6, 1:6].all()
    with pytest.raises(ValueError, match="unknown voxel post-processing step"):
        postprocess_grids(shell[None], ["smooth"])


def test_tsdf_matches_brute_force_distances_and_keeps_the_occupancy():
    rng = np.random.default_rng(1)
    g = np.zeros((9, 9, 9), bool)
    g[2:7, 3:6, 1:8] = True
    g[rng.random(g.shape) < 0.05] = True
    g[0, 4, 4] = g[8, 8, 8] = True  # touching the border: distances stay within the grid
    f = occupancy_to_tsdf(g, truncation=3.0)
    centres = np.stack(np.meshgrid(*[np.arange(9)] * 3, indexing="ij"), -1).reshape(-1, 3)
    occ = g.reshape(-1)
    d = np.linalg.norm(centres[:, None] - centres[None], axis=-1)
    d_other = np.where(occ[:, None] != occ[None], d, np.inf).min(1)
    expect = np.clip(np.where(occ, d_other - 0.5, -(d_other - 0.5)) / 3.0, -1, 1).reshape(9, 9, 9)
    np.testing.assert_allclose(f, expect, atol=1e-6)
    assert ((f > 0) == g).all() and f.dtype == np.float32
    assert (occupancy_to_tsdf(np.zeros((1, 4, 4, 4), bool), 2.0) == -1).all()


def test_field_and_flip_checks():
    assert check_voxel_field("tsdf", 2) == ("tsdf", 2.0)
    assert flip_dims(["y"]) == (2,) and flip_dims("x") == (1,) and flip_dims([]) == ()
    for bad in (("sdf", 2.0), ("tsdf", 0), ("tsdf", True)):
        with pytest.raises(UserInputError):
            check_voxel_field(*bad)
    for bad in (["w"], ["x", "x"], [1]):
        with pytest.raises(UserInputError, match="augment_flip"):
            flip_dims(bad)


def test_fill_holes_keeps_a_cavity_that_leaks_through_a_corner():
    box = np.zeros((6, 6, 6), bool)
    box[1:5, 1:5, 1:5] = True
    box[2:4, 2:4, 2:4] = False  # a 2^3 cavity
    box[4, 4, 4] = False  # the shell's corner cell: the cavity (3,3,3) now meets the outside at a corner
    leaky = box.copy()
    assert not fill_holes(leaky)[2:4, 2:4, 2:4].any()  # empty space connects through corners
    closed = box.copy()
    closed[4, 4, 4] = True
    assert fill_holes(closed)[2:4, 2:4, 2:4].all()


def test_to_model_space_fields():
    from gen3d.geometry.grid_field import to_model_space

    occ = (np.random.default_rng(2).random((3, 1, 6, 6, 6)) < 0.4).astype(np.float32)
    np.testing.assert_array_equal(to_model_space(occ, "occupancy"), occ * 2.0 - 1.0)
    t = to_model_space(occ, "tsdf", 2.0)
    assert t.shape == occ.shape and ((t > 0) == (occ > 0.5)).all()
    with pytest.raises(UserInputError):
        to_model_space(occ, "tsdf", float("inf"))
