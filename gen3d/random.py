"""Explicit randomness with per-sample seeding.

Everywhere gen3d accepts a ``generator`` argument it may be

* ``None``: torch's default generator (reproducible only if the caller seeded it),
* one ``torch.Generator``: one stream for the whole batch,
* a list of ``B`` generators: sample ``i`` draws from ``generators[i]`` only, so the shape produced for a seed
  is the same whatever the batch size or its position in the batch.

Library code never seeds globally; the CLI builds generators from user seeds with
:func:`generators_for_seeds`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

__all__ = [
    "GeneratorLike",
    "generators_for_seeds",
    "randn_per_sample",
    "randn",
    "rand",
    "standard_gamma",
    "check_generator",
]

GeneratorLike = torch.Generator | Sequence[torch.Generator] | None


def generators_for_seeds(seeds: Sequence[int], device: str | torch.device = "cpu") -> list[torch.Generator]:
    """One ``torch.Generator`` per seed, each seeded with ``manual_seed(seed)``."""
    out = []
    for s in seeds:
        if isinstance(s, bool) or not isinstance(s, int) or s < 0:
            raise ValueError(f"seeds must be non-negative integers, got {s!r}")
        g = torch.Generator(device=device)
        g.manual_seed(int(s))
        out.append(g)
    return out


def check_generator(generator: GeneratorLike, batch: int) -> None:
    """Raise ``ValueError`` unless ``generator`` is None, a Generator, or a list of exactly ``batch``
    Generators."""
    if generator is None or isinstance(generator, torch.Generator):
        return
    if isinstance(generator, Sequence) and not isinstance(generator, str):
        if len(generator) != batch:
            raise ValueError(
                f"got a list of {len(generator)} generators for a batch of {batch} samples; "
                "pass exactly one generator per sample (or a single torch.Generator)"
            )
        for g in generator:
            if not isinstance(g, torch.Generator):
                raise TypeError(f"generator list must hold torch.Generator objects, got {type(g).__name__}")
        return
    raise TypeError(
        f"generator must be None, a torch.Generator or a list of them, got {type(generator).__name__}"
    )


def _draw(fn, shape: tuple[int, ...], generator: GeneratorLike, device, dtype) -> torch.Tensor:
    """Draw ``fn(shape)`` honouring the three generator forms; ``shape[0]`` is the batch size."""
    shape = tuple(int(s) for s in shape)
    if len(shape) == 0:
        raise ValueError("shape must include the batch dimension")
    dtype = dtype or torch.get_default_dtype()
    check_generator(generator, shape[0])
    if generator is None:
        return fn(shape, device=device, dtype=dtype)
    if isinstance(generator, torch.Generator):
        out = fn(shape, generator=generator, device=generator.device, dtype=dtype)
        return out.to(device) if device is not None else out
    parts = [
        fn(shape[1:], generator=g, device=g.device, dtype=dtype).to(device or g.device) for g in generator
    ]
    if not parts:
        return torch.empty(shape, device=device, dtype=dtype)
    return torch.stack(parts, dim=0)


def randn(shape: tuple[int, ...], generator: GeneratorLike = None, device=None, dtype=None) -> torch.Tensor:
    """Standard normal tensor of ``shape = (B, ...)``; with a generator list, row ``i`` uses
    ``generator[i]``."""
    return _draw(torch.randn, shape, generator, device, dtype)


def rand(shape: tuple[int, ...], generator: GeneratorLike = None, device=None, dtype=None) -> torch.Tensor:
    """Uniform [0, 1) tensor of ``shape = (B, ...)``; with a generator list, row ``i`` uses
    ``generator[i]``."""
    return _draw(torch.rand, shape, generator, device, dtype)


def randn_per_sample(
    shape_per_sample: tuple[int, ...], generators: Sequence[torch.Generator], device=None, dtype=None
) -> torch.Tensor:
    """Stack of ``len(generators)`` standard normal tensors of ``shape_per_sample``: (B,
    *shape_per_sample)."""
    if isinstance(generators, torch.Generator) or generators is None:
        raise TypeError("randn_per_sample needs a list of generators (see generators_for_seeds)")
    return randn((len(generators), *tuple(shape_per_sample)), list(generators), device=device, dtype=dtype)


def standard_gamma(
    alpha: float, batch: int, generator: GeneratorLike = None, device=None, n_candidates: int = 8
) -> torch.Tensor:
    """``batch`` draws of Gamma(alpha, 1) in float64, shape (B,), using only the given generator(s).

    Marsaglia & Tsang (2000) squeeze-rejection method: for ``a >= 1`` with ``d = a - 1/3``, ``c =
    1/sqrt(9d)``, propose ``v = (1 + c z)^3`` (z standard normal) and accept ``d v`` when ``log U < z²/2 + d -
    d v + d log v``. For ``a < 1`` use ``Gamma(a) = Gamma(a + 1) · U^(1/a)``. Each sample draws
    ``n_candidates`` proposals from its own stream at a time (acceptance > 95 % per proposal), so with a
    generator list a sample's value depends on its generator only. Exact for any ``alpha`` (including 5e5,
    used by PFGM++ with D = 1e6), computed in float64.
    """
    alpha = float(alpha)
    if not math.isfinite(alpha) or alpha <= 0:
        raise ValueError(f"gamma shape parameter must be positive and finite, got {alpha}")
    boost = alpha < 1.0
    a = alpha + 1.0 if boost else alpha
    d = a - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    out = torch.empty(batch, dtype=torch.float64)
    todo = torch.ones(batch, dtype=torch.bool)
    gens = generator if (generator is not None and not isinstance(generator, torch.Generator)) else None
    check_generator(generator, batch)
    while bool(todo.any()):
        idx = todo.nonzero().flatten()
        sub: GeneratorLike
        if gens is not None:
            sub = [gens[int(i)] for i in idx]
        else:
            sub = generator
        k = n_candidates
        z = randn((len(idx), k), sub, device="cpu", dtype=torch.float64)
        u = rand((len(idx), k), sub, device="cpu", dtype=torch.float64)
        extra = rand((len(idx),), sub, device="cpu", dtype=torch.float64) if boost else None
        v = (1.0 + c * z) ** 3
        ok = v > 0
        logv = torch.log(torch.where(ok, v, torch.ones_like(v)))
        ok &= torch.log(u) < 0.5 * z * z + d - d * v + d * logv
        has = ok.any(dim=1)
        first = torch.argmax(ok.to(torch.int8), dim=1)
        val = d * v.gather(1, first[:, None]).squeeze(1)
        if extra is not None:  # boost
            # Gamma(alpha) = Gamma(alpha + 1) * U^(1/alpha); U in (0, 1]: use 1 - rand to avoid 0.
            val = val * (1.0 - extra) ** (1.0 / alpha)
        done_idx = idx[has]
        out[done_idx] = val[has]
        todo[done_idx] = False
    return out.to(device) if device is not None else out
