"""Sampler options (``S_churn``, ``rtol``, ...): the keyword arguments a sampler takes besides the contract's.

Every sampler is ``f(denoiser, x, sigmas, *, cond, generator, callback, **options)``; its options are read
from its signature (:func:`sampler_options`), so adding an option to a sampler needs no change here. The same
check serves :func:`gen3d.samplers.sample` (explicit, instead of catching a ``TypeError``) and the config's
``sampler`` group (at load time, see :mod:`gen3d.config`).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Mapping
from typing import Any

__all__ = ["CONTRACT_KEYWORDS", "check_options", "effective_options", "probe_options", "sampler_options"]

#: Keywords of the sampler contract itself: supplied by the caller, never options.
CONTRACT_KEYWORDS = ("cond", "generator", "callback")


def _samplers() -> dict:
    from gen3d.samplers import SAMPLERS

    return SAMPLERS


def _check_name(name: str) -> None:
    samplers = _samplers()
    if not isinstance(name, str) or name not in samplers:
        raise ValueError(f"unknown sampler {name!r}; choose one of {sorted(samplers)}")


def sampler_options(name: str) -> dict[str, Any]:
    """Options of sampler ``name`` and their defaults (``inspect.Parameter.empty`` when none), in signature
    order."""
    _check_name(name)
    params = inspect.signature(_samplers()[name]).parameters.values()
    return {
        p.name: p.default
        for p in params
        if p.kind is inspect.Parameter.KEYWORD_ONLY and p.name not in CONTRACT_KEYWORDS
    }


def _describe(name: str) -> str:
    opts = sampler_options(name)
    return ", ".join(opts) if opts else "none"


def _coerce(name: str, key: str, value: Any, default: Any) -> Any:
    """``value`` as the type of ``default``: float options take numbers or numeric strings (YAML reads
    ``1e-3`` and ``inf`` as strings), int options take integers; other defaults pass values through."""
    bad = ValueError(
        f"option {key!r} of sampler {name!r} must be {type(default).__name__} (default {default!r}), "
        f"got {value!r}"
    )
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise bad
        return value
    if isinstance(default, float):
        if isinstance(value, bool):
            raise bad
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, str):
            try:
                out = float(value)
            except ValueError:
                raise bad from None
            if math.isnan(out):
                raise bad
            return out
        raise bad
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad
        return value
    return value


def check_options(name: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """Check ``options`` against sampler ``name``'s signature; return them with values as the defaults' types.

    Raises ValueError naming the unknown sampler (and the known ones), an unknown option (and the sampler's
    options, plus the samplers that do take it), or a value of the wrong type.
    """
    allowed = sampler_options(name)
    out = {}
    for key, value in options.items():
        if key not in allowed:
            takers = sorted(n for n in _samplers() if key in sampler_options(n))
            hint = f"; {key!r} is an option of {', '.join(takers)}" if takers else ""
            raise ValueError(
                f"bad option {key!r} for sampler {name!r}: its options are {_describe(name)}{hint}"
            )
        default = allowed[key]
        out[key] = value if default is inspect.Parameter.empty else _coerce(name, key, value, default)
    return out


def effective_options(name: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """Every option sampler ``name`` will run with: its defaults updated by (checked) ``options``."""
    out = {k: v for k, v in sampler_options(name).items() if v is not inspect.Parameter.empty}
    out.update(check_options(name, options))
    return out


class _Reached(Exception):
    """Raised by the probe denoiser: the sampler accepted its options and started integrating."""


def probe_options(name: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`check_options`, then let the sampler check the option values itself (ranges such as
    ``S_churn >= 0`` or ``rtol > 0``) without sampling: it runs on a ``(1, 1)`` state with a denoiser that
    stops it at its first call. Raises the sampler's ValueError for a bad value."""
    import torch

    opts = check_options(name, options)

    def stop(x, sigma, cond=None):
        raise _Reached

    try:
        _samplers()[name](stop, torch.zeros(1, 1), [1.0, 0.0], **opts)
    except _Reached:
        pass
    return opts
