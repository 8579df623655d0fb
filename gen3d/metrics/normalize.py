"""Normalisation before scoring: one explicit option, applied identically to both sets and recorded.

Kinds are :class:`gen3d.geometry.normalize.Normalization` values. Per-shape kinds (``bbox``, ``unit_cube``,
``unit_sphere``) fit each shape on its own. ``global`` fits PointFlow's statistics (mean per axis, one std
over all coordinates) on the *reference* set and applies that one map to both sets, so relative scale and
position between the sets are kept. ``none`` scores the inputs as given (e.g. already de-normalised to raw
units, PointFlow's protocol).
"""

from __future__ import annotations

import numpy as np

from gen3d.errors import UserInputError
from gen3d.geometry.normalize import Normalization, fit_global_normalization, fit_normalization

__all__ = ["normalize_sets"]


def normalize_sets(gen: np.ndarray, ref: np.ndarray, kind: str) -> tuple[np.ndarray, np.ndarray, dict]:
    """Normalise ``gen`` (G, N, 3) and ``ref`` (R, M, 3) by ``kind``; returns ``(gen, ref, record)``.

    ``record`` is JSON-serialisable: ``{"kind": ..., "fitted_on": ..., "params": ...}``.
    """
    try:
        k = Normalization.parse(kind)
    except ValueError as e:
        raise UserInputError(str(e)) from None
    if k is Normalization.NONE:
        return gen, ref, {"kind": k.value, "fitted_on": None}
    try:
        if k is Normalization.GLOBAL:
            params = fit_global_normalization(list(ref))
            return (
                params.apply(gen),
                params.apply(ref),
                {"kind": k.value, "fitted_on": "reference set", "params": params.to_dict()},
            )

        def per_shape(s):
            return np.stack([fit_normalization(k, p).apply(p) for p in s]).astype(np.float32)

        return per_shape(gen), per_shape(ref), {"kind": k.value, "fitted_on": "each shape"}
    except ValueError as e:
        raise UserInputError(f"cannot normalise ({k.value}): {e}") from None
