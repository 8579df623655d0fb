"""gen3d.models: denoisers built with their process's preconditioning, checkpoints read without Lightning."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from gen3d.config import load_config
from gen3d.errors import CheckpointError, Gen3dError
from gen3d.models import build_denoiser, build_process, load_denoiser, read_checkpoint
from gen3d.precond import EDMPrecond, Precond

from .conftest import fake_cuda_checkpoint, write_checkpoint


def _config(process: str, *extra: str) -> dict:
    return load_config("demo_points", [f"process.name={process}", "experiment.class_cond=false", *extra])


class Zero(nn.Module):
    def forward(self, x_in, c_noise, cond=None):
        return torch.zeros_like(x_in)


@pytest.mark.parametrize("name", ["edm", "vp", "ve"])
def test_built_denoiser_trains_with_effective_weight_one(name):
    """The denoiser ``gen3d fit`` builds, with F = 0, on y ~ N(0, sigma_d^2 I): the mean loss is
    lambda c_out^2 = 1 (EDM Table 1). With EDM's preconditioning VP and VE gave 0.18 and 0.39."""
    cfg = _config(name)
    proc = build_process(cfg)
    den = build_denoiser(cfg, proc)
    den.backbone = Zero()
    m = 4000
    g = torch.Generator().manual_seed(0)
    y = proc.sigma_data * torch.randn(m, 16, 3, generator=g, dtype=torch.float64)
    loss = proc.loss(den, y, generator=torch.Generator().manual_seed(1))
    assert loss.mean().item() == pytest.approx(1.0, abs=5 * math.sqrt(2 / 48 / m))


def test_vp_denoiser_has_vp_coefficients():
    cfg = _config("vp", "net.size=tiny")
    den = build_denoiser(cfg, build_process(cfg))
    s = np.array([0.05, 1.0, 100.0])
    c_skip, c_out, c_in, c_noise = (c.numpy() for c in den.coefficients(torch.tensor(s)))
    np.testing.assert_allclose(c_skip, 1.0)
    np.testing.assert_allclose(c_out, -s)
    np.testing.assert_allclose(c_in, 1 / np.sqrt(1 + s**2))
    np.testing.assert_allclose(c_noise, np.log(s) / 4, rtol=1e-12)


def test_edm_denoiser_is_bit_identical_to_edm_precond():
    cfg = _config("edm", "net.size=tiny", "process.sigma_data=0.7")
    torch.manual_seed(0)
    den = build_denoiser(cfg, build_process(cfg)).eval()
    ref = EDMPrecond(den.backbone, sigma_data=0.7).eval()
    assert isinstance(den, Precond) and list(den.state_dict()) == list(ref.state_dict())
    x = torch.randn(2, 32, 3, generator=torch.Generator().manual_seed(1))
    sigma = torch.tensor([0.01, 30.0])
    with torch.no_grad():
        assert torch.equal(den(x, sigma), ref(x, sigma))


@pytest.mark.parametrize("name", ["vp", "ve", "edm"])
def test_stored_process_config_rebuilds_the_same_denoiser(name, tmp_path):
    path, module, config = write_checkpoint(tmp_path / f"{name}.ckpt", name)
    den, cfg, proc = load_denoiser(path, ema=False)
    assert proc.config() == module.process.config() and cfg == config
    x = torch.randn(2, 16, 3, generator=torch.Generator().manual_seed(2))
    sigma = torch.tensor([0.05, 20.0])
    with torch.no_grad():
        torch.testing.assert_close(den(x, sigma), module.denoiser.eval()(x, sigma), rtol=0, atol=0)
    ema, _, _ = load_denoiser(path, ema=True)
    assert any(not torch.equal(v, den.state_dict()[k]) for k, v in ema.state_dict().items())


def test_cuda_saved_checkpoint_loads_on_cpu(tiny_ckpt, tmp_path):
    """A checkpoint whose storages were saved on cuda:0 loads on a CPU host (was: 'truncated or corrupt')."""
    cuda = tmp_path / "cuda.ckpt"
    fake_cuda_checkpoint(tiny_ckpt, cuda)
    if not torch.cuda.is_available():  # the file really is CUDA-saved: plain torch.load refuses it here
        with pytest.raises(RuntimeError, match="CUDA"):
            torch.load(cuda, weights_only=True)
    for ml in ("cpu", None, torch.device("cpu")):
        ckpt = read_checkpoint(cuda, map_location=ml)
        assert all(v.device.type == "cpu" for v in ckpt["state_dict"].values())
    den, _, _ = load_denoiser(cuda, map_location=None)
    ref, _, _ = load_denoiser(tiny_ckpt)
    for k, v in den.state_dict().items():
        assert v.device.type == "cpu" and torch.equal(v, ref.state_dict()[k])


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a host without CUDA")
def test_cuda_device_on_cpu_host_is_a_device_error_not_a_corrupt_file(tiny_ckpt, tmp_path):
    cuda = tmp_path / "cuda.ckpt"
    fake_cuda_checkpoint(tiny_ckpt, cuda)
    for path in (tiny_ckpt, cuda):
        with pytest.raises(Gen3dError, match="CUDA is not available") as info:
            read_checkpoint(path, map_location="cuda")
        assert "truncated" not in str(info.value) and "--device cpu" in str(info.value)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cpu_saved_checkpoint_maps_to_the_requested_cuda_device(tiny_ckpt):
    den, _, _ = load_denoiser(tiny_ckpt, map_location="cuda")
    assert all(v.device.type == "cuda" for v in den.state_dict().values())


def test_truncated_and_foreign_files_keep_their_messages(tiny_ckpt, tmp_path):
    good = tiny_ckpt.read_bytes()
    (tmp_path / "trunc.ckpt").write_bytes(good[: len(good) // 2])
    torch.save({"state_dict": {}}, tmp_path / "foreign.ckpt")
    with pytest.raises(CheckpointError, match="truncated, corrupt"):
        read_checkpoint(tmp_path / "trunc.ckpt")
    with pytest.raises(CheckpointError, match="not a gen3d checkpoint"):
        read_checkpoint(tmp_path / "foreign.ckpt")
    with pytest.raises(Gen3dError, match="not a torch device"):
        read_checkpoint(tiny_ckpt, map_location="nonsense")


def test_training_modules_re_export_the_lightning_free_ones():
    import gen3d
    import gen3d.models as models
    from gen3d.training import checkpoint, components, module

    assert checkpoint.read_checkpoint is models.read_checkpoint
    assert checkpoint.load_denoiser is models.load_denoiser is gen3d.load_denoiser
    assert components.build_process is models.build_process
    assert components.build_denoiser is models.build_denoiser
    assert components.num_classes_of is models.num_classes_of
    assert module.CHECKPOINT_KEY == models.CHECKPOINT_KEY == "gen3d"
