"""A training budget through the CLI: `trainer.max_time` stops `gen3d fit` on the clock; `optim.lr_decay`
takes the learning rate to `lr_final * lr` at the end of the run; bad values are refused when the config
loads; YAML numbers written as `5e-4` are floats."""

import math

import pytest
import torch

from gen3d.cli import main
from gen3d.config import load_config


def _fit(cache, run_dir, *extra):
    sets = [
        f"data.cache_dir={cache}",
        "data.n_points=32",
        "data.batch_size=4",
        f"experiment.run_dir={run_dir}",
        "experiment.name=b",
        "trainer.checkpoint_every_n_steps=1000",
        "trainer.sample_every_n_steps=0",
        "trainer.enable_progress_bar=false",
        "trainer.accelerator=cpu",
        "net.size=tiny",
        *extra,
    ]
    return ["fit", "--config", "demo_points", "--threads", "1"] + [a for s in sets for a in ("--set", s)]


def _last(run_dir) -> dict:
    return torch.load(run_dir / "b" / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)


def _logged_lrs(run_dir) -> dict[int, float]:
    """``train/lr`` per optimiser step from the run's metrics.csv."""
    import csv

    path = next((run_dir / "b").rglob("metrics.csv"))
    rows = [r for r in csv.DictReader(path.open()) if r.get("train/lr")]
    return {int(r["step"]): float(r["train/lr"]) for r in rows}


# The factor of optim.lr at step k for 8 steps, warm-up 2, lr_final 0.25: (k+1)/2 during the warm-up, then
# 0.25 + 0.75 * shape(k / 8) with cosine shape(p) = (1 + cos(pi p)) / 2 and linear shape(p) = 1 - p.
EXPECTED = {
    "cosine": {0: 0.5, 1: 1.0, 2: 0.25 + 0.75 * (1 + math.cos(math.pi / 4)) / 2, 4: 0.625},
    "linear": {0: 0.5, 1: 1.0, 2: 0.25 + 0.75 * 0.75, 4: 0.625, 6: 0.25 + 0.75 * 0.25},
    "none": {0: 0.5, 1: 1.0, 2: 1.0, 7: 1.0},
}


@pytest.mark.parametrize("kind", ["cosine", "linear", "none"])
def test_lr_decay_follows_the_schedule_through_the_cli(tiny_cache, tmp_path, kind):
    steps, lr, final = 8, 1e-3, 0.25
    extra = [f"optim.lr={lr}", f"optim.lr_decay={kind}", f"optim.lr_final={final}", "optim.warmup_steps=2"]
    extra += [f"trainer.max_steps={steps}", "trainer.log_every_n_steps=1"]
    assert main(_fit(tiny_cache, tmp_path, *extra)) == 0
    lrs = _logged_lrs(tmp_path)
    for step, factor in EXPECTED[kind].items():
        assert lrs[step] == pytest.approx(lr * factor, rel=1e-6), (kind, step)
    ck = _last(tmp_path)
    assert ck["global_step"] == steps
    got = ck["optimizer_states"][0]["param_groups"][0]["lr"]
    assert got == pytest.approx(lr * (final if kind != "none" else 1.0), rel=1e-9)  # the end of the decay


def test_max_time_stops_training_on_the_clock_and_decays_to_it(tiny_cache, tmp_path):
    extra = ["trainer.max_steps=1000000", "trainer.max_time=3s", "optim.lr_decay=linear"]
    extra += ["optim.lr_final=0.0", "optim.warmup_steps=0"]
    assert main(_fit(tiny_cache, tmp_path, *extra)) == 0
    ck = _last(tmp_path)
    assert 0 < ck["global_step"] < 1000000
    lr = ck["optimizer_states"][0]["param_groups"][0]["lr"]
    # progress is the time spent over the budget, so at the stop the decay is (nearly) over
    assert lr < 0.2 * load_config("demo_points")["optim"]["lr"]


@pytest.mark.parametrize(
    "setting,message",
    [
        ("trainer.max_time=soon", "trainer.max_time must be a positive duration"),
        ("trainer.max_time=-5m", "trainer.max_time must be a positive duration"),
        ("optim.lr_decay=step", "optim.lr_decay must be one of"),
        ("optim.lr_final=1.5", "optim.lr_final"),
    ],
)
def test_bad_budget_settings_are_refused_before_training(tiny_cache, tmp_path, capsys, setting, message):
    assert main(_fit(tiny_cache, tmp_path, "trainer.max_steps=2", setting)) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "b").exists()


def test_exponent_floats_in_overrides_and_files(tmp_path):
    cfg = load_config("demo_points", ["optim.lr=5e-4", "optim.lr_final=1E-2"])
    assert cfg["optim"]["lr"] == 5e-4 and cfg["optim"]["lr_final"] == 0.01
    path = tmp_path / "c.yaml"
    text = "base: demo_points\noptim:\n  lr: 3e-4\n  betas: [0.9, 9.99e-1]\nexperiment:\n  name: 1e5x\n"
    path.write_text(text)
    cfg = load_config(path)
    assert cfg["optim"]["lr"] == 3e-4 and cfg["optim"]["betas"] == [0.9, 0.999]
    assert cfg["experiment"]["name"] == "1e5x"  # not a number: stays a string


def test_values_that_cannot_work_are_refused_at_load():
    from gen3d.errors import UserInputError

    for overrides, message in (
        (["optim.lr=1e999"], "optim.lr must be a positive number"),
        (["experiment.name=1e5"], "experiment.name must be a string"),
    ):
        with pytest.raises(UserInputError, match=message):
            load_config("demo_points", overrides)
    with pytest.raises(UserInputError, match="tsdf_truncation"):
        load_config("demo_voxels", ["data.field=tsdf", "data.tsdf_truncation=.inf"])
    assert load_config("demo_points", ["experiment.name='1e5'"])["experiment"]["name"] == "1e5"


def test_resume_check_reads_old_string_numbers_as_the_same_value():
    from gen3d.training.config_diff import config_changes

    old = load_config("demo_points")
    new = load_config("demo_points", ["optim.weight_decay=1e-4"])
    old["optim"]["weight_decay"] = "1e-4"  # how an older gen3d stored `weight_decay: 1e-4`
    assert not [c for c in config_changes(old, new) if c[0] == "optim.weight_decay"]
    new["optim"]["weight_decay"] = 2e-4
    assert [c for c in config_changes(old, new) if c[0] == "optim.weight_decay"]
