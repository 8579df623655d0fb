"""Publish a trained model into a registry (:mod:`gen3d.storage.registry`) as a new immutable version.

Steps: find the inputs (a checkpoint, or a run folder with ``checkpoints/last.ckpt`` and its newest gallery
picture) -> build every file locally in a temporary folder (EMA weights as safetensors, config, fingerprint,
evaluation, gallery, model card) -> claim the next version -> upload each file (each upload atomic) -> check
the claim is still ours -> write ``manifest.json`` (sizes and sha256 of all files) last and exclusively ->
rebuild ``index.json``. Nothing under the version counts before the manifest exists, so an interrupted
publish leaves an incomplete folder that no reader lists or loads, and its number is never reused.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

from gen3d.errors import CheckpointError, UserInputError
from gen3d.storage.checksums import sha256_file
from gen3d.storage.fingerprint import data_fingerprint
from gen3d.storage.model_card import TRACKING_RECORD, headline_metrics, model_card, tracking_entry
from gen3d.storage.registry import (
    MANIFEST,
    REGISTRY_FORMAT,
    check_claim,
    check_name,
    claim_next_version,
    registry_location,
    rewrite_index,
    version_url,
)
from gen3d.storage.transfer import create_exclusive, read_bytes, upload_file
from gen3d.storage.urls import local_path, redact

__all__ = ["PublishInputs", "Published", "find_inputs", "publish_model"]


@dataclass(frozen=True)
class PublishInputs:
    """What a publish reads: ``checkpoint`` (a path or URL of a gen3d ``.ckpt``), optional ``evaluation``
    (a ``gen3d evaluate`` JSON, path or URL), ``gallery`` (a local PNG) and ``tracking`` (the run folder's
    ``tracking.json``: where the training was tracked)."""

    checkpoint: str
    evaluation: str | None = None
    gallery: Path | None = None
    tracking: dict | None = None


@dataclass(frozen=True)
class Published:
    """A published version: its ``url`` (the version folder), ``version`` (``"v3"``) and ``manifest``."""

    url: str
    version: str
    manifest: dict


def _tracking_of(run_dir: Path | None) -> dict | None:
    """The publishable part of ``<run_dir>/tracking.json`` (None without a readable one)."""
    if run_dir is None:
        return None
    try:
        return tracking_entry(json.loads((run_dir / TRACKING_RECORD).read_text()))
    except (OSError, ValueError):
        return None


def find_inputs(source: str, evaluation: str | None = None, gallery: str | None = None) -> PublishInputs:
    """Inputs of ``gen3d publish <source>``: a checkpoint file/URL, or a local run folder (its
    ``checkpoints/last.ckpt`` and, unless ``gallery`` is given, its newest ``gallery/step_*.png`` or
    ``gallery.png``). The run folder's ``tracking.json`` (also found from a local
    ``<run>/checkpoints/<file>.ckpt``) says where the training was tracked."""
    lp = local_path(source)
    pic = Path(gallery) if gallery else None
    run_dir = None
    if lp is not None and lp.is_file() and lp.parent.name == "checkpoints":
        run_dir = lp.parent.parent
    if lp is not None and lp.is_dir():
        run_dir = lp
        ckpt = lp / "checkpoints" / "last.ckpt"
        if not ckpt.is_file():
            raise UserInputError(
                f"{lp} is a folder without checkpoints/last.ckpt: give the run folder of gen3d fit or a .ckpt"
            )
        if pic is None:
            found = sorted((lp / "gallery").glob("step_*.png")) or sorted(lp.glob("gallery.png"))
            pic = found[-1] if found else None
        source = str(ckpt)
    elif lp is not None and not lp.is_file():
        raise UserInputError(f"gen3d publish: no checkpoint or run folder at {lp}")
    if pic is not None and not pic.is_file():
        raise UserInputError(f"--gallery: no picture at {pic}")
    if pic is not None and pic.read_bytes()[:8] != b"\x89PNG\r\n\x1a\n":
        raise UserInputError(f"--gallery: {pic} is not a PNG file")
    return PublishInputs(
        checkpoint=source, evaluation=evaluation, gallery=pic, tracking=_tracking_of(run_dir)
    )


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _load_evaluation(location: str | None) -> dict | None:
    if location is None:
        return None
    try:
        ev = json.loads(read_bytes(location))
    except ValueError as e:
        raise UserInputError(f"--eval {redact(location)} is not JSON ({e})") from e
    if not isinstance(ev, dict) or not isinstance(ev.get("metrics"), dict):
        raise UserInputError(f"--eval {redact(location)} is not a gen3d evaluate record (no 'metrics')")
    return ev


def _write_weights(ckpt: dict, path: Path) -> None:
    """The denoiser's EMA weights as safetensors (every tensor contiguous and on the CPU)."""
    from safetensors.torch import save_file

    try:
        shadow = ckpt["gen3d"]["ema"]["shadow"]
    except (KeyError, TypeError) as e:
        raise CheckpointError(f"checkpoint has no EMA weights (gen3d.ema.shadow): {e}") from e
    save_file({k: v.detach().cpu().contiguous() for k, v in shadow.items()}, str(path))


def _build_files(inputs: PublishInputs, work: Path) -> tuple[dict, dict, dict | None, dict]:
    """Write the version's files except the card into ``work``; returns (config, fingerprint, evaluation,
    facts about the checkpoint)."""
    from gen3d.models import read_checkpoint

    ckpt = read_checkpoint(inputs.checkpoint)
    payload = ckpt["gen3d"]
    config = payload["config"]
    _write_weights(ckpt, work / "model.safetensors")
    (work / "config.json").write_text(json.dumps(config, indent=1, default=str) + "\n")
    fingerprint = data_fingerprint(config)
    (work / "fingerprint.json").write_text(json.dumps(fingerprint, indent=1, default=str) + "\n")
    evaluation = _load_evaluation(inputs.evaluation)
    if evaluation is not None:
        (work / "eval.json").write_text(json.dumps(evaluation, indent=1) + "\n")
    if inputs.gallery is not None:
        shutil.copyfile(inputs.gallery, work / "gallery.png")
    facts = {
        "global_step": ckpt.get("global_step"),
        "ema": {k: payload["ema"].get(k) for k in ("decay", "num_updates")},
        "num_classes": payload.get("num_classes"),
        "checkpoint": os.path.basename(redact(inputs.checkpoint)),
    }
    return config, fingerprint, evaluation, facts


def _file_entries(work: Path) -> dict:
    out = {}
    for p in sorted(work.iterdir()):
        size, sha = sha256_file(p)
        out[p.name] = {"size": size, "sha256": sha}
    return out


def publish_model(inputs: PublishInputs, registry: str, name: str) -> Published:
    """Publish ``inputs`` as the next version of ``name`` in ``registry`` (see the module docstring)."""
    registry = registry_location(registry)
    check_name(name)
    token, created = uuid.uuid4().hex, _now()
    with tempfile.TemporaryDirectory(prefix="gen3d-publish-") as tmp:
        work = Path(tmp)
        config, fingerprint, evaluation, facts = _build_files(inputs, work)
        manifest: dict = {
            "format": REGISTRY_FORMAT,
            "name": name,
            "created": created,
            "gen3d_version": _gen3d_version(),
            "headline": headline_metrics(evaluation),
            "protocol": (evaluation or {}).get("protocol"),
            "source": facts,
        }
        if inputs.tracking is not None:
            manifest["tracking"] = inputs.tracking
        version = claim_next_version(registry, name, token, created)
        manifest["version"] = version
        manifest["files"] = _file_entries(work)
        shown = redact(registry)
        (work / "README.md").write_text(
            model_card(name, version, manifest, config, fingerprint, evaluation, shown, inputs.tracking)
        )
        manifest["files"] = _file_entries(work)
        for f in sorted(manifest["files"]):
            upload_file(work / f, version_url(registry, name, version, f))
    check_claim(registry, name, version, token)
    _write_manifest(registry, name, version, manifest)
    rewrite_index(registry)
    return Published(version_url(registry, name, version), version, manifest)


def _write_manifest(registry: str, name: str, version: str, manifest: dict) -> None:
    from gen3d.storage.errors import RegistryConflictError

    url = version_url(registry, name, version, MANIFEST)
    if not create_exclusive(url, (json.dumps(manifest, indent=1) + "\n").encode()):
        raise RegistryConflictError(f"{redact(url)} already exists: versions are immutable; publish again")


def _gen3d_version() -> str:
    from gen3d import __version__

    return __version__
