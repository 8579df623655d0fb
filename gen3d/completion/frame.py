"""The model's frame for a partial scan whose complete extent is unknown.

A model learned shapes normalised one by one (``unit_sphere``, ``bbox``, ...: the normalisation of the cache
it was trained on, ``config["data"]``), so observed points must be put into that frame before completing,
and completions mapped back with the same affine map (:class:`gen3d.geometry.NormParams`). The complete
shape's frame cannot be fitted from a partial scan: a visible side has a centroid pulled toward the camera
and a smaller extent. Three choices, recorded with every completion:

* ``given``: the partial is already in the model's frame (partial views stored in a prepared cache are, in
  their shape's normalised frame: PVD's benchmark setting, where partial and complete shape share a frame).
* ``partial``: fit the model's normalisation kind to the partial itself (a biased frame: completions come
  out at the partial's scale, too small by the ratio of the two extents).
* ``refine`` (the default for raw scans): start from ``partial``, complete, fit the kind to the raw-unit
  completion, map the partial into that frame and complete again, ``iterations`` times: a fixed point of
  "the frame of the shape the model completes", which is what the model can know about the full extent.
"""

from __future__ import annotations

import numpy as np

from gen3d.errors import UserInputError

__all__ = ["FRAME_MODES", "check_frame_mode", "fit_frame"]

FRAME_MODES = ("given", "partial", "refine")


def check_frame_mode(mode: str, kind: str) -> str:
    """``mode`` if known; ``partial``/``refine`` need a per-shape normalisation kind (UserInputError)."""
    if mode not in FRAME_MODES:
        raise UserInputError(f"unknown frame mode {mode!r}; expected one of {', '.join(FRAME_MODES)}")
    if mode != "given" and kind not in ("unit_sphere", "unit_cube", "bbox"):
        raise UserInputError(
            f"the model was trained with the {kind!r} normalisation, which is not fitted per shape; "
            "give partials already in the model's frame (--frame given)"
        )
    return mode


def fit_frame(kind: str, points: np.ndarray):
    """:class:`gen3d.geometry.NormParams` of ``kind`` fitted to ``points`` (M, 3) (UserInputError when the
    points coincide)."""
    from gen3d.geometry import fit_normalization

    try:
        return fit_normalization(kind, np.asarray(points, dtype=np.float64))
    except ValueError as e:
        raise UserInputError(f"cannot fit a frame to the partial scan: {e}") from e
