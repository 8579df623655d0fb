"""The voxel recipe's options through the CLI and config: a TSDF field, mirror augmentation, a patchified 3D
U-Net, post-processing of generated grids (`gen3d sample --voxel-post`) and grid-vs-grid scoring against a
cache (`gen3d evaluate --grids`)."""

import json

import numpy as np
import pytest
import torch

from gen3d.cli import main
from gen3d.config import load_config
from gen3d.datasets.cache import ShapeCache
from gen3d.geometry.components import count_components, postprocess_grids
from gen3d.geometry.grid_field import occupancy_to_tsdf
from gen3d.metrics.voxel import iou_distance_pairwise
from gen3d.sample_file import load_samples
from gen3d.training.checkpoint import read_checkpoint
from gen3d.training.components import build_datamodule


def _sets(cache, run_dir, *extra):
    return [
        f"data.cache_dir={cache}",
        "data.resolution=8",
        "data.batch_size=4",
        f"experiment.run_dir={run_dir}",
        "experiment.name=v",
        "experiment.class_cond=false",
        "trainer.max_steps=2",
        "trainer.checkpoint_every_n_steps=2",
        "trainer.sample_every_n_steps=0",
        "trainer.enable_progress_bar=false",
        "trainer.accelerator=cpu",
        *extra,
    ]


RECIPE = [
    "data.field=tsdf",
    "data.tsdf_truncation=2",
    "data.augment_flip=[y]",
    "net.patch_size=2",
    "net.channel_mult=[1,2]",
    "process.sigma_data=0.1",
]


@pytest.fixture(scope="module")
def voxel_ckpt(tiny_cache, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("vox")
    argv = ["fit", "--config", "demo_voxels", "--threads", "1"]
    argv += [a for s in _sets(tiny_cache, run_dir, *RECIPE) for a in ("--set", s)]
    assert main(argv) == 0
    return run_dir / "v" / "checkpoints" / "last.ckpt"


def test_recipe_options_reach_the_model_and_the_data(voxel_ckpt, tiny_cache):
    payload = read_checkpoint(voxel_ckpt)["gen3d"]
    cfg = payload["config"]
    assert cfg["data"]["field"] == "tsdf" and cfg["data"]["augment_flip"] == ["y"]
    assert cfg["net"]["patch_size"] == 2
    state = torch.load(voxel_ckpt, map_location="cpu", weights_only=True)["state_dict"]
    w = next(v for k, v in state.items() if k.endswith("conv_in.weight"))
    assert w.shape[1] == 8  # 2^3 cells folded into channels


def test_tsdf_batches_and_mirror_augmentation(tiny_cache, tmp_path):
    cfg = load_config("demo_voxels", _sets(tiny_cache, tmp_path, *RECIPE))
    dm = build_datamodule(cfg)
    dm.setup("fit")
    occ = ShapeCache(tiny_cache).load_voxels("train", 8, "solid")[0][:, 0] > 0.5
    expect = occupancy_to_tsdf(occ, 2.0)
    ds = dm.train_dataloader().dataset
    for epoch in range(2):
        for i in range(len(ds)):
            x = ds[(epoch, i)]["x"][0].numpy()
            same = np.array_equal(x, expect[i])
            mirrored = np.array_equal(x, expect[i][:, ::-1, :])
            assert same or mirrored, "an item is neither the shape's TSDF nor its mirror along y"
    # the flip itself, on an asymmetric grid: about half of the draws mirror it along y (tensor dim 2), none
    # along another axis
    g = torch.arange(2 * 3 * 4, dtype=torch.float32).reshape(1, 2, 3, 4)
    outs = [dm._transform(g, torch.Generator().manual_seed(k)) for k in range(200)]
    flips = sum(torch.equal(o, torch.flip(g, dims=(2,))) for o in outs)
    assert all(torch.equal(o, g) or torch.equal(o, torch.flip(g, dims=(2,))) for o in outs)
    assert 70 <= flips <= 130
    assert ((expect > 0) == occ).all()


def test_sample_voxel_post_and_evaluate_grids(voxel_ckpt, tiny_cache, tmp_path):
    raw, post = tmp_path / "raw.npz", tmp_path / "post.npz"
    base = ["sample", "--ckpt", str(voxel_ckpt), "--n", "6", "--steps", "3", "--seed", "5"]
    assert main([*base, "--out", str(raw)]) == 0
    assert main([*base, "--voxel-post", "lcc,fill", "--out", str(post)]) == 0
    r, p = load_samples(raw), load_samples(post)
    occ = r.voxels[:, 0] > 0.5
    assert r.meta["voxel_post"] == [] and r.meta["voxel_pieces"] == count_components(occ).tolist()
    assert p.meta["voxel_post"] == ["lcc", "fill"]
    assert p.meta["voxel_pieces_raw"] == r.meta["voxel_pieces"]
    np.testing.assert_array_equal(p.voxels[:, 0] > 0.5, postprocess_grids(occ, ["lcc", "fill"]))
    assert all(n <= 1 for n in p.meta["voxel_pieces"])

    out = tmp_path / "ev.json"
    argv = ["evaluate", str(post), str(tiny_cache), "--grids", "--split", "train", "--bootstrap", "0"]
    assert main([*argv, "--out", str(out)]) == 0
    res = json.loads(out.read_text())
    ref = ShapeCache(tiny_cache).load_voxels("train", 8, "solid")[0][:, 0] > 0.5
    assert res["kind"] == "voxels" and res["n_gen"] == 6 and res["n_ref"] == len(ref)
    assert 0.0 <= res["metrics"]["iou"]["mmd"] <= 1.0
    assert res["pieces"]["gen"]["one_piece"] == pytest.approx(np.mean(np.array(p.meta["voxel_pieces"]) == 1))
    assert res["pieces"]["ref"]["mean"] >= 1.0
    # the scored reference is the cache's solid grids: a set scored against itself is at the floor
    own = tmp_path / "own.npz"
    from gen3d.sample_file import SampleFile, save_samples

    save_samples(own, SampleFile(voxels=ref[:, None].astype(np.float32)))
    assert main(["evaluate", str(own), str(tiny_cache), "--grids", "--split", "train", "--bootstrap", "0",
                 "--out", str(out)]) == 0  # fmt: skip
    res = json.loads(out.read_text())
    assert res["metrics"]["iou"]["mmd"] == pytest.approx(0.0, abs=1e-12)
    assert iou_distance_pairwise(ref, ref).diagonal().max() == 0.0


def test_bad_voxel_options_are_refused(voxel_ckpt, tiny_cache, tmp_path, capsys):
    for setting, message in (
        ("data.field=sdf", "data.field must be one of"),
        ("data.tsdf_truncation=0", "data.tsdf_truncation"),
        ("data.augment_flip=[w]", "data.augment_flip"),
    ):
        argv = ["fit", "--config", "demo_voxels"]
        argv += [a for s in _sets(tiny_cache, tmp_path, setting) for a in ("--set", s)]
        assert main(argv) == 2
        assert message in capsys.readouterr().err
    out = str(tmp_path / "s.npz")
    argv = ["sample", "--ckpt", str(voxel_ckpt), "--n", "1", "--voxel-post", "smooth", "--out", out]
    assert main(argv) == 2
    assert "--voxel-post: unknown step" in capsys.readouterr().err
    pts = tmp_path / "p.npz"
    from gen3d.sample_file import SampleFile, save_samples

    save_samples(pts, SampleFile(points=np.zeros((2, 16, 3), np.float32)))
    assert main(["evaluate", str(pts), str(tiny_cache), "--grids", "--bootstrap", "0"]) == 2
    assert "--grids scores generated voxel grids" in capsys.readouterr().err


def test_a_grid_the_unet_cannot_take_is_refused_when_the_config_loads():
    from gen3d.errors import UserInputError

    with pytest.raises(UserInputError, match="not divisible by 8"):
        load_config("demo_voxels", ["data.resolution=12", "net.patch_size=2", "net.channel_mult=[1,2,2]"])
    with pytest.raises(UserInputError, match="not divisible by 4"):
        load_config("demo_voxels", ["data.resolution=6"])  # tiny: 3 levels
    assert load_config("modelnet_vox32")["net"]["patch_size"] == 4  # 32 = 4 * 2 * 4
