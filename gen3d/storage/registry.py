"""The model registry: a folder or bucket prefix of immutable, checksummed model versions.

Layout under a registry location ``R`` (a plain path or any fsspec URL: ``s3://bucket/models``, ...)::

    R/index.json                         every model and its complete versions (rewritten after a publish)
    R/<name>/v<k>/claim.json             the publisher that owns version k (created exclusively, first)
    R/<name>/v<k>/model.safetensors      EMA weights of the denoiser
    R/<name>/v<k>/config.json            the resolved config (enough to rebuild the network)
    R/<name>/v<k>/fingerprint.json       the data fingerprint (:mod:`gen3d.storage.fingerprint`)
    R/<name>/v<k>/eval.json              the evaluation record of ``gen3d evaluate`` (optional)
    R/<name>/v<k>/gallery.png            a gallery picture (optional)
    R/<name>/v<k>/README.md              the model card (:mod:`gen3d.storage.model_card`)
    R/<name>/v<k>/manifest.json          size and sha256 of every file above; written last

Rules. **A version exists only once its manifest is complete**: ``manifest.json`` parses, names the version
and model, and lists every required file (:data:`REQUIRED_FILES`) with a size and a sha256; a folder without
one (a publish that died half-way) is not a version and is never listed or loaded. **Versions are never
overwritten or reused**: a publisher takes the next number above every *claimed* one by creating
``claim.json`` exclusively (:func:`gen3d.storage.transfer.create_exclusive`: a conditional PUT on S3), reads
the claim back and checks its own random token (which detects stores that ignore the condition), checks it
again before writing the manifest, and writes the manifest exclusively too; a conflict raises
:class:`~gen3d.storage.errors.RegistryConflictError`. ``index.json`` is a view rebuilt from the manifests; the
manifests are the truth, and ``gen3d models`` reads them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from gen3d.errors import UserInputError
from gen3d.storage.errors import RegistryConflictError
from gen3d.storage.transfer import create_exclusive, exists, list_names, read_bytes, write_bytes
from gen3d.storage.urls import is_url, join_url, redact

__all__ = [
    "MANIFEST",
    "REGISTRY_FORMAT",
    "REQUIRED_FILES",
    "ModelRef",
    "claim_next_version",
    "complete_versions",
    "headline",
    "model_names",
    "parse_model_ref",
    "read_manifest",
    "resolve",
    "rewrite_index",
    "version_url",
]

REGISTRY_FORMAT = 1
MANIFEST = "manifest.json"
CLAIM = "claim.json"
INDEX = "index.json"
#: files every version holds (eval.json and gallery.png are optional)
REQUIRED_FILES = ("model.safetensors", "config.json", "fingerprint.json", "README.md")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_VERSION = re.compile(r"^v([1-9][0-9]{0,8})$")
_SHA = re.compile(r"^[0-9a-f]{64}$")


def check_name(name: str) -> str:
    """``name`` if it is a valid model name (lower-case letters, digits, ``-`` and ``_``, at most 64)."""
    if not _NAME.match(name):
        raise UserInputError(
            f"model name {name!r}: use 1-64 lower-case letters, digits, '-' or '_', starting with a letter "
            "or digit (e.g. chair-edm)"
        )
    return name


@dataclass(frozen=True)
class ModelRef:
    """``<registry>/<name>`` (latest version) or ``<registry>/<name>@v<k>``."""

    registry: str
    name: str
    version: str | None = None

    def __str__(self) -> str:
        return join_url(self.registry, self.name) + (f"@{self.version}" if self.version else "")


def parse_model_ref(ref: str) -> ModelRef:
    """Split ``s3://bucket/models/chair-edm@v2`` into registry, name and version (None: latest)."""
    head, sep, last = ref.rstrip("/").rpartition("/")
    if not sep or not head or head.endswith(":/") or head.endswith(":"):
        raise UserInputError(
            f"--model {redact(ref)}: expected <registry>/<name> or <registry>/<name>@v<k> "
            "(e.g. s3://bucket/models/chair-edm@v2)"
        )
    name, at, version = last.partition("@")
    check_name(name)
    if at and not _VERSION.match(version):
        raise UserInputError(f"--model {redact(ref)}: version {version!r} is not v1, v2, ...")
    return ModelRef(head, name, version or None)


def version_url(registry: str, name: str, version: str, file: str | None = None) -> str:
    """The location of a version folder (or of one of its files)."""
    parts = [name, version] + ([file] if file else [])
    return join_url(registry, *parts)


def model_names(registry: str) -> list[str]:
    """Names of the models under ``registry`` (folders with a valid model name)."""
    return [n for n in list_names(registry) if _NAME.match(n)]


def claimed_numbers(registry: str, name: str) -> list[int]:
    """Every version number that has a folder (claimed, complete or not), ascending."""
    out = []
    for entry in list_names(join_url(registry, name)):
        m = _VERSION.match(entry)
        if m:
            out.append(int(m.group(1)))
    return sorted(out)


def _valid_manifest(m: object, name: str, version: str) -> bool:
    if not isinstance(m, dict) or m.get("format") != REGISTRY_FORMAT:
        return False
    if m.get("name") != name or m.get("version") != version or not isinstance(m.get("files"), dict):
        return False
    files = m["files"]
    if any(f not in files for f in REQUIRED_FILES):
        return False
    for entry in files.values():
        if not isinstance(entry, dict) or not isinstance(entry.get("size"), int):
            return False
        if not isinstance(entry.get("sha256"), str) or not _SHA.match(entry["sha256"]):
            return False
    return True


def read_manifest(registry: str, name: str, version: str) -> dict | None:
    """The complete manifest of ``name``/``version``, or None when the version is incomplete or absent."""
    url = version_url(registry, name, version, MANIFEST)
    if not exists(url):
        return None
    try:
        m = json.loads(read_bytes(url))
    except ValueError:
        return None
    return m if _valid_manifest(m, name, version) else None


def complete_versions(registry: str, name: str) -> list[tuple[str, dict]]:
    """``[(version, manifest)]`` of the complete versions of ``name``, oldest first."""
    out = []
    for k in claimed_numbers(registry, name):
        m = read_manifest(registry, name, f"v{k}")
        if m is not None:
            out.append((f"v{k}", m))
    return out


def resolve(ref: ModelRef) -> tuple[str, dict]:
    """``(version, manifest)`` that ``ref`` names: its version, or the newest complete one."""
    if ref.version:
        m = read_manifest(ref.registry, ref.name, ref.version)
        if m is None:
            have = [v for v, _ in complete_versions(ref.registry, ref.name)]
            raise UserInputError(
                f"{redact(str(ref))}: no complete version {ref.version} of {ref.name!r} (complete versions: "
                f"{', '.join(have) or 'none'})"
            )
        return ref.version, m
    versions = complete_versions(ref.registry, ref.name)
    if not versions:
        known = model_names(ref.registry)
        raise UserInputError(
            f"{redact(str(ref))}: model {ref.name!r} has no complete version in {redact(ref.registry)} "
            f"(models there: {', '.join(known) or 'none'})"
        )
    return versions[-1]


def claim_next_version(registry: str, name: str, token: str, created: str, attempts: int = 20) -> str:
    """Claim the next free version of ``name`` for the publisher ``token``; returns ``"v<k>"``.

    Takes ``1 + max(claimed)`` and creates its ``claim.json`` exclusively; when another publisher got there
    first, moves on to the next number. A claim that reads back with another token raises
    :class:`RegistryConflictError` (a store without exclusive creates and two publishers at once).
    """
    k = max(claimed_numbers(registry, name), default=0) + 1
    body = json.dumps({"token": token, "created": created}).encode()
    for _ in range(attempts):
        url = version_url(registry, name, f"v{k}", CLAIM)
        if create_exclusive(url, body):
            check_claim(registry, name, f"v{k}", token)
            return f"v{k}"
        k += 1
    raise RegistryConflictError(
        f"{redact(registry)}: could not claim a version of {name!r} in {attempts} tries"
    )


def check_claim(registry: str, name: str, version: str, token: str) -> None:
    """Raise :class:`RegistryConflictError` unless ``version``'s claim holds ``token``."""
    url = version_url(registry, name, version, CLAIM)
    try:
        held = json.loads(read_bytes(url)).get("token")
    except ValueError:
        held = None
    if held != token:
        raise RegistryConflictError(
            f"{redact(url)}: another publisher claimed {name} {version} at the same time (this store does "
            "not enforce exclusive creates); nothing of this publish is listed: publish again"
        )


def headline(manifest: dict) -> dict:
    """The headline metrics a manifest carries (``{"1nna_cd": 0.61, ...}``; {} without an evaluation)."""
    return dict(manifest.get("headline") or {})


def rewrite_index(registry: str) -> dict:
    """Rebuild ``index.json`` from the manifests and write it (atomically); returns it."""
    models = {}
    for name in model_names(registry):
        versions = complete_versions(registry, name)
        if versions:
            models[name] = {
                "latest": versions[-1][0],
                "versions": [
                    {"version": v, "created": m.get("created"), "headline": headline(m)} for v, m in versions
                ],
            }
    index = {"format": REGISTRY_FORMAT, "models": models}
    write_bytes(join_url(registry, INDEX), (json.dumps(index, indent=1) + "\n").encode())
    return index


def registry_location(location: str) -> str:
    """``location`` as given, refusing Path-mangled URLs (``s3:/bucket``) early."""
    if not is_url(location) and re.match(r"^[A-Za-z][A-Za-z0-9+.\-]*:/[^/]", location):
        raise UserInputError(f"{location!r} looks like a URL missing a '/' (write s3://bucket/prefix)")
    return location
