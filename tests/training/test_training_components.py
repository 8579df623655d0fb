"""Component building: paper-size recipes construct, precision choice, factory errors name the group."""

import pytest

from gen3d.config import load_config
from gen3d.errors import UserInputError
from gen3d.training.components import build_denoiser, build_process, num_classes_of, resolve_precision


def test_paper_recipe_builds_at_full_size():
    cfg = load_config("pc15k_chair_pfgmpp")
    proc = build_process(cfg)
    assert type(proc).__name__ == "PFGMPPProcess"
    den = build_denoiser(cfg, proc)
    n_params = sum(p.numel() for p in den.parameters())
    assert n_params > 10_000_000, n_params  # paper scale (PVD: 27.6M)
    assert num_classes_of(cfg) == 0


def test_precision_auto_is_fp32_on_cpu():
    assert resolve_precision("auto", "cpu") == "32-true"
    assert resolve_precision("bf16-mixed", "cpu") == "bf16-mixed"


def test_factory_errors_name_the_group():
    with pytest.raises(UserInputError, match="config group 'net'.*unknown option"):
        build_denoiser(
            load_config("demo_points", ["net.no_such_option=1"]),
            build_process(load_config("demo_points")),
            num_classes=0,
        )
    with pytest.raises(UserInputError, match="config group 'process'"):
        build_process(load_config("demo_points", ["process.name=nope"]))
    with pytest.raises(UserInputError, match="class_names is empty"):
        num_classes_of(load_config("demo_points"))


def test_trainer_gallery_uses_configured_renderer(tmp_path):
    from gen3d.training.components import build_trainer
    from gen3d.training.gallery import SampleGallery

    for renderer in ("matplotlib", "auto"):
        cfg = load_config(
            "demo_points",
            [
                f"experiment.run_dir={tmp_path}",
                "trainer.sample_every_n_steps=5",
                f"trainer.gallery_renderer={renderer}",
                "trainer.accelerator=cpu",
            ],
        )
        trainer = build_trainer(cfg, enable_progress_bar=False, enable_model_summary=False)
        (gallery,) = [c for c in trainer.callbacks if isinstance(c, SampleGallery)]
        assert gallery.renderer == renderer
