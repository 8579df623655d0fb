"""gen3d sample checks its argument combinations before sampling, reports an honest NFE when batches differ
(the adaptive solver), and refuses a trajectory it cannot align; gen3d render names the right flag."""

import numpy as np
import pytest
import torch

import gen3d.generate
from gen3d.cli import main
from gen3d.generate import TrajectoryRecorder, generate
from gen3d.precond import EDMPrecond
from gen3d.processes import get_process
from gen3d.sample_file import SampleFile, load_samples, save_samples

from .standins import TinyBackbone
from .test_training_cli import fit_args


@pytest.fixture(scope="module")
def points_ckpt(tiny_cache, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("runs")
    extra = ["trainer.max_steps=1", "trainer.sample_every_n_steps=0", "trainer.checkpoint_every_n_steps=1"]
    assert main(fit_args(tiny_cache, run_dir, *extra)) == 0
    return run_dir / "t" / "checkpoints" / "last.ckpt"


@pytest.fixture(scope="module")
def voxels_ckpt(tiny_cache, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("runs")
    sets = [
        f"data.cache_dir={tiny_cache}",
        "data.resolution=8",
        "data.batch_size=4",
        f"experiment.run_dir={run_dir}",
        "experiment.name=v",
        "trainer.max_steps=1",
        "trainer.checkpoint_every_n_steps=1",
        "trainer.sample_every_n_steps=0",
        "trainer.enable_progress_bar=false",
        "trainer.accelerator=cpu",
    ]
    argv = ["fit", "--config", "demo_voxels", "--threads", "1"] + [a for s in sets for a in ("--set", s)]
    assert main(argv) == 0
    return run_dir / "v" / "checkpoints" / "last.ckpt"


def run_sample(ckpt, out, *extra):
    argv = ["sample", "--ckpt", str(ckpt), "--out", str(out), "--no-progress", "--device", "cpu"]
    return main(argv + ["--class", "chair", "--steps", "2", *extra])


@pytest.fixture
def no_sampling(monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("sampling started")

    monkeypatch.setattr(gen3d.generate, "generate", refuse)


def _ckpt_without_cache_dir(ckpt, tmp_path):
    state = torch.load(ckpt, map_location="cpu", weights_only=True)
    state["gen3d"]["config"]["data"]["cache_dir"] = None
    torch.save(state, tmp_path / "nocache.ckpt")
    return tmp_path / "nocache.ckpt"


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--record-trajectory", "1", "--sampler", "adaptive", "--n", "3", "--batch-size", "2"], "one batch"),
        (["--record-trajectory", "-1"], "--record-trajectory K must be >= 0"),
        (["--steps", "0"], "--steps must be >= 1"),
        (["--guidance", "nan"], "--guidance must be a finite number"),
        (["--denormalize"], "de-normalise"),  # per-shape (bbox) cache: needs model ids
        (["--n", "0"], "--n and --batch-size must be >= 1"),
        (["--points", "0"], "--points must be >= 1"),
    ],
)
def test_points_argument_errors_before_sampling(points_ckpt, tmp_path, no_sampling, capsys, extra, message):
    assert run_sample(points_ckpt, tmp_path / "x.npz", *extra) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x.npz").exists()


def test_out_must_be_npz(points_ckpt, tmp_path, no_sampling, capsys):
    assert run_sample(points_ckpt, tmp_path / "x.npy") == 2
    assert "--out must be an .npz file" in capsys.readouterr().err


def test_denormalize_without_cache_before_sampling(points_ckpt, tmp_path, no_sampling, capsys):
    ckpt = _ckpt_without_cache_dir(points_ckpt, tmp_path)
    assert run_sample(ckpt, tmp_path / "x.npz", "--denormalize") == 2
    assert "--denormalize needs data.cache_dir" in capsys.readouterr().err


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--ply-dir", "plys"], "--ply-dir applies to point clouds only"),
        (["--denormalize"], "point clouds only"),
        (["--points", "64"], "--points applies to point clouds only"),
    ],
)
def test_voxel_argument_errors_before_sampling(voxels_ckpt, tmp_path, no_sampling, capsys, extra, message):
    assert run_sample(voxels_ckpt, tmp_path / "x.npz", *extra) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x.npz").exists() and not (tmp_path / "plys").exists()


def test_voxels_sample(voxels_ckpt, tmp_path):
    assert run_sample(voxels_ckpt, tmp_path / "v.npz", "--n", "2") == 0
    v = load_samples(tmp_path / "v.npz")
    assert v.voxels.shape == (2, 1, 8, 8, 8) and set(np.unique(v.voxels)) <= {0.0, 1.0}


def test_adaptive_nfe_over_batches_is_the_mean_per_shape(points_ckpt, tmp_path, capsys):
    """Before: the last batch's NFE was reported as the run's. Reference: each seed sampled alone (with
    batches of one, a batch's NFE is its seed's)."""
    ada = ["--sampler", "adaptive", "--set", "sampler.rtol=1.0e-2", "--set", "sampler.atol=1.0e-2"]
    alone = []
    for seed in range(6):
        assert run_sample(points_ckpt, tmp_path / f"{seed}.npz", "--n", "1", "--seed", str(seed), *ada) == 0
        alone.append(load_samples(tmp_path / f"{seed}.npz").meta["nfe"])
    pairs = [s for s in range(5) if alone[s] != alone[s + 1]]
    assert pairs, f"the adaptive solver took the same steps for every seed: {alone}"
    s = pairs[0]
    assert (
        run_sample(points_ckpt, tmp_path / "two.npz", "--n", "2", "--seed", str(s), "--batch-size", "1", *ada)
        == 0
    )
    meta = load_samples(tmp_path / "two.npz").meta
    assert meta["nfe_per_batch"] == alone[s : s + 2] and meta["batch_sizes"] == [1, 1]
    assert meta["nfe"] == pytest.approx((alone[s] + alone[s + 1]) / 2) and meta["nfe_total"] == sum(
        alone[s : s + 2]
    )
    assert "per batch" in capsys.readouterr().out


def test_adaptive_trajectory_in_one_batch(points_ckpt, tmp_path):
    ada = ["--sampler", "adaptive", "--set", "sampler.rtol=1.0e-2", "--set", "sampler.atol=1.0e-2"]
    assert run_sample(points_ckpt, tmp_path / "t.npz", "--n", "3", "--record-trajectory", "1", *ada) == 0
    s = load_samples(tmp_path / "t.npz")
    assert s.trajectory.shape[1:] == (3, 32, 3) and s.traj_sigmas[-1] == 0
    np.testing.assert_array_equal(s.trajectory[-1], s.points)


def test_recorder_refuses_to_align_adaptive_batches():
    """The crash reproduced at the library level: per-batch step counts cannot be stacked into one
    trajectory; the recorder says why (before: numpy's 'all input arrays must have the same shape')."""
    torch.manual_seed(0)
    den = EDMPrecond(TinyBackbone(), 0.5).eval()
    rec = TrajectoryRecorder(3, every=1)
    res = generate(
        den, get_process("edm"), (8, 3), [0, 1, 2], sampler="adaptive", batch_size=2, callback=rec, rtol=1e-4
    )
    with pytest.raises(
        ValueError, match="cannot be aligned: record a trajectory with all shapes in one batch"
    ):
        rec.arrays()
    assert len(set(res.nfe_per_batch)) == 2  # the batches took different numbers of steps


def test_render_trajectory_message_names_the_sample_flag(tmp_path, capsys):
    path = save_samples(tmp_path / "s.npz", SampleFile(points=np.zeros((1, 4, 3), dtype=np.float32)))
    assert main(["render", str(path), "--out", str(tmp_path / "t.gif"), "--mode", "trajectory"]) == 2
    assert "sample with --record-trajectory K" in capsys.readouterr().err


def test_points_option_sets_the_generated_point_count(points_ckpt, tmp_path):
    """--points N makes N-point shapes from a model trained on another count, exactly what generate() makes
    for an (N, 3) shape with the same seeds, and records the trained count."""
    from gen3d.models import load_denoiser

    assert run_sample(points_ckpt, tmp_path / "p.npz", "--n", "2", "--points", "37") == 0
    s = load_samples(tmp_path / "p.npz")
    trained = s.meta["points_trained"]
    assert s.points.shape == (2, 37, 3) and trained != 37 and s.meta["points"] == 37
    denoiser, config, process = load_denoiser(points_ckpt)
    assert trained == config["data"]["n_points"] == s.meta["config"]["data"]["n_points"]  # config as trained
    cond = torch.full((2,), config["experiment"]["class_names"].index("chair"), dtype=torch.long)
    group = config["sampler"]
    ref = generate(denoiser, process, (37, 3), [0, 1], sampler=group["name"], steps=2, cond=cond,
                   null_label=len(config["experiment"]["class_names"]), schedule=group["schedule"],
                   rho=group["rho"], progress=False)  # fmt: skip
    np.testing.assert_allclose(s.points, ref.x.numpy(), rtol=0, atol=1e-6)


def test_explicit_sigmas_must_start_at_the_prior(points_ckpt):
    """The prior is drawn at the process's sigma_max: a grid that starts below it is refused, not sampled."""
    from gen3d.models import load_denoiser

    denoiser, config, process = load_denoiser(points_ckpt)
    with pytest.raises(ValueError, match="must start at the process's sigma_max"):
        generate(denoiser, process, (8, 3), [0], sampler="heun", steps=1, sigmas=[1.0, 0.0], cond=[0],
                 progress=False)  # fmt: skip
    top = float(process.sigma_max)
    out = generate(denoiser, process, (8, 3), [0], sampler="euler", steps=1, sigmas=[top, 0.0], cond=[0],
                   progress=False)  # fmt: skip
    assert out.x.shape == (1, 8, 3)


def test_sampler_sigma_max_and_min_through_the_cli(points_ckpt, tmp_path):
    """--set sampler.sigma_max=S starts the grid at S with the prior drawn there (std S); sampler.sigma_min
    ends it before the final denoise; both recorded in meta."""
    out = tmp_path / "late.npz"
    extra = ["--n", "2", "--points", "512", "--set", "sampler.sigma_max=3", "--record-trajectory", "1"]
    assert run_sample(points_ckpt, out, *extra, "--set", "sampler.sigma_min=0.05") == 0
    s = load_samples(out)
    assert s.meta["sigma_max"] == 3.0 and s.meta["sigma_min"] == 0.05
    assert s.traj_sigmas[0] == pytest.approx(3.0)
    assert s.traj_sigmas[-2] == pytest.approx(0.05) and s.traj_sigmas[-1] == 0  # early stop, then denoise
    assert float(np.std(s.trajectory[0])) == pytest.approx(3.0, rel=0.05)  # the prior, 3072 values
    assert run_sample(points_ckpt, tmp_path / "full.npz", "--n", "2", "--points", "512") == 0
    assert not np.allclose(load_samples(tmp_path / "full.npz").points, s.points)


@pytest.mark.parametrize(
    "sets, message",
    [
        (["sampler.sigma_max=-1"], "sampler.sigma_max must be a positive finite number"),
        (["sampler.sigma_max=3", "sampler.sigmas=[80,10,0]"], "both set"),
        (["sampler.sigma_min=0.5", "sampler.sigmas=[80,10,0]"], "both set"),
        (["sampler.sigma_max=3", "sampler.sigma_min=3"], "must be below sampler.sigma_max"),
        (["sampler.sigma_min=nan"], "sampler.sigma_min must be a positive finite number"),
    ],
)
def test_sampler_sigma_max_refused(points_ckpt, tmp_path, no_sampling, capsys, sets, message):
    extra = [a for s in sets for a in ("--set", s)]
    assert run_sample(points_ckpt, tmp_path / "x.npz", *extra) == 2
    assert message in capsys.readouterr().err
