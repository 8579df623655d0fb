"""The synthetic ShapeNet v2 collection (gen3d synth) goes through the shapenet adapter, prepare and both
DataModules with its category names."""

from __future__ import annotations

import json

import numpy as np

from gen3d.cli import main
from gen3d.datasets import open_dataset
from gen3d.datasets.cache import ShapeCache
from gen3d.datasets.synth import write_collection
from gen3d.training.datamodules import PointCloudDataModule, VoxelDataModule


def test_synthetic_collection_end_to_end(tmp_path, capsys):
    counts = write_collection(tmp_path / "synth", per_category=3, seed=0, categories=["chair", "airplane"])
    ds = open_dataset("shapenet", tmp_path / "synth")
    assert ds.notes["versions"] == ["v2"] and ds.class_names == ["airplane", "chair"]
    assert len(ds) == sum(counts.values()) == 6
    argv = [
        "prepare",
        "shapenet",
        str(tmp_path / "synth"),
        "--out",
        str(tmp_path / "c"),
        "--points",
        "512",
        "--voxels",
        "16",
        "--normalize",
        "global",
        "--workers",
        "1",
        "--no-progress",
    ]
    assert main(argv) == 0
    assert "6 processed now" in capsys.readouterr().out
    c = ShapeCache(tmp_path / "c")
    assert c.class_names == ["airplane", "chair"] and c.normalization["kind"] == "global"
    m = json.loads((tmp_path / "c" / "manifest.json").read_text())
    assert m["params"]["voxels"] == [16] and m["dataset_notes"]["split_source"] == "seeded(seed=0)"
    pts, labels, ids = c.load_points("train")
    assert np.isfinite(pts).all() and pts.shape[1:] == (512, 3)
    vox = c.load_voxels("train", 16)[0]
    assert (vox.reshape(len(vox), -1).sum(axis=1) > 0).all()  # every shape occupies cells
    pm = PointCloudDataModule(tmp_path / "c", batch_size=2, n_points=256)
    pm.setup("fit")
    assert next(iter(pm.train_dataloader()))["x"].shape == (2, 256, 3)
    vm = VoxelDataModule(tmp_path / "c", resolution=16, batch_size=2)
    vm.setup("fit")
    assert next(iter(vm.train_dataloader()))["x"].shape == (2, 1, 16, 16, 16)
