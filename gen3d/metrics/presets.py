"""The evaluation protocols published results use, as presets of ``gen3d evaluate --protocol``.

A preset fixes everything that changes the numbers: normalisation (and units), points per shape, reference
split, metrics, and the JSD binning. Explicit options that disagree with the preset are **refused** (a
preset is a promise that the number is comparable with the papers'; an override would break it silently);
options that agree are accepted. Both presets score equal-size sets (the larger set is subsampled, seeded).

* ``pointflow`` -- PointFlow (Yang et al. 2019), also PVD, LION's first table, DiT-3D: shapes normalised
  with the training set's global mean/std, **de-normalised before scoring** (raw units, ``normalize none``),
  2048 points, PointFlow's held-out split (its ``val`` folder), CD and EMD, PointFlow's JSD binning.
* ``shapegf_bbox`` -- ShapeGF / DPM, LION's second table: each generated and reference shape normalised on
  its own to its bounding box ``[-1, 1]^3`` (DPM's ``shape_bbox``), otherwise as ``pointflow``.

Printed units are the papers' (``UNITS``): MMD-CD x10^3, MMD-EMD x10^2, COV and 1-NNA in %, JSD x10^2.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from gen3d.errors import UserInputError

__all__ = ["PROTOCOLS", "UNITS", "Protocol", "resolve_options"]

#: factor and label of each printed quantity (the JSON keeps plain values)
UNITS = {
    "cd": (1e3, "x10^3"),
    "emd": (1e2, "x10^2"),
    "iou": (1.0, ""),
    "jsd": (1e2, "x10^2"),
    "cov": (100.0, "%"),
    "1nna": (100.0, "%"),
}

DEFAULTS = {"normalize": "none", "split": "val", "metrics": "cd,emd", "points": None, "jsd_mode": "cells"}


@dataclass(frozen=True)
class Protocol:
    """One published protocol: the option values it fixes and where it comes from."""

    name: str
    normalize: str
    points: int
    split: str
    metrics: str
    jsd_mode: str
    units: str  # "raw" (de-normalised before scoring) or "per-shape" (normalisation removes the units)
    used_by: str

    def options(self) -> dict:
        return {
            "normalize": self.normalize,
            "split": self.split,
            "metrics": self.metrics,
            "points": self.points,
            "jsd_mode": self.jsd_mode,
        }

    def record(self) -> dict:
        return asdict(self)


PROTOCOLS = {
    "pointflow": Protocol(
        "pointflow",
        normalize="none",
        points=2048,
        split="val",
        metrics="cd,emd",
        jsd_mode="pointflow",
        units="raw",
        used_by="PointFlow, PVD, LION (first table), DiT-3D: global mean/std undone before scoring",
    ),
    "shapegf_bbox": Protocol(
        "shapegf_bbox",
        normalize="bbox",
        points=2048,
        split="val",
        metrics="cd,emd",
        jsd_mode="pointflow",
        units="per-shape",
        used_by="ShapeGF, DPM, LION (second table): every shape scaled to its bounding box [-1,1]^3",
    ),
}

_FLAGS = {
    "normalize": "--normalize",
    "split": "--split",
    "metrics": "--metrics",
    "points": "--points",
    "jsd_mode": "--jsd-mode",
}


def resolve_options(protocol: str | None, given: dict, no_jsd: bool = False) -> tuple[dict, dict | None]:
    """Option values from a preset and the explicitly ``given`` ones (``{name: value or None}``).

    Returns ``(options, protocol record or None)``; a given value that differs from the preset's, or
    ``no_jsd`` with a preset, raises :class:`UserInputError` naming both.
    """
    if protocol is None:
        return {k: (given.get(k) if given.get(k) is not None else v) for k, v in DEFAULTS.items()}, None
    if protocol not in PROTOCOLS:
        raise UserInputError(f"unknown protocol {protocol!r}; choose one of {', '.join(PROTOCOLS)}")
    p = PROTOCOLS[protocol]
    preset = p.options()
    clash = []
    for k, v in given.items():
        if v is None or k not in preset:
            continue
        same = _norm_metrics(v) == _norm_metrics(preset[k]) if k == "metrics" else v == preset[k]
        if not same:
            clash.append(f"{_FLAGS[k]} {v} (the protocol sets {preset[k]})")
    if no_jsd:
        clash.append("--no-jsd (the protocol reports JSD)")
    if clash:
        raise UserInputError(
            f"--protocol {protocol} fixes these options, and you gave other values: {'; '.join(clash)}. "
            "Drop them, or drop --protocol and set every option yourself"
        )
    return preset, p.record()


def _norm_metrics(v) -> tuple:
    return tuple(sorted(m.strip() for m in str(v).split(",") if m.strip()))
