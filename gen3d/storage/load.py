"""Load a published model from a registry without Lightning, verifying every byte against its manifest.

``load_model("s3://bucket/models/chair-edm@v2", map_location="cpu") -> LoadedModel``: resolves the version
(latest complete one without ``@v<k>``), fetches ``config.json`` and ``model.safetensors`` through the
verified local cache (:mod:`gen3d.storage.cache`; size and sha256 from the manifest, a mismatch raises
:class:`~gen3d.storage.errors.IntegrityError`), rebuilds the network from the config with
:func:`gen3d.models.build_denoiser` and loads the EMA weights strictly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from gen3d.errors import CheckpointError
from gen3d.storage.cache import verified_local_copy
from gen3d.storage.registry import parse_model_ref, resolve, version_url
from gen3d.storage.urls import redact

__all__ = ["LoadedModel", "load_model"]


@dataclass(frozen=True)
class LoadedModel:
    """``denoiser`` (eval mode, on ``map_location``), ``config`` (resolved), ``process``, ``ref`` (the model
    with its resolved version, ``.../chair-edm@v2``) and its ``manifest``."""

    denoiser: Any
    config: dict
    process: Any
    ref: str
    manifest: dict


def load_model(ref: str, map_location: Any = "cpu") -> LoadedModel:
    """See the module docstring. ``ref``: ``<registry>/<name>`` or ``<registry>/<name>@v<k>``."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from gen3d.models import _check_device, build_denoiser, build_process, num_classes_of

    mref = parse_model_ref(ref)
    version, manifest = resolve(mref)
    shown = redact(f"{version_url(mref.registry, mref.name, version)}")
    files = {}
    for f in ("config.json", "model.safetensors"):
        entry = manifest["files"][f]
        files[f] = verified_local_copy(
            version_url(mref.registry, mref.name, version, f), entry["size"], entry["sha256"]
        )
    config = json.loads(files["config.json"].read_text())
    device = _check_device(shown, map_location)
    process = build_process(config)
    denoiser = build_denoiser(config, process, num_classes=num_classes_of(config))
    try:
        state = load_file(str(files["model.safetensors"]), device="cpu")
        denoiser.load_state_dict(state)
    except (SafetensorError, RuntimeError) as e:
        raise CheckpointError(f"{shown}: weights do not match the network its config describes: {e}") from e
    resolved = f"{mref.registry.rstrip('/')}/{mref.name}@{version}"
    return LoadedModel(denoiser.to(device).eval(), config, process, redact(resolved), manifest)
