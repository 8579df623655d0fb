"""Config system: shipped configs resolve, unknown keys are errors naming the allowed keys, overrides,
base."""

import pytest

from gen3d.config import DEFAULTS, apply_overrides, config_path, list_configs, load_config, resolve_config
from gen3d.errors import UserInputError

SHIPPED = [
    "demo_points",
    "demo_voxels",
    "pc15k_airplane_edm",
    "pc15k_chair_edm",
    "pc15k_car_edm",
    "pc15k_chair_pfgmpp",
    "pc15k_airplane_pfgmpp",
    "demo_points_yukawa",
    "demo_voxels_yukawa",
    "pc15k_chair_yukawa",
    "modelnet_vox32",
    "modelnet_cpu",
]


def test_shipped_configs_are_listed_and_resolve():
    assert sorted(SHIPPED) == sorted(list_configs())
    for name in SHIPPED:
        cfg = load_config(name)
        assert set(cfg) == set(DEFAULTS)
        assert isinstance(cfg["optim"]["lr"], float)  # YAML 1.1 reads "2e-4" as a string; configs use 2.0e-4


def test_paper_recipes():
    for cat in ("airplane", "chair", "car"):
        c = load_config(f"pc15k_{cat}_edm")
        assert c["data"]["n_points"] == 2048 and c["data"]["batch_size"] >= 32 and c["optim"]["lr"] == 2e-4
        assert c["data"]["categories"] == [cat] and c["net"]["size"] == "paper"
    p = load_config("pc15k_chair_pfgmpp")  # base: inheritance keeps the EDM recipe, swaps the process
    assert p["process"]["name"] == "pfgmpp" and p["experiment"]["name"] == "pc15k_chair_pfgmpp"
    assert p["data"] == load_config("pc15k_chair_edm")["data"]
    y = load_config("pc15k_chair_yukawa")
    assert y["process"] == {"name": "yukawa", "D_eff": 2048, "sigma_data": 0.5}
    assert y["data"] == p["data"] and y["net"] == p["net"]


def test_unknown_key_names_key_and_allowed():
    with pytest.raises(UserInputError, match=r"trainer\.max_step\b.*allowed keys in 'trainer'.*max_steps"):
        load_config("demo_points", ["trainer.max_step=5"])
    with pytest.raises(UserInputError, match=r"unknown config group.*'optimizer'"):
        resolve_config({"optimizer": {}})
    with pytest.raises(UserInputError, match="n_points"):  # voxel data has no n_points
        load_config("demo_voxels", ["data.n_points=5"])


def test_overrides_parse_yaml_values():
    cfg = load_config(
        "demo_points", ["trainer.max_steps=7", "data.categories=[chair, car]", "optim.lr=0.5", "net.width=3"]
    )
    assert cfg["trainer"]["max_steps"] == 7 and cfg["data"]["categories"] == ["chair", "car"]
    assert cfg["optim"]["lr"] == 0.5 and cfg["net"]["width"] == 3  # net kwargs are free (factory checks them)
    for bad in ("trainer.max_steps", "max_steps=3", "trainer..x=1"):
        with pytest.raises(UserInputError):
            apply_overrides({}, [bad])
    with pytest.raises(UserInputError, match="max_steps must be an integer"):
        load_config("demo_points", ["trainer.max_steps=-1"])
    with pytest.raises(UserInputError, match="p_uncond"):
        load_config("demo_points", ["optim.p_uncond=1.5"])


def test_base_inheritance_and_paths(tmp_path):
    (tmp_path / "a.yaml").write_text("experiment: {name: a}\ntrainer: {max_steps: 3}\n")
    (tmp_path / "b.yaml").write_text("base: a.yaml\ntrainer: {log_every_n_steps: 1}\n")
    cfg = load_config(tmp_path / "b.yaml")
    assert cfg["experiment"]["name"] == "a" and cfg["trainer"]["max_steps"] == 3
    assert cfg["trainer"]["log_every_n_steps"] == 1
    (tmp_path / "c.yaml").write_text("base: d.yaml\n")
    (tmp_path / "d.yaml").write_text("base: c.yaml\n")
    with pytest.raises(UserInputError, match="cycle"):
        load_config(tmp_path / "c.yaml")
    (tmp_path / "bad.yaml").write_text("trainer: [1, 2\n")
    with pytest.raises(UserInputError, match="not valid YAML"):
        load_config(tmp_path / "bad.yaml")
    with pytest.raises(UserInputError, match="shipped: .*demo_points"):
        config_path("no_such_config")
