"""Build the parts of a run from a resolved config: process, denoiser, DataModule, LightningModule, Trainer.

Components are looked up by short name in their own registries (``gen3d.processes.get_process``,
``gen3d.nets.get_backbone``, :data:`DATAMODULES`); keyword arguments a factory does not accept become a
:class:`~gen3d.errors.UserInputError` naming the config group.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

from gen3d.errors import UserInputError
from gen3d.models import (  # Lightning-free; re-exported
    build_denoiser,
    build_process,
    call_factory,
    num_classes_of,
)

__all__ = [
    "DATAMODULES",
    "build_datamodule",
    "build_denoiser",
    "build_module",
    "build_process",
    "build_trainer",
    "num_classes_of",
    "resolve_precision",
    "run_dir_of",
]

#: data.type -> DataModule class name in gen3d.training.datamodules
DATAMODULES = {"points": "PointCloudDataModule", "voxels": "VoxelDataModule"}


def build_datamodule(config: dict):
    """The DataModule for ``config['data']`` (``type`` picks points or voxels)."""
    from gen3d.training import datamodules

    kwargs = dict(config["data"])
    dtype = kwargs.pop("type")
    if not kwargs.get("cache_dir"):
        raise UserInputError(
            "data.cache_dir is not set: prepare a cache with `gen3d prepare` and pass "
            "--set data.cache_dir=PATH"
        )
    cls = getattr(datamodules, DATAMODULES[dtype])
    return call_factory("data", cls, **kwargs)


def _class_names(dm) -> list[str]:
    names = getattr(dm, "class_names", None)
    if names is None:
        dm.prepare_data()
        dm.setup("fit")
        names = dm.class_names
    return [str(n) for n in names]


def build_module(config: dict, datamodule=None):
    """Resolve data-dependent config entries (class names) and build the :class:`Gen3dModule`.

    Returns ``(module, config)``; the returned config is the one stored in checkpoints.
    """
    from gen3d.training.module import Gen3dModule

    config = copy.deepcopy(config)
    if config["experiment"].get("class_cond") and not config["experiment"].get("class_names"):
        if datamodule is None:
            raise UserInputError(
                "class_cond needs the DataModule (or experiment.class_names) to know the classes"
            )
        config["experiment"]["class_names"] = _class_names(datamodule)
    process = build_process(config)
    nc = num_classes_of(config)
    denoiser = build_denoiser(config, process, num_classes=nc)
    module = Gen3dModule(
        denoiser,
        process,
        config["optim"],
        config=config,
        num_classes=nc,
        seed=int(config["experiment"]["seed"]),
    )
    return module, config


def resolve_precision(precision: str, accelerator: str = "auto") -> str:
    """``auto`` -> ``bf16-mixed`` on a CUDA device that supports bf16, else ``32-true``."""
    if precision != "auto":
        return str(precision)
    import torch

    if (
        accelerator in ("auto", "gpu", "cuda")
        and torch.cuda.is_available()
        and torch.cuda.is_bf16_supported()
    ):
        return "bf16-mixed"
    return "32-true"


def run_dir_of(config: dict) -> Path:
    """``<experiment.run_dir>/<experiment.name>``."""
    return Path(config["experiment"]["run_dir"]) / str(config["experiment"]["name"])


def _final_checkpoint_callback(path: Path, every: int):
    """A callback that writes ``path`` when training ends on a step the periodic checkpoint skipped."""
    import lightning as L

    class SaveFinalStep(L.Callback):
        def on_train_end(self, trainer, pl_module) -> None:
            if trainer.global_step > 0 and trainer.global_step % every:
                trainer.save_checkpoint(os.fspath(path))

    return SaveFinalStep()


def _cache_up_axis(cache_dir) -> str:
    """The training cache's up axis for the gallery; "y" when the cache is not readable here."""
    from gen3d.datasets.cache import cache_up_axis

    return cache_up_axis(cache_dir) or "y"


def build_trainer(config: dict, callbacks: list | None = None, resume_step: int | None = None, **overrides):
    """A Lightning Trainer for ``config['trainer']``: CSV logs (plus the tracker ``trainer.logger`` names,
    :mod:`gen3d.training.tracking`) and atomic checkpoints under :func:`run_dir_of`. ``resume_step``: the
    step a resumed run starts from (its earlier log rows are kept, its tracked run continued).

    ``overrides`` are passed to ``lightning.Trainer`` last (tests use them, e.g. ``enable_model_summary``).
    """
    import lightning as L
    from lightning.pytorch.callbacks import ModelCheckpoint

    from gen3d.training.checkpoint import AtomicCheckpointIO
    from gen3d.training.gallery import SampleGallery
    from gen3d.training.preemption import PreemptionCheckpoint, cluster_plugins
    from gen3d.training.resume import SkipConsumedBatches
    from gen3d.training.tracking import TrackingRecord, build_loggers

    t = config["trainer"]
    run_dir = run_dir_of(config)
    # first of the batch-end hooks: on SIGTERM / SIGUSR1 save before the gallery or anything slow runs
    cbs = [
        SkipConsumedBatches(),
        PreemptionCheckpoint(run_dir / "checkpoints" / "last.ckpt"),
        *(callbacks or []),
        TrackingRecord(run_dir, config, resume_step=resume_step),
    ]
    if t["checkpoint_every_n_steps"] > 0:
        cbs.append(
            ModelCheckpoint(
                dirpath=os.fspath(run_dir / "checkpoints"),
                filename="step{step:07d}",
                save_top_k=0,
                save_last=True,
                every_n_train_steps=t["checkpoint_every_n_steps"],
                auto_insert_metric_name=False,
                enable_version_counter=False,  # always (over)write last.ckpt, even if the interval changed
            )
        )
        cbs.append(
            _final_checkpoint_callback(run_dir / "checkpoints" / "last.ckpt", t["checkpoint_every_n_steps"])
        )
    if t["sample_every_n_steps"] > 0:
        from gen3d.config import SAMPLER_KEYS

        s = config["sampler"]  # name, schedule, rho and the sampler's options (steps: trainer.sample_steps)
        cbs.append(
            SampleGallery(
                run_dir / "gallery",
                every_n_steps=t["sample_every_n_steps"],
                n_shapes=t["sample_count"],
                sampler=s["name"],
                steps=t["sample_steps"],
                seed=int(config["experiment"]["seed"]),
                renderer=t["gallery_renderer"],
                schedule=s["schedule"],
                rho=s["rho"],
                sigma_max=s.get("sigma_max"),
                sigma_min=s.get("sigma_min"),
                sampler_options={k: v for k, v in s.items() if k not in SAMPLER_KEYS},
                render_timeout=t["gallery_timeout"],
                up_axis=_cache_up_axis(config["data"].get("cache_dir")),
            )
        )
    strategy = t["strategy"]
    if strategy == "ddp_cpu_gloo":
        from lightning.pytorch.strategies import DDPStrategy

        strategy = DDPStrategy(process_group_backend="gloo")
    max_time = None
    if t.get("max_time") is not None:  # Lightning's Timer: the budget counts training time across resumes
        import datetime

        from gen3d.durations import parse_duration

        max_time = datetime.timedelta(seconds=parse_duration(t["max_time"], "trainer.max_time"))
    kwargs = dict(
        max_steps=t["max_steps"],
        max_time=max_time,
        max_epochs=t["max_epochs"],
        accelerator=t["accelerator"],
        devices=t["devices"],
        num_nodes=t["num_nodes"],
        strategy=strategy,
        precision=resolve_precision(t["precision"], t["accelerator"]),
        log_every_n_steps=t["log_every_n_steps"],
        gradient_clip_val=config["optim"]["grad_clip"] or None,
        deterministic=t["deterministic"],
        enable_progress_bar=t["enable_progress_bar"],
        fast_dev_run=t["fast_dev_run"],
        limit_val_batches=t["limit_val_batches"],
        logger=build_loggers(config, run_dir, resume_step=resume_step),
        callbacks=cbs,
        plugins=[AtomicCheckpointIO(), *cluster_plugins()],  # SLURM: Lightning's auto-requeue on SIGUSR1
        default_root_dir=os.fspath(run_dir),
        enable_checkpointing=any(isinstance(c, ModelCheckpoint) for c in cbs),
    )
    kwargs.update(overrides)
    return L.Trainer(**kwargs)
