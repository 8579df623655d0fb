"""Common base for denoiser backbones: input validation and ``config()`` for exact rebuilds."""

from __future__ import annotations

from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from gen3d.nets.embeddings import check_cond

__all__ = ["Backbone"]


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    return value


class Backbone(nn.Module):
    """A network ``F(x_in (B, ...), c_noise (B,), cond (B,) | None)`` returning the shape of ``x_in``.

    Subclasses set ``NAME``, build ``self.embed`` (a ConditionEmbedding) and call :meth:`_record_config`
    with every constructor argument, so that ``get_backbone(**net.config())`` builds an identical
    architecture.
    """

    NAME: ClassVar[str] = ""

    def _record_config(self, size: str | None, **kwargs: Any) -> None:
        self._size = size
        self._kwargs = {k: _jsonable(v) for k, v in kwargs.items()}

    def config(self) -> dict:
        """JSON-serialisable ``{"name", "size", **kwargs}``; ``get_backbone(**cfg)`` rebuilds this net."""
        return {"name": self.NAME, "size": self._size, **self._kwargs}

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def _prepare(
        self, x: torch.Tensor, c_noise: torch.Tensor, cond: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Validate ``c_noise``/``cond`` against ``x``; return ``x`` in the parameters' dtype and the
        activated embedding ``SiLU(self.embed(c_noise, cond))`` (B, emb_dim).

        A float64 input to a float32 net is computed in float32; callers cast the output back to its dtype.
        """
        self._check_common(x, c_noise, cond)
        param = next(self.parameters(), None)
        x = x if param is None or x.dtype == param.dtype else x.to(param.dtype)
        return x, F.silu(self.embed(c_noise, cond))

    def _check_common(self, x: torch.Tensor, c_noise: torch.Tensor, cond: torch.Tensor | None) -> None:
        if not isinstance(c_noise, torch.Tensor) or c_noise.shape != (x.shape[0],):
            got = tuple(c_noise.shape) if isinstance(c_noise, torch.Tensor) else type(c_noise).__name__
            raise ValueError(
                f"{self.NAME}: c_noise must have shape ({x.shape[0]},) (one value per sample), got {got}"
            )
        if not torch.is_floating_point(x):
            raise ValueError(f"{self.NAME}: x must be a floating-point tensor, got {x.dtype}")
        check_cond(cond, x.shape[0], self.num_classes)
