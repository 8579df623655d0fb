"""Registry: names, size presets, option validation and parameter counts."""

import pytest
import torch

from gen3d.nets import BACKBONES, SIZES, get_backbone


def test_registered_names_and_sizes():
    assert set(BACKBONES) == {"pvcnn", "point_transformer", "unet3d", "pvd"}
    for name in BACKBONES:
        assert list(SIZES[name]) == ["tiny", "small", "base", "paper"]


def test_parameter_counts_grow_with_size_and_match_targets(monkeypatch):
    # Random initialisation of ~80M parameters dominates; counting needs none of it.
    for fn in ("kaiming_uniform_", "uniform_", "normal_"):
        monkeypatch.setattr(torch.nn.init, fn, lambda t, *args, **kwargs: t)
    counts = {name: [get_backbone(name, s).num_parameters() for s in SIZES[name]] for name in BACKBONES}
    for name, c in counts.items():
        assert 50_000 <= c[0] <= 300_000, (name, c)  # tiny: CPU demo scale
        assert c == sorted(c) and len(set(c)) == 4, (name, c)
    assert 26_000_000 <= counts["pvcnn"][3] <= 29_000_000  # PVD: 27.6M
    assert 30_000_000 <= counts["point_transformer"][3] <= 35_000_000  # DiT-3D-S: 32.8M


def test_unknown_name_size_and_option_raise():
    with pytest.raises(ValueError, match="unknown backbone 'pointnet'.*pvcnn"):
        get_backbone("pointnet")
    with pytest.raises(ValueError, match="unknown size 'huge'.*tiny"):
        get_backbone("pvcnn", "huge")
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['depth'\]"):
        get_backbone("unet3d", "tiny", depth=3)
    with pytest.raises(ValueError, match="num_classes must be >= 0"):
        get_backbone("pvcnn", "tiny", num_classes=-1)
    with pytest.raises(ValueError, match="divisible by heads"):
        get_backbone("point_transformer", "tiny", heads=5)


def test_size_none_uses_class_defaults():
    net = get_backbone("pvcnn", size=None, blocks=[[8, 4]])
    assert net.config()["size"] is None and net.config()["blocks"] == [[8, 4]]
    assert get_backbone(**net.config()).config() == net.config()


def test_class_defaults_equal_the_tiny_preset():
    for name in BACKBONES:
        default, tiny = get_backbone(name, None).config(), get_backbone(name, "tiny").config()
        assert default.pop("size") is None and tiny.pop("size") == "tiny"
        assert default == tiny
