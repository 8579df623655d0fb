"""gen3d.training: the only Lightning code in gen3d.

Modules (import the one you need; nothing is imported here, so ``import gen3d.training`` stays light):

* :mod:`gen3d.training.module` -- ``Gen3dModule`` (process + denoiser + optimiser settings, EMA, per-sigma
  bucket loss, NaN/inf guard, checkpoint payload)
* :mod:`gen3d.training.ema` -- ``EMA`` of the weights
* :mod:`gen3d.training.checkpoint` -- ``AtomicCheckpointIO``, ``read_checkpoint``, ``load_denoiser``
* :mod:`gen3d.training.components` -- build process / denoiser / DataModule / module / Trainer from a config
* :mod:`gen3d.training.gallery` -- ``SampleGallery`` callback
* :mod:`gen3d.training.resume` -- ``ResumableSampler`` and ``SkipConsumedBatches`` for exact mid-epoch resume
* :mod:`gen3d.training.datamodules` -- ``PointCloudDataModule``, ``VoxelDataModule``
"""
