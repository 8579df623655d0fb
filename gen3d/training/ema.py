"""Exponential moving average (EMA) of a module's weights, used for sampling and saved in checkpoints."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["EMA"]


class EMA:
    """EMA copy of ``module``'s state dict.

    After every optimiser step ``update(module)`` sets ``ema = d * ema + (1 - d) * param`` for floating-point
    parameters, with ``d = decay`` or, with ``warmup``, ``d = min(decay, (1 + t) / (10 + t))`` (``t``: number
    of earlier updates, kept in the state) so early, poorly trained weights fade quickly. Buffers (and integer
    tensors) are copied as they are. The shadow lives on the module's device; :meth:`state_dict` /
    :meth:`load_state_dict` round-trip exactly.
    """

    def __init__(self, module: nn.Module, decay: float = 0.999, warmup: bool = True):
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"EMA decay must be in [0, 1), got {decay}")
        self.decay = float(decay)
        self.warmup = bool(warmup)
        self.shadow: dict[str, torch.Tensor] = {k: v.detach().clone() for k, v in module.state_dict().items()}
        self._param_names = {name for name, _ in module.named_parameters()}
        self.num_updates = 0

    def decay_at(self, step: int) -> float:
        """Decay used for the update after optimiser step ``step`` (0-based)."""
        if not self.warmup:
            return self.decay
        return min(self.decay, (1.0 + step) / (10.0 + step))

    @torch.no_grad()
    def update(self, module: nn.Module) -> None:
        d = self.decay_at(self.num_updates)
        self.num_updates += 1
        for k, v in module.state_dict().items():
            s = self.shadow[k]
            if s.device != v.device:
                s = self.shadow[k] = s.to(v.device)
            if k in self._param_names and v.is_floating_point():
                s.lerp_(v.detach().to(s.dtype), 1.0 - d)  # s = d*s + (1-d)*v
            else:
                s.copy_(v)

    def copy_to(self, module: nn.Module) -> None:
        """Load the EMA weights into ``module`` (same architecture)."""
        module.load_state_dict(self.shadow)

    def state_dict(self) -> dict:
        return {
            "decay": self.decay,
            "warmup": self.warmup,
            "num_updates": self.num_updates,
            "shadow": {k: v.clone() for k, v in self.shadow.items()},
        }

    def load_state_dict(self, state: dict) -> None:
        missing = set(self.shadow) - set(state["shadow"])
        if missing:
            raise KeyError(f"EMA state lacks {sorted(missing)[:5]}")
        self.decay = float(state["decay"])
        self.warmup = bool(state["warmup"])
        self.num_updates = int(state["num_updates"])
        self.shadow = {
            k: v.detach().clone().to(self.shadow[k].device) if k in self.shadow else v.detach().clone()
            for k, v in state["shadow"].items()
        }
