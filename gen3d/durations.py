"""Wall-clock durations as users write them: ``"90s"``, ``"25m"``, ``"1.5h"`` or plain seconds."""

from __future__ import annotations

from gen3d.errors import UserInputError

__all__ = ["parse_duration"]

_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(value: object, what: str = "duration") -> float:
    """``"90s"`` / ``"30m"`` / ``"1.5h"`` / ``90`` / ``"90"`` -> seconds (a positive finite float).

    Anything else raises :class:`UserInputError` naming ``what`` (the option the user set).
    """
    seconds = float("nan")
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str):
        t = value.strip().lower()
        scale = _UNITS.get(t[-1:])
        try:
            seconds = float(t[:-1] if scale else t) * (scale or 1.0)
        except ValueError:
            pass
    if not 0 < seconds < float("inf"):
        raise UserInputError(f"{what} must be a positive duration such as 90s, 25m or 1.5h, got {value!r}")
    return seconds
