"""Core fixtures: tiny gen3d checkpoints written by the real components (no Trainer, no data)."""

from __future__ import annotations

import pytest
import torch


def write_checkpoint(path, process: str = "edm", seed: int = 0, overrides: list[str] | None = None):
    """A gen3d ``.ckpt`` for ``demo_points`` with a tiny unconditional PVCNN and ``process``; ``overrides``
    (``--set`` strings such as ``net.name=pvd``) go over that.

    Built as ``gen3d fit`` builds it (``build_module``), with the payload that
    ``Gen3dModule.on_save_checkpoint`` writes; the EMA shadow is perturbed so EMA and raw weights differ.
    Returns ``(path, module, config)``.
    """
    from gen3d.config import load_config
    from gen3d.training.components import build_module

    torch.manual_seed(seed)
    config = load_config(
        "demo_points",
        [f"process.name={process}", "experiment.class_cond=false", "data.n_points=16", "net.size=tiny",
         *(overrides or [])],
    )  # fmt: skip
    module, config = build_module(config)
    for v in module.ema.shadow.values():
        if v.is_floating_point():
            v.add_(0.01)
    ckpt = {"state_dict": module.state_dict(), "global_step": 0}
    module.on_save_checkpoint(ckpt)
    torch.save(ckpt, path)
    return path, module, config


@pytest.fixture(scope="session")
def tiny_ckpt(tmp_path_factory):
    return write_checkpoint(tmp_path_factory.mktemp("ckpt") / "edm.ckpt", "edm")[0]


def fake_cuda_checkpoint(src, dst) -> None:
    """Copy the torch zip checkpoint ``src`` to ``dst`` with every storage's saved location set to
    ``cuda:0``, as if it had been saved on a GPU (the location string is pickled once in ``data.pkl``)."""
    import zipfile

    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", compression=zipfile.ZIP_STORED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename.endswith("/data.pkl"):
                cpu = b"X\x03\x00\x00\x00cpu"  # BINUNICODE 'cpu'
                assert data.count(cpu) == 1, "unexpected pickle layout"
                data = data.replace(cpu, b"X\x06\x00\x00\x00cuda:0")
            zout.writestr(info.filename, data)
