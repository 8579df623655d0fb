"""Settings files of gen3d complete-train --config: the shipped ones load, bad keys and types are refused in
one line naming the key, and the file's values reach the run (flags over them) through the CLI."""

from __future__ import annotations

import pytest

from gen3d.cli import main
from gen3d.completion.train_config import DEFAULTS, list_train_configs, load_train_config
from gen3d.errors import UserInputError

SHIPPED = ["demo", "pc15k_chair"]


def test_shipped_completion_configs_load_with_checked_values():
    assert list_train_configs() == SHIPPED
    for name in SHIPPED:
        cfg = load_train_config(name)
        assert set(cfg) == set(DEFAULTS)
        assert isinstance(cfg["lr"], float) and isinstance(cfg["steps"], int) and cfg["observed"] >= 1
    chair = load_train_config("pc15k_chair")
    assert chair["categories"] == ["chair"] and chair["observed"] == 200 and chair["batch_size"] == 32
    assert load_train_config("demo")["categories"] is None


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("step: 3\n", r"unknown key 'step'; allowed keys: split, categories, steps"),
        ("steps: 1.5\n", r"'steps' must be an integer >= 1, got 1.5"),
        ("steps: true\n", r"'steps' must be an integer >= 1"),
        ("seed: -1\n", r"'seed' must be an integer >= 0"),
        ("lr: 1e-4\n", r"'lr' must be a finite number > 0, got '1e-4' \(YAML reads 1e-4 as text"),
        ("lr: .inf\n", r"'lr' must be a finite number > 0, got inf"),
        ("categories: chair\n", r"'categories' must be a non-empty list"),
        ("- steps\n", r"a completion config is a mapping"),
        ("steps: [\n", r"not valid YAML"),
    ],
)
def test_bad_files_are_refused_naming_the_key(tmp_path, text, match):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(UserInputError, match=match):
        load_train_config(path)


def test_an_unknown_name_lists_the_shipped_ones():
    with pytest.raises(
        UserInputError, match=r"no shipped one of that name; shipped: \['demo', 'pc15k_chair'\]"
    ):
        load_train_config("no_such_config")


def test_config_values_reach_the_run_and_flags_override_them(tiny_ckpt, mesh_cache, tmp_path, capsys):
    from gen3d.models import read_checkpoint

    cfg = tmp_path / "mine.yaml"
    cfg.write_text("split: train\ncategories: [sphere]\nsteps: 2\nbatch_size: 3\nlr: 2.0e-3\nobserved: 5\n")
    out = tmp_path / "a.ckpt"
    base = ["complete-train", str(mesh_cache), "--ckpt", str(tiny_ckpt), "--device", "cpu"]
    assert main([*base, "--out", str(out), "--config", str(cfg)]) == 0
    assert "2 steps on 3 (view, shape) pairs of 1 shapes" in capsys.readouterr().out
    record = read_checkpoint(out)["gen3d"]["completion"]
    assert (record["steps"], record["batch_size"], record["lr"], record["n_observed"]) == (2, 3, 2e-3, 5)
    assert record["categories"] == ["sphere"] and record["config"] == str(cfg) and record["grad_clip"] == 1.0
    # flags over the file; the rest of the file stays
    assert main([*base, "--out", str(out), "--config", str(cfg), "--steps", "1", "--categories", "box"]) == 0
    record = read_checkpoint(out)["gen3d"]["completion"]
    assert (record["steps"], record["batch_size"], record["categories"]) == (1, 3, ["box"])
    # a shipped name, with the 16-point test model's own observed count and a short run
    assert main([*base, "--out", str(out), "--config", "demo", "--steps", "1", "--observed", "6"]) == 0
    record = read_checkpoint(out)["gen3d"]["completion"]
    assert (record["config"], record["batch_size"], record["lr"]) == ("demo", 8, 1e-4)
    capsys.readouterr()
    cfg.write_text("steps: 2\nbatchsize: 3\n")
    assert main([*base, "--out", str(out), "--config", str(cfg)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "unknown key 'batchsize'" in err
