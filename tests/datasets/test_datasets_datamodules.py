"""DataModules over caches of each representation: documented batch shapes, labels, {-1,+1} voxels,
reproducible seeded augmentation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gen3d.datasets.cache import ShapeCache
from gen3d.datasets.prepare import prepare
from gen3d.errors import UserInputError
from gen3d.training.datamodules import PointCloudDataModule, VoxelDataModule

from .conftest import make_folder, make_pc15k


@pytest.fixture(scope="module")
def mesh_cache(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dm")
    root = make_folder(tmp / "f", n=5)
    prepare("folder", root, tmp / "c", n_points=300, voxels=(8,), progress=False)
    return tmp / "c"


def test_point_batches_shapes_labels_and_val(mesh_cache):
    dm = PointCloudDataModule(mesh_cache, batch_size=4, n_points=200)
    dm.setup("fit")
    assert dm.class_names == ["balls", "boxes", "cups"] and dm.num_classes == 3
    batches = list(dm.train_dataloader())
    n_train = len(ShapeCache(mesh_cache).entries("train"))
    assert sum(len(b["label"]) for b in batches) == n_train
    b = batches[0]
    assert b["x"].shape == (4, 200, 3) and b["x"].dtype == torch.float32 and b["label"].dtype == torch.int64
    v = next(iter(dm.val_dataloader()))
    want = torch.from_numpy(ShapeCache(mesh_cache).load_points("val", n_points=200)[0])
    assert torch.equal(v["x"], want[: len(v["x"])])  # validation: first points, no augmentation


def test_training_items_are_seeded_by_epoch_and_index(mesh_cache):
    def epochs(seed):
        dm = PointCloudDataModule(
            mesh_cache, batch_size=3, n_points=100, augment_rotate=True, augment_scale=(0.8, 1.2), seed=seed
        )
        dm.setup("fit")
        dl = dm.train_dataloader()
        out = []
        for epoch in range(2):
            dl.sampler.set_epoch(epoch)  # as Lightning does at the start of every epoch
            out.append(torch.cat([b["x"] for b in dl]))
        return out

    a0, a1 = epochs(0)
    b0, b1 = epochs(0)
    assert torch.equal(a0, b0) and torch.equal(a1, b1)  # reproducible
    assert not torch.equal(a0, a1)  # a new draw every epoch
    assert not torch.equal(a0, epochs(1)[0])


def test_rotation_about_y_keeps_y_and_radius(mesh_cache):
    dm = PointCloudDataModule(mesh_cache, batch_size=64, n_points=300, augment_rotate=True)
    dm.setup("fit")
    ds = dm._set("train", True)
    x0 = ds.data[0]
    xr = ds[(0, 0)]["x"]
    # same points up to order: compare sorted y and sorted x^2 + z^2
    assert torch.allclose(torch.sort(xr[:, 1]).values, torch.sort(x0[:, 1]).values, atol=1e-6)
    r0, rr = x0[:, 0] ** 2 + x0[:, 2] ** 2, xr[:, 0] ** 2 + xr[:, 2] ** 2
    assert torch.allclose(torch.sort(rr).values, torch.sort(r0).values, atol=1e-5)
    assert not torch.allclose(torch.sort(xr[:, 0]).values, torch.sort(x0[:, 0]).values, atol=1e-3)


def test_voxel_batches_in_model_space(mesh_cache):
    dm = VoxelDataModule(mesh_cache, resolution=8, batch_size=2, augment_rotate=True)
    dm.setup("fit")
    b = next(iter(dm.train_dataloader()))
    assert b["x"].shape == (2, 1, 8, 8, 8) and set(b["x"].unique().tolist()) <= {-1.0, 1.0}
    occ, _, _ = ShapeCache(mesh_cache).load_voxels("val", 8)
    v = next(iter(dm.val_dataloader()))
    assert torch.equal(v["x"], torch.from_numpy(occ[: len(v["x"])] * 2 - 1))
    # a quarter turn about y maps grid (x, y, z) to another grid with the same y-slices' occupancy counts
    x = dm._set("train", True).data[0]
    for e in range(4):
        xr = dm._set("train", True)[(e, 0)]["x"]
        assert torch.equal(xr.sum(dim=(1, 3)), x.sum(dim=(1, 3)))


def test_pc15k_cache_datamodule_and_bad_arguments(tmp_path):
    prepare(
        "pc15k",
        make_pc15k(tmp_path / "pc", n_points=300),
        tmp_path / "c",
        n_points=300,
        normalize="global",
        progress=False,
    )
    dm = PointCloudDataModule(tmp_path / "c", batch_size=2, n_points=256, categories="chair")
    dm.setup("fit")
    b = next(iter(dm.train_dataloader()))
    assert b["x"].shape == (2, 256, 3) and (b["label"] == dm.class_names.index("chair")).all()
    with pytest.raises(UserInputError, match="n_points"):
        PointCloudDataModule(tmp_path / "c", n_points=1000)
    with pytest.raises(UserInputError, match="no 32"):
        VoxelDataModule(tmp_path / "c", resolution=32)
    with pytest.raises(UserInputError, match="split 'holdout'"):
        PointCloudDataModule(tmp_path / "c", val_split="holdout")
    assert np.isfinite(b["x"].numpy()).all()


def test_batches_do_not_depend_on_num_workers(mesh_cache):
    def first_epoch(workers):
        dm = PointCloudDataModule(
            mesh_cache, batch_size=2, n_points=64, augment_rotate=True, num_workers=workers
        )
        dm.setup("fit")
        return torch.cat([b["x"] for b in dm.train_dataloader()])

    assert torch.equal(first_epoch(0), first_epoch(2))
