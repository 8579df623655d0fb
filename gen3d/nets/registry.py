"""Backbone registry: short name -> class and size presets."""

from __future__ import annotations

import inspect
from typing import Any

from gen3d.nets.base import Backbone
from gen3d.nets.points.pvcnn import PVCNN, PVCNN_SIZES
from gen3d.nets.points.pvd import PVD_SIZES, PointVoxelUNet
from gen3d.nets.points.transformer import POINT_TRANSFORMER_SIZES, PointTransformer
from gen3d.nets.voxels.unet3d import UNET3D_SIZES, UNet3D

__all__ = ["BACKBONES", "SIZES", "get_backbone", "register_backbone"]

BACKBONES: dict[str, type[Backbone]] = {}
SIZES: dict[str, dict[str, dict[str, Any]]] = {}


def register_backbone(cls: type[Backbone], sizes: dict[str, dict[str, Any]]) -> None:
    """Register a backbone class under ``cls.NAME`` with its size presets (name -> constructor kwargs)."""
    BACKBONES[cls.NAME] = cls
    SIZES[cls.NAME] = sizes


register_backbone(PVCNN, PVCNN_SIZES)
register_backbone(PointTransformer, POINT_TRANSFORMER_SIZES)
register_backbone(UNet3D, UNET3D_SIZES)
register_backbone(PointVoxelUNet, PVD_SIZES)


def get_backbone(name: str, size: str | None = "tiny", num_classes: int = 0, **overrides: Any) -> Backbone:
    """Build backbone ``name`` at preset ``size`` ("tiny", "small", "base", "paper"), then ``overrides``.

    ``size=None`` uses the class defaults. ``get_backbone(**net.config())`` rebuilds an identical network.
    Unknown names, sizes or keyword arguments raise ValueError listing what is accepted.
    """
    if name not in BACKBONES:
        raise ValueError(f"unknown backbone {name!r}; choose one of {sorted(BACKBONES)}")
    cls = BACKBONES[name]
    kwargs: dict[str, Any] = {}
    if size is not None:
        if size not in SIZES[name]:
            raise ValueError(
                f"unknown size {size!r} for backbone {name!r}; choose one of {list(SIZES[name])}"
            )
        kwargs.update(SIZES[name][size])
    accepted = set(inspect.signature(cls.__init__).parameters) - {"self", "size", "num_classes"}
    unknown = sorted(set(overrides) - accepted)
    if unknown:
        raise ValueError(f"unknown option(s) {unknown} for backbone {name!r}; accepted: {sorted(accepted)}")
    kwargs.update(overrides)
    return cls(num_classes=num_classes, size=size, **kwargs)
