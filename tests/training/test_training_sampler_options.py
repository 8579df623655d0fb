"""Sampler options (S_churn, rtol, ...) live in the config's sampler group, are checked against the sampler's
signature when the config loads, and reach the sampler from gen3d fit's gallery, gen3d sample and gen3d demo;
the sample file records them."""

import math

import numpy as np
import pytest
import torch

import gen3d.generate
from gen3d.cli import main
from gen3d.config import load_config
from gen3d.errors import UserInputError
from gen3d.sample_file import load_samples

from .test_training_cli import fit_args

CHURN = ["sampler.name=edm_stochastic", "sampler.S_churn=30", "sampler.S_noise=1.003"]


@pytest.fixture(scope="module")
def churn_run(tiny_cache, tmp_path_factory):
    """A 2-step fit whose config samples with EDM's churn; records the gallery's generate() calls."""
    calls = []
    real = gen3d.generate.generate

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return real(*args, **kwargs)

    run_dir = tmp_path_factory.mktemp("runs")
    extra = [*CHURN, "trainer.max_steps=2", "sampler.schedule=loguniform", "sampler.rho=5"]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(gen3d.generate, "generate", spy)
        assert main(fit_args(tiny_cache, run_dir, *extra)) == 0
    return run_dir / "t" / "checkpoints" / "last.ckpt", calls


def sample(ckpt, out, *extra):
    argv = ["sample", "--ckpt", str(ckpt), "--n", "3", "--steps", "3", "--out", str(out), "--no-progress"]
    return main(argv + ["--device", "cpu", "--class", "chair", *extra])


def test_config_takes_options_of_the_named_sampler():
    cfg = load_config("demo_points", [*CHURN, "sampler.S_max=inf", "sampler.S_min=1e-2"])
    assert cfg["sampler"] == {
        "name": "edm_stochastic",
        "steps": 18,
        "schedule": "karras",
        "rho": 7.0,
        "sigmas": None,
        "sigma_max": None,
        "sigma_min": None,
        "S_churn": 30.0,
        "S_noise": 1.003,
        "S_max": math.inf,
        "S_min": 0.01,  # YAML reads 1e-2 as a string: coerced to the option's type (float)
    }
    ada = load_config("demo_points", ["sampler.name=adaptive", "sampler.rtol=1e-4", "sampler.max_iters=50"])
    assert ada["sampler"]["rtol"] == 1e-4 and ada["sampler"]["max_iters"] == 50
    # null removes an option (the sampler's default applies)
    assert "S_churn" not in load_config("demo_points", [*CHURN, "sampler.S_churn=null"])["sampler"]


@pytest.mark.parametrize(
    "overrides, message",
    [
        (
            ["sampler.name=heunn"],
            r"sampler\.name 'heunn' is unknown; allowed: adaptive, dpmpp_2m, dpmpp_3m, edm_stoc",
        ),
        (
            ["sampler.name=edm_stochastic", "sampler.S_chrun=1"],
            r"sampler\.S_chrun for sampler 'edm_stochastic'.*options of 'edm_stochastic': S_churn, S_min, "
            r"S_max, S_noise",
        ),
        (["sampler.S_churn=40"], r"options of 'heun': none \(S_churn: option of edm_stochastic\)"),
        (["sampler.name=adaptive", "sampler.rtol=-1"], r"sampler\.rtol=-1.*rtol and atol must be positive"),
        (["sampler.name=edm_stochastic", "sampler.S_churn=-1"], r"S_churn must be >= 0"),
        (["sampler.name=adaptive", "sampler.rtol=tight"], r"'rtol' of sampler 'adaptive' must be float"),
        (
            ["sampler.name=adaptive", "sampler.max_iters=2.5"],
            r"'max_iters' of sampler 'adaptive' must be int",
        ),
        (["sampler.schedule=cosine"], r"sampler\.schedule 'cosine' is unknown; allowed: karras, loguniform"),
        (["sampler.steps=0"], r"sampler\.steps must be an integer >= 1"),
        (["sampler.rho=-7"], r"sampler\.rho must be a positive"),
    ],
)
def test_bad_sampler_settings_fail_at_load(overrides, message):
    with pytest.raises(UserInputError, match=message):
        load_config("demo_points", overrides)


def test_fit_refuses_a_sampler_typo_before_training(tiny_cache, tmp_path, capsys):
    """Not a warning at the first gallery: gen3d fit stops at config load, and nothing is written."""
    assert main(fit_args(tiny_cache, tmp_path, "sampler.name=edm_stochastic", "sampler.S_chrun=30")) == 2
    assert "S_churn, S_min, S_max, S_noise" in capsys.readouterr().err
    assert main(fit_args(tiny_cache, tmp_path, "sampler.name=edm_stochastc")) == 2
    assert not list(tmp_path.iterdir())


def test_gallery_samples_with_the_config_sampler_group(churn_run):
    _, calls = churn_run
    assert len(calls) == 1  # sample_every_n_steps = 2, max_steps = 2
    kw = calls[0]
    assert kw["sampler"] == "edm_stochastic" and kw["steps"] == 2  # trainer.sample_steps
    assert kw["S_churn"] == 30.0 and kw["S_noise"] == 1.003
    assert kw["schedule"] == "loguniform" and kw["rho"] == 5.0


def test_sample_uses_and_records_the_stored_options(churn_run, tmp_path):
    ckpt, _ = churn_run
    assert sample(ckpt, tmp_path / "churn.npz") == 0
    assert sample(ckpt, tmp_path / "nochurn.npz", "--set", "sampler.S_churn=0") == 0
    churn, plain = load_samples(tmp_path / "churn.npz"), load_samples(tmp_path / "nochurn.npz")
    assert churn.meta["sampler"] == "edm_stochastic"
    assert churn.meta["sampler_options"] == {
        "S_churn": 30.0,
        "S_min": 0.0,
        "S_max": math.inf,
        "S_noise": 1.003,
    }
    assert plain.meta["sampler_options"]["S_churn"] == 0.0
    assert churn.meta["config"]["sampler"]["S_churn"] == 30.0 and churn.meta["schedule"] == "loguniform"
    # churn adds noise: a different shape from the same seed; S_churn = 0 is Heun exactly
    assert not np.allclose(churn.points, plain.points, atol=1e-3)
    assert sample(ckpt, tmp_path / "heun.npz", "--sampler", "heun") == 0
    heun = load_samples(tmp_path / "heun.npz")
    np.testing.assert_allclose(heun.points, plain.points, rtol=1e-5, atol=1e-5)
    assert heun.meta["sampler_options"] == {} and "S_churn" not in heun.meta["config"]["sampler"]


def test_sample_options_match_the_python_api(churn_run, tmp_path):
    """The CLI's shapes are generate()'s with the same options (independent of how the CLI passes them)."""
    from gen3d.training.checkpoint import load_denoiser

    ckpt, _ = churn_run
    assert sample(ckpt, tmp_path / "s.npz", "--set", "sampler.S_churn=10", "--set", "sampler.S_min=0.5") == 0
    den, cfg, proc = load_denoiser(ckpt)
    want, _ = gen3d.generate.generate(
        den,
        proc,
        (32, 3),
        [0, 1, 2],
        sampler="edm_stochastic",
        steps=3,
        cond=torch.full((3,), 2),
        schedule="loguniform",
        rho=5.0,
        S_churn=10.0,
        S_min=0.5,
        S_noise=1.003,
    )
    np.testing.assert_allclose(load_samples(tmp_path / "s.npz").points, want.numpy(), rtol=1e-5, atol=1e-5)


def test_sample_adaptive_tolerances_reach_the_solver(churn_run, tmp_path, capsys):
    ckpt, _ = churn_run
    nfe = {}
    for tol in ("0.1", "1.0e-3"):
        out = tmp_path / f"a{tol}.npz"
        sets = ["--set", f"sampler.rtol={tol}", "--set", f"sampler.atol={tol}"]
        assert sample(ckpt, out, "--sampler", "adaptive", *sets) == 0
        meta = load_samples(out).meta
        assert meta["sampler_options"]["rtol"] == float(tol) == meta["sampler_options"]["atol"]
        nfe[tol] = meta["nfe"]
    assert nfe["0.1"] < nfe["1.0e-3"]
    # switching sampler drops the stored sampler's options, and says so
    assert "dropped its option(s) S_churn, S_noise" in capsys.readouterr().out


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--set", "sampler.S_chrun=1"], "options of 'edm_stochastic': S_churn, S_min, S_max, S_noise"),
        (["--sampler", "ddim"], "sampler.name 'ddim' is unknown; allowed: adaptive"),
        (["--sampler", "heun", "--set", "sampler.S_churn=1"], "options of 'heun': none"),
        (["--set", "trainer.max_steps=3"], "--set takes sampler.KEY=VALUE overrides only"),
        (["--set", "sampler.name=euler", "--sampler", "heun"], "disagree"),
        (["--steps", "0"], "--steps must be >= 1"),
        (["--set", "sampler.rtol=0.1"], "options of 'edm_stochastic'"),
    ],
)
def test_sample_refuses_bad_sampler_settings_before_sampling(
    churn_run, tmp_path, monkeypatch, capsys, extra, message
):
    def no_sampling(*a, **k):
        raise AssertionError("sampling started")

    monkeypatch.setattr(gen3d.generate, "generate", no_sampling)
    ckpt, _ = churn_run
    assert sample(ckpt, tmp_path / "x.npz", *extra) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x.npz").exists()


def test_demo_passes_sampler_settings_to_every_sample_step(tmp_path, capsys):
    """gen3d demo refuses a bad sampler setting before any work, and hands --set sampler.* to gen3d sample."""
    from gen3d.commands import demo

    out = tmp_path / "demo"
    assert (
        main(["demo", "--out", str(out), "--set", "sampler.name=edm_stochastic", "--set", "sampler.Schurn=1"])
        == 2
    )
    assert "S_churn, S_min, S_max, S_noise" in capsys.readouterr().err
    assert main(["demo", "--out", str(out), "--steps", "0"]) == 2
    assert "--steps must be >= 1" in capsys.readouterr().err
    assert not out.exists()
    overrides = ["trainer.max_steps=2", *CHURN[1:]]
    argv = demo._sample_argv("c.ckpt", 3, 7, "s.npz", "chair", "edm_stochastic", 4, overrides)
    assert argv[argv.index("--sampler") + 1] == "edm_stochastic" and argv[argv.index("--steps") + 1] == "4"
    sets = [argv[i + 1] for i, a in enumerate(argv) if a == "--set"]
    assert sets == CHURN[1:]


def test_resolve_sampler_group_takes_explicit_arguments():
    """The library helper behind gen3d sample's and gen3d demo's sampler flags: no argparse namespace."""
    from gen3d.commands.sample import resolve_sampler_group

    stored = {"name": "edm_stochastic", "steps": 18, "schedule": "karras", "rho": 7.0, "S_churn": 40.0}
    group, dropped = resolve_sampler_group(stored, [], sampler="heun", steps=5)
    assert (group["name"], group["steps"], dropped) == ("heun", 5, ["S_churn"]) and "S_churn" not in group
    group, dropped = resolve_sampler_group(stored, ["sampler.S_churn=10"])
    assert group["S_churn"] == 10.0 and group["name"] == "edm_stochastic" and dropped == []
    assert resolve_sampler_group(stored, ["sampler.steps=5"], steps=5)[0]["steps"] == 5
    with pytest.raises(UserInputError, match="disagree"):
        resolve_sampler_group(stored, ["sampler.steps=4"], steps=5)
    with pytest.raises(UserInputError, match="sampler.KEY=VALUE overrides only"):
        resolve_sampler_group(stored, ["trainer.max_steps=3"])
