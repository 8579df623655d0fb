"""End to end through the CLI: gen3d fit (checkpoints, gallery, resume, NaN guard) and gen3d sample."""

import json

import numpy as np
import pytest
import torch

from gen3d.cli import main
from gen3d.errors import CheckpointError
from gen3d.sample_file import load_samples
from gen3d.training.checkpoint import AtomicCheckpointIO, load_denoiser, read_checkpoint


def fit_args(cache, run_dir, *extra):
    sets = [
        f"data.cache_dir={cache}",
        "data.n_points=32",
        "data.batch_size=4",
        f"experiment.run_dir={run_dir}",
        "experiment.name=t",
        "trainer.max_steps=4",
        "trainer.checkpoint_every_n_steps=2",
        "trainer.sample_every_n_steps=2",
        "trainer.sample_count=2",
        "trainer.sample_steps=2",
        "trainer.enable_progress_bar=false",
        "trainer.log_every_n_steps=1",
        "trainer.accelerator=cpu",
        "net.size=tiny",
        "trainer.gallery_renderer=matplotlib",
        *extra,
    ]
    return ["fit", "--config", "demo_points", "--threads", "1"] + [a for s in sets for a in ("--set", s)]


@pytest.fixture(scope="module")
def trained(tiny_cache, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("runs")
    assert main(fit_args(tiny_cache, run_dir)) == 0
    return run_dir / "t"


def test_fit_writes_checkpoint_logs_and_gallery(trained):
    ckpt = read_checkpoint(trained / "checkpoints" / "last.ckpt")  # weights_only=True load
    assert ckpt["global_step"] == 4
    cfg = ckpt["gen3d"]["config"]
    assert (
        cfg["experiment"]["class_names"] == ["airplane", "car", "chair"] and cfg["trainer"]["max_steps"] == 4
    )
    assert ckpt["gen3d"]["ema"]["num_updates"] == 4
    assert sorted(p.name for p in (trained / "gallery").glob("*.png")) == [
        "step_0000002.png",
        "step_0000004.png",
    ]
    metrics = (trained / "logs" / "metrics.csv").read_text()
    assert "train/loss" in metrics and "train/loss_lnsigma_" in metrics
    assert not list((trained / "checkpoints").glob(".*"))  # no temp files left behind


def test_load_denoiser_ema_and_raw(trained):
    path = trained / "checkpoints" / "last.ckpt"
    ema_net, cfg, proc = load_denoiser(path, ema=True)
    raw_net, _, _ = load_denoiser(path, ema=False)
    ckpt = read_checkpoint(path)
    assert not ema_net.training and proc.sigma_data == cfg["process"]["sigma_data"]
    for k, v in ema_net.state_dict().items():
        torch.testing.assert_close(v, ckpt["gen3d"]["ema"]["shadow"][k], rtol=0, atol=0)
        torch.testing.assert_close(
            raw_net.state_dict()[k], ckpt["state_dict"]["denoiser." + k], rtol=0, atol=0
        )
    assert any(not torch.equal(v, raw_net.state_dict()[k]) for k, v in ema_net.state_dict().items())


def test_resume_auto_continues(trained, tiny_cache, tmp_path):
    import shutil

    shutil.copytree(trained, tmp_path / "t")  # leave the shared run untouched
    # 7 is not a multiple of the checkpoint interval (2): the final step is still saved
    assert main(fit_args(tiny_cache, tmp_path, "trainer.max_steps=7") + ["--resume", "auto"]) == 0
    ckpt = read_checkpoint(tmp_path / "t" / "checkpoints" / "last.ckpt")
    assert ckpt["global_step"] == 7 and ckpt["gen3d"]["ema"]["num_updates"] == 7


def test_corrupt_checkpoints_raise_checkpoint_error(trained, tmp_path):
    good = (trained / "checkpoints" / "last.ckpt").read_bytes()
    (tmp_path / "trunc.ckpt").write_bytes(good[: len(good) // 2])
    (tmp_path / "junk.ckpt").write_bytes(b"not a checkpoint at all")
    torch.save({"state_dict": {}}, tmp_path / "foreign.ckpt")
    for name, pattern in (
        ("trunc", "truncated"),
        ("junk", "truncated"),
        ("foreign", "not a gen3d checkpoint"),
        ("missing", "no checkpoint file"),
    ):
        with pytest.raises(CheckpointError, match=pattern):
            load_denoiser(tmp_path / f"{name}.ckpt")
    assert main(["sample", "--ckpt", str(tmp_path / "trunc.ckpt"), "--out", str(tmp_path / "s.npz")]) == 2


def test_interrupted_checkpoint_write_leaves_old_file(tmp_path, monkeypatch):
    io = AtomicCheckpointIO()
    target = tmp_path / "last.ckpt"
    io.save_checkpoint({"gen3d": {}, "state_dict": {"w": torch.ones(3)}}, target)
    before = target.read_bytes()

    def dying_save(obj, f, *a, **k):
        with open(f, "wb") as fh:
            fh.write(b"PK\x03\x04 partial")
        raise KeyboardInterrupt  # killed mid-write

    monkeypatch.setattr(torch, "save", dying_save)
    with pytest.raises(KeyboardInterrupt):
        io.save_checkpoint({"gen3d": {}, "state_dict": {"w": torch.zeros(3)}}, target)
    assert target.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["last.ckpt"]


def test_nan_loss_stops_fit_with_step(tiny_cache, tmp_path, capsys):
    code = main(
        fit_args(
            tiny_cache,
            tmp_path,
            "optim.lr=1.0e+30",
            "optim.grad_clip=0",
            "trainer.max_steps=50",
            "trainer.sample_every_n_steps=0",
            "optim.warmup_steps=0",
        )
    )
    err = capsys.readouterr().err
    assert code == 2 and "loss is NaN/inf at step" in err


def test_sample_cli_writes_npz_with_meta(trained, tmp_path):
    ckpt = str(trained / "checkpoints" / "last.ckpt")
    out = tmp_path / "s.npz"
    assert (
        main(
            [
                "sample",
                "--ckpt",
                ckpt,
                "--n",
                "3",
                "--steps",
                "3",
                "--seed",
                "10",
                "--class",
                "chair",
                "--guidance",
                "2.0",
                "--batch-size",
                "2",
                "--record-trajectory",
                "2",
                "--out",
                str(out),
                "--ply-dir",
                str(tmp_path / "ply"),
                "--no-progress",
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    s = load_samples(out)
    assert (
        s.points.shape == (3, 32, 3) and s.seeds.tolist() == [10, 11, 12] and s.labels.tolist() == [2, 2, 2]
    )
    assert s.meta["nfe"] == 5 and s.meta["steps"] == 3 and s.meta["sampler"] == "heun"  # Heun: 2n-1 calls
    assert s.meta["config"]["experiment"]["class_names"] == ["airplane", "car", "chair"]
    # every 2nd state of 3 Heun steps (0, 2) and the final one (3), which is the sample itself
    assert s.trajectory.shape == (3, 3, 32, 3) and s.traj_sigmas.shape == (3,) and s.traj_sigmas[-1] == 0
    np.testing.assert_array_equal(s.trajectory[-1], s.points)
    plys = sorted((tmp_path / "ply").glob("*.ply"))
    assert len(plys) == 3
    raw = plys[0].read_bytes()
    body = np.frombuffer(raw[raw.index(b"end_header\n") + 11 :], dtype="<f4").reshape(-1, 3)
    np.testing.assert_array_equal(body, s.points[0])
    # same seed, batch of one: same shape
    out1 = tmp_path / "one.npz"
    assert (
        main(
            [
                "sample",
                "--ckpt",
                ckpt,
                "--n",
                "1",
                "--steps",
                "3",
                "--seed",
                "11",
                "--class",
                "chair",
                "--guidance",
                "2.0",
                "--out",
                str(out1),
                "--no-progress",
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    np.testing.assert_allclose(load_samples(out1).points[0], s.points[1], rtol=1e-5, atol=1e-6)
    json.dumps(s.meta)


def test_sample_cli_user_errors(trained, tmp_path, capsys):
    ckpt = str(trained / "checkpoints" / "last.ckpt")
    base = [
        "sample",
        "--ckpt",
        ckpt,
        "--n",
        "1",
        "--steps",
        "2",
        "--out",
        str(tmp_path / "x.npz"),
        "--no-progress",
    ]
    assert main(base + ["--class", "sofa"]) == 2
    assert "classes: ['airplane', 'car', 'chair']" in capsys.readouterr().err
    assert main(base + ["--guidance", "2"]) == 2
    assert main(base + ["--denormalize"]) == 2  # bbox (per-shape) cache: cannot map generated shapes back
    assert "de-normalise" in capsys.readouterr().err


def test_sample_denormalize_with_global_cache(trained, tmp_path):
    """--denormalize maps points back to raw units with the cache's global (PointFlow) normalisation
    ``x * std + mean``: checked with the manifest's numbers applied by hand (not with ShapeCache.denormalize),
    and those numbers against the statistics of the source meshes (unit spheres at a known offset)."""
    import trimesh

    from gen3d.datasets.prepare import prepare

    offset = np.array([3.0, -2.0, 1.0])
    root = tmp_path / "spheres"
    for name in ("airplane", "car", "chair"):
        (root / name).mkdir(parents=True)
        for i in range(4):
            sphere = trimesh.creation.icosphere(subdivisions=3, radius=1.0)
            sphere.apply_translation(offset)
            sphere.export(root / name / f"{name}{i}.obj")
    prepare("folder", root, tmp_path / "gcache", n_points=128, normalize="global", progress=False)
    ckpt = torch.load(trained / "checkpoints" / "last.ckpt", weights_only=True)
    ckpt["gen3d"]["config"]["data"]["cache_dir"] = str(tmp_path / "gcache")
    torch.save(ckpt, tmp_path / "g.ckpt")
    base = ["sample", "--ckpt", str(tmp_path / "g.ckpt"), "--n", "2", "--steps", "2", "--no-progress"]
    assert main(base + ["--out", str(tmp_path / "n.npz")]) == 0
    assert main(base + ["--out", str(tmp_path / "d.npz"), "--denormalize"]) == 0
    norm, den = load_samples(tmp_path / "n.npz"), load_samples(tmp_path / "d.npz")
    glob = json.loads((tmp_path / "gcache" / "manifest.json").read_text())["normalization"]["global"]
    np.testing.assert_allclose(
        den.points, norm.points * np.array(glob["scale"]) + np.array(glob["shift"]), rtol=1e-5, atol=1e-5
    )
    # and those numbers are PointFlow's statistics of the raw points (on unit spheres at `offset`): mean =
    # offset; one std over all coordinates about their pooled mean m: var = r^2 / 3 + mean_a (offset_a - m)^2
    std = np.sqrt(1.0 / 3.0 + np.mean((offset - offset.mean()) ** 2))
    np.testing.assert_allclose(glob["shift"], offset, atol=0.1)  # 128 random surface points per sphere
    np.testing.assert_allclose(glob["scale"], [std] * 3, rtol=0.03)
    assert den.meta["denormalized"] and den.meta["normalization"]["kind"] == "global"
    assert not np.allclose(den.points, norm.points)


def test_sample_refuses_null_class_without_label_dropout(trained, tmp_path, capsys):
    """A conditional model trained with p_uncond = 0 never learned the null class: no unconditional sampling
    and no guidance (both would silently use an untrained class embedding)."""
    ckpt = torch.load(trained / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    ckpt["gen3d"]["config"]["optim"]["p_uncond"] = 0.0
    path = tmp_path / "no_dropout.ckpt"
    torch.save(ckpt, path)
    base = ["sample", "--ckpt", str(path), "--n", "1", "--steps", "2", "--no-progress", "--device", "cpu"]
    out = ["--out", str(tmp_path / "x.npz")]
    assert main(base + out) == 2
    assert "p_uncond = 0" in capsys.readouterr().err
    assert main(base + out + ["--class", "chair", "--guidance", "2"]) == 2
    assert main(base + out + ["--class", "chair"]) == 0
