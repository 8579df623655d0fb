"""Resuming with a changed config: the differences are listed; only safe keys or named keys may differ."""

import pytest

from gen3d.config import DEFAULTS, load_config
from gen3d.errors import UserInputError
from gen3d.training.config_diff import SAFE_ON_RESUME, check_resume_config, config_changes, format_change


def test_changes_are_listed_leaf_by_leaf():
    old = {"net": {"name": "pvcnn", "size": "tiny"}, "optim": {"betas": [0.9, 0.999], "lr": 1e-3}}
    new = {
        "net": {"name": "pvcnn", "size": "small", "extra": 1},
        "optim": {"betas": (0.9, 0.999), "lr": 1e-3},
    }
    changes = config_changes(old, new)
    assert [format_change(*c) for c in changes] == ["net.extra: <absent> -> 1", "net.size: tiny -> small"]
    assert config_changes(old, old) == []
    assert config_changes({"a": {"b": True}}, {"a": {"b": 1}}) != []  # a bool is not the number 1


def test_safe_keys_may_change_on_resume():
    old = load_config("demo_points")
    new = load_config(
        "demo_points",
        [
            "trainer.max_steps=10",
            "trainer.log_every_n_steps=1",
            "trainer.checkpoint_every_n_steps=3",
            "trainer.sample_every_n_steps=0",
            "trainer.enable_progress_bar=false",
            "data.num_workers=2",
            "experiment.threads=1",
            "experiment.run_dir=/elsewhere",
            "sampler.steps=5",
        ],
    )
    assert len(config_changes(old, new)) == 9
    check_resume_config(old, new)  # no error


def test_unsafe_changes_are_refused_with_the_list():
    old = load_config("demo_points")
    new = load_config("demo_points", ["net.size=small", "process.name=ve", "trainer.max_steps=7"])
    with pytest.raises(UserInputError) as e:
        check_resume_config(old, new, ckpt="run/last.ckpt")
    msg = str(e.value)
    assert "run/last.ckpt" in msg
    assert "net.size: tiny -> small" in msg and "process.name: edm -> ve" in msg
    assert "max_steps" not in msg  # safe: not listed
    assert "--allow-config-change net.size" in msg and "--allow-config-change process.name" in msg


def test_named_keys_and_groups_may_change():
    old = load_config("demo_points")
    new = load_config("demo_points", ["optim.lr=0.01", "process.name=ve"])
    check_resume_config(old, new, allow=["optim.lr", "process"])
    with pytest.raises(UserInputError, match=r"process\.name: edm -> ve") as e:
        check_resume_config(old, new, allow=["optim.lr"])
    assert "optim.lr" not in str(e.value)
    with pytest.raises(UserInputError, match="optim.lr"):
        check_resume_config(old, new, allow=["optim.l", "process"])  # a prefix of a key name is not a key


def test_every_safe_key_is_a_config_key():
    keys = {f"{g}.{k}" for g, d in DEFAULTS.items() for k in d} | set(DEFAULTS)
    assert SAFE_ON_RESUME <= keys, sorted(SAFE_ON_RESUME - keys)
