"""Normalisation helpers shared by the backbones."""

from __future__ import annotations

import math

from torch import nn

__all__ = ["group_norm"]


def group_norm(channels: int, max_groups: int = 8) -> nn.GroupNorm:
    """GroupNorm with the largest group count <= ``max_groups`` that divides ``channels``."""
    return nn.GroupNorm(math.gcd(channels, max_groups), channels)
