"""``gen3d distill``: a one-step student of an exact mixture denoiser, the CLI's trajectory and schedule
methods, resume, the budget, and the student used by ``gen3d sample``."""

from __future__ import annotations

import json

import lightning as L
import numpy as np
import pytest
import torch
from torch import nn

from gen3d.analytic import DiracMixtureDenoiser
from gen3d.cli import main
from gen3d.models import CHECKPOINT_KEY, load_denoiser, read_checkpoint
from gen3d.precond import Precond
from gen3d.processes import get_process
from gen3d.training.distill import DistillModule, TrajectoryDataModule
from gen3d.trajectories import euler_targets, student_sigmas, teacher_trajectories
from tests.core.conftest import write_checkpoint


class _FlatMLP(nn.Module):
    """A backbone for fixed-size toy clouds: an MLP on the flattened (N, 3) state and c_noise."""

    def __init__(self, n: int):
        super().__init__()
        self.f = nn.Sequential(
            nn.Linear(3 * n + 1, 128), nn.SiLU(), nn.Linear(128, 128), nn.SiLU(), nn.Linear(128, 3 * n)
        )

    def forward(self, x, c_noise, cond=None):
        return self.f(torch.cat([x.flatten(1), c_noise[:, None]], 1)).reshape(x.shape)


def _pairs(teacher, process, grid, seeds):
    tr = teacher_trajectories(teacher, process, (8, 3), seeds, grid, steps=32, batch_size=1024)
    return tr.states, euler_targets(tr.states, tr.final, grid)


@pytest.mark.slow
def test_one_step_student_reproduces_the_mixture_weights():
    torch.manual_seed(0)
    templates = torch.randn(2, 8, 3, generator=torch.Generator().manual_seed(0)) * 0.5
    weights = torch.tensor([0.7, 0.3])
    teacher = DiracMixtureDenoiser(templates, weights)  # exact denoiser: the teacher's ODE is the true flow
    process = get_process("edm")
    grid = student_sigmas(1, float(process.sigma_max))
    student = Precond(_FlatMLP(8), process)
    optim = {"lr": 3e-3, "ema_decay": 0.9, "warmup_steps": 0}
    module = DistillModule(student, process, optim, {}, grid, {}, seed=0)
    dm = TrajectoryDataModule(
        _pairs(teacher, process, grid, range(2048)),
        _pairs(teacher, process, grid, range(2048, 2112)),
        batch_size=128,
    )
    L.Trainer(
        max_steps=400,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
        accelerator="cpu",
    ).fit(module, datamodule=dm)
    x_T = torch.cat(
        [process.prior((1, 8, 3), generator=torch.Generator().manual_seed(10_000 + i)) for i in range(1000)]
    )
    sigma = torch.full((1000,), float(process.sigma_max))
    sep = float((templates[0] - templates[1]).pow(2).mean().sqrt())

    def scores(den):
        with torch.no_grad():
            x = den(x_T, sigma, None)  # one Euler step to sigma = 0 is the denoiser output
        label = teacher.classify(x)
        freq = torch.bincount(label, minlength=2).double() / len(label)
        rms = (x - templates[label]).flatten(1).pow(2).mean(1).sqrt().mean() / sep
        return freq, float(rms)

    freq, rms = scores(module.ema_denoiser())
    # 1000 draws: the binomial standard error of 0.7 is 0.015; tolerance 0.05 on the weights, and samples
    # within 15% of the template separation of their template (RMS per coordinate)
    assert torch.allclose(freq, weights.double(), atol=0.05), freq
    assert rms < 0.15, rms
    assert torch.allclose(freq.sum(), torch.tensor(1.0, dtype=torch.float64))
    # without distillation one step lands on the posterior mean at sigma_max: a blend far from both templates
    _, rms_teacher = scores(teacher)
    assert rms_teacher > 0.3


@pytest.fixture(scope="module")
def teacher_ckpt(tmp_path_factory):
    return write_checkpoint(tmp_path_factory.mktemp("distill_teacher") / "edm.ckpt", "edm")[0]


COMMON = [
    "--pairs",
    "8",
    "--val-pairs",
    "4",
    "--batch-size",
    "4",
    "--teacher-steps",
    "3",
    "--no-progress",
    "--threads",
    "1",
]


def _sample(ckpt, out, *extra) -> int:
    """``gen3d sample --ckpt ckpt --out out --no-progress --device cpu *extra``."""
    return main(
        ["sample", "--ckpt", str(ckpt), "--out", str(out), "--no-progress", "--device", "cpu", *extra]
    )


def _distill(teacher, out, *extra):
    return main(["distill", "--ckpt", str(teacher), "--out", str(out), *COMMON, *extra])


@pytest.mark.xdist_group("distill_cli")
def test_distill_writes_a_student_that_gen3d_sample_uses(teacher_ckpt, tmp_path, capsys):
    out = tmp_path / "student"
    code = _distill(
        teacher_ckpt,
        out,
        "--steps",
        "2",
        "--max-steps",
        "6",
        "--lr",
        "5e-4",
        "--ema-decay",
        "0.9",
        "--sigma-end",
        "0.05",
        "--seed",
        "77",
    )
    assert code == 0, capsys.readouterr().err
    ckpt_path = out / "checkpoints" / "last.ckpt"
    ckpt = read_checkpoint(ckpt_path)
    payload = ckpt[CHECKPOINT_KEY]
    grid = student_sigmas(2, 80.0, 0.05)
    assert payload["config"]["sampler"]["name"] == "euler" and payload["config"]["sampler"]["steps"] == 2
    assert payload["config"]["sampler"]["sigmas"] == pytest.approx(grid)
    assert payload["config"]["optim"]["lr"] == 5e-4 and payload["ema"]["decay"] == 0.9
    assert payload["distill"]["teacher_steps"] == 3 and payload["distill"]["seed"] == 77
    record = json.loads((out / "distill.json").read_text())
    assert record["training_steps"] == 6 and record["trajectories_reused"] is False
    with np.load(out / "trajectories.npz") as z:
        assert z["states_train"].shape == (8, 2, 16, 3) and z["states_val"].shape == (4, 2, 16, 3)
        # the student's level 2.0 inserted into the teacher's 3-step Karras grid (80, 2.52, 0.002, 0):
        # 4 steps, Heun 2 * 4 - 1 evaluations
        assert int(z["teacher_nfe"]) == 7
    # the student's weights moved away from the teacher's
    teacher = read_checkpoint(teacher_ckpt)["state_dict"]
    assert any(not torch.equal(v, teacher[k]) for k, v in ckpt["state_dict"].items() if v.is_floating_point())

    # gen3d sample: Euler on the stored grid, NFE = 2, shapes depend on their seed only
    files = []
    for batch in ("1", "3"):
        f = tmp_path / f"s{batch}.npz"
        assert _sample(ckpt_path, f, "--n", "3", "--seed", "5", "--batch-size", batch) == 0
        files.append(np.load(f, allow_pickle=False))
    meta = json.loads(str(files[0]["meta"]))
    assert meta["nfe"] == 2 and meta["sampler"] == "euler" and meta["sigmas"] == pytest.approx(grid)
    assert np.allclose(files[0]["points"], files[1]["points"], atol=1e-5)  # batching changes rounding only
    # the same as one Euler step per level of the grid, written out by hand
    den, _, process = load_denoiser(ckpt_path)
    from gen3d.random import generators_for_seeds

    g = generators_for_seeds([6])[0]
    x = process.prior((1, 16, 3), generator=g)
    with torch.no_grad():
        for a, b in zip(grid[:-1], grid[1:]):
            x = x + (b - a) * (x - den(x, torch.tensor([a]), None)) / a
    assert np.allclose(files[0]["points"][1], x[0].numpy(), atol=1e-5)


@pytest.mark.xdist_group("distill_cli")
def test_distill_resumes_and_reuses_the_trajectories(teacher_ckpt, tmp_path, capsys):
    out = tmp_path / "student"
    assert _distill(teacher_ckpt, out, "--steps", "1", "--max-steps", "3") == 0
    stamp = (out / "trajectories.npz").stat().st_mtime_ns
    first = json.loads((out / "distill.json").read_text())
    assert _distill(teacher_ckpt, out, "--steps", "1", "--max-steps", "5", "--resume", "auto") == 0
    record = json.loads((out / "distill.json").read_text())
    assert record["trajectories_reused"] is True and record["training_steps"] == 5
    # the record's cost covers both runs: the first run's trajectories and training are carried over
    assert record["seconds"]["trajectories"] >= first["seconds"]["trajectories"] > 0
    assert record["seconds"]["training"] > first["seconds"]["training"] > 0
    assert (out / "trajectories.npz").stat().st_mtime_ns == stamp
    assert "resuming from" in capsys.readouterr().out
    # another student grid cannot continue this run
    assert _distill(teacher_ckpt, out, "--steps", "2", "--max-steps", "6", "--resume", "auto") == 2
    assert "was distilled for the grid" in capsys.readouterr().err


@pytest.mark.xdist_group("distill_cli")
def test_distill_budget_stops_training(teacher_ckpt, tmp_path):
    out = tmp_path / "student"
    assert _distill(teacher_ckpt, out, "--steps", "1", "--max-steps", "1000000", "--budget", "4s") == 0
    record = json.loads((out / "distill.json").read_text())
    assert 0 < record["training_steps"] < 1000000 and record["budget_s"] == 4.0
    assert (out / "checkpoints" / "last.ckpt").is_file()


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--steps", "0"], "--steps must be >= 1"),
        (["--steps", "1", "--budget", "soon"], "--budget must be a positive duration"),
        (["--steps", "1", "--budget=-3m"], "--budget must be a positive duration"),
        (["--steps", "1", "--lr", "0"], "--lr must be > 0"),
        (["--steps", "1", "--batch-size", "9"], "exceeds --pairs"),
        (["--steps", "50", "--method", "schedule"], "exceeds --candidates"),
        (["--steps", "2", "--method", "schedule", "--solver", "dpmpp_2m"], "can be fitted for euler, heun"),
    ],
)
def test_distill_refuses_bad_arguments(teacher_ckpt, tmp_path, capsys, extra, message):
    assert _distill(teacher_ckpt, tmp_path / "s", *extra) == 2
    assert message in capsys.readouterr().err


@pytest.mark.xdist_group("distill_cli")
def test_distill_schedule_writes_the_teacher_with_a_fitted_grid(teacher_ckpt, tmp_path, capsys):
    out = tmp_path / "sched"
    code = main(
        [
            "distill",
            "--ckpt",
            str(teacher_ckpt),
            "--out",
            str(out),
            "--method",
            "schedule",
            "--steps",
            "3",
            "--shapes",
            "2",
            "--candidates",
            "6",
            "--no-progress",
            "--threads",
            "1",
        ]
    )
    assert code == 0, capsys.readouterr().err
    ckpt = read_checkpoint(out / "checkpoints" / "last.ckpt")
    group = ckpt[CHECKPOINT_KEY]["config"]["sampler"]
    assert group["name"] == "heun" and group["steps"] == 3 and len(group["sigmas"]) == 4
    assert group["sigmas"][0] == 80.0 and group["sigmas"][-1] == 0.0
    record = ckpt[CHECKPOINT_KEY]["distill"]
    assert record["cost"] <= record["karras_cost"] and record["shapes"] == 2
    teacher = read_checkpoint(teacher_ckpt)
    assert all(torch.equal(v, teacher["state_dict"][k]) for k, v in ckpt["state_dict"].items())
    f = tmp_path / "s.npz"
    assert _sample(out / "checkpoints" / "last.ckpt", f, "--n", "2") == 0
    meta = json.loads(str(np.load(f)["meta"]))
    assert meta["nfe"] == 5 and meta["sigmas"] == pytest.approx(group["sigmas"])


def test_sample_refuses_steps_that_disagree_with_an_explicit_grid(teacher_ckpt, tmp_path, capsys):
    grid = "[80.0, 1.0, 0.0]"
    args = [
        "sample",
        "--ckpt",
        str(teacher_ckpt),
        "--n",
        "1",
        "--out",
        str(tmp_path / "s.npz"),
        "--no-progress",
        "--device",
        "cpu",
        "--set",
        f"sampler.sigmas={grid}",
    ]
    assert main([*args, "--steps", "2"]) == 0
    assert json.loads(str(np.load(tmp_path / "s.npz")["meta"]))["sigmas"] == [80.0, 1.0, 0.0]
    assert main([*args, "--steps", "5"]) == 2
    assert "sampler.sigmas holds 2 step(s) but sampler.steps is 5" in capsys.readouterr().err
    assert main([*args[:-1], "sampler.sigmas=[80.0, 3.0, 1.0]", "--steps", "2"]) == 2
    assert "must end with 0" in capsys.readouterr().err
    assert main([*args[:-1], "sampler.sigmas=[80.0, 0.5, 1.0, 0.0]", "--steps", "3"]) == 2
    assert "strictly decreasing" in capsys.readouterr().err


@pytest.mark.xdist_group("distill_cli")
def test_distill_a_class_conditional_teacher(tmp_path, capsys):
    from gen3d.config import load_config
    from gen3d.training.components import build_module

    torch.manual_seed(0)
    config = load_config(
        "demo_points",
        ["experiment.class_cond=true", "experiment.class_names=[chair, table]", "data.n_points=16"],
    )
    module, config = build_module(config)
    ckpt = {"state_dict": module.state_dict(), "global_step": 0}
    module.on_save_checkpoint(ckpt)
    teacher = tmp_path / "cond.ckpt"
    torch.save(ckpt, teacher)
    out = tmp_path / "student"
    assert _distill(teacher, out, "--steps", "1", "--max-steps", "3", "--pairs", "9") == 0, (
        capsys.readouterr()
    )
    with np.load(out / "trajectories.npz") as z:  # chair, table and the null label (unconditional) in turn
        assert z["labels_train"].tolist() == [0, 1, 2] * 3 and z["labels_val"].tolist() == [0, 1, 2, 0]
    student = out / "checkpoints" / "last.ckpt"
    shapes = {}
    for cls in ("chair", "table", None):
        f = tmp_path / f"{cls}.npz"
        extra = ["--class", cls] if cls else []
        assert _sample(student, f, "--n", "2", *extra) == 0
        data = np.load(f)
        assert json.loads(str(data["meta"]))["nfe"] == 1
        shapes[cls] = data["points"]
    assert not np.allclose(shapes["chair"], shapes["table"])  # the label reaches the student
    assert not np.allclose(shapes["chair"], shapes[None])


def test_distill_schedule_drops_a_teachers_late_start(teacher_ckpt, tmp_path, capsys):
    """A teacher sampled with sampler.sigma_max: the fitted grid has its own levels, so the student's sampler
    group drops sigma_max / sigma_min, passes the config check and samples."""
    state = torch.load(teacher_ckpt, map_location="cpu", weights_only=True)
    state[CHECKPOINT_KEY]["config"]["sampler"].update({"sigma_max": 3.0, "sigma_min": 0.01})
    late = tmp_path / "late.ckpt"
    torch.save(state, late)
    out = tmp_path / "sched"
    argv = ["distill", "--ckpt", str(late), "--out", str(out), "--method", "schedule", "--steps", "2"]
    argv += ["--shapes", "2", "--candidates", "6", "--no-progress", "--threads", "1"]
    assert main(argv) == 0, capsys.readouterr().err
    group = read_checkpoint(out / "checkpoints" / "last.ckpt")[CHECKPOINT_KEY]["config"]["sampler"]
    assert group.get("sigma_max") is None and group.get("sigma_min") is None and group["sigmas"][0] == 80.0
    assert _sample(out / "checkpoints" / "last.ckpt", tmp_path / "s.npz", "--n", "2") == 0
