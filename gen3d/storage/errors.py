"""Storage errors: every failure of an object store reaches the user as one line that says what to do.

:func:`storage_errors` translates what fsspec / s3fs / botocore / aiohttp raise (``FileNotFoundError`` with
"bucket does not exist", ``PermissionError``, ``EndpointConnectionError``, ``ConnectTimeoutError``, a missing
``s3fs``/``gcsfs``) into the classes below. They derive from :class:`gen3d.errors.UserInputError` (a wrong
URL, bucket, credential or endpoint) or :class:`gen3d.errors.CheckpointError` (an object that is not what its
manifest says), so the CLI prints them as one line. Messages name the URL without credentials
(:func:`gen3d.storage.urls.redact`), never a secret.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from gen3d.errors import CheckpointError, Gen3dError, UserInputError
from gen3d.storage.urls import protocol_of, redact

__all__ = [
    "AccessDeniedError",
    "EndpointUnreachableError",
    "IntegrityError",
    "NoSuchBucketError",
    "ObjectNotFoundError",
    "RegistryConflictError",
    "StorageUnavailableError",
    "storage_errors",
]


class NoSuchBucketError(UserInputError):
    """The bucket named by a URL does not exist (or the endpoint is another store than meant)."""


class ObjectNotFoundError(UserInputError):
    """No object (file) at the URL."""


class AccessDeniedError(UserInputError):
    """The store refused the credentials or the request (HTTP 403)."""


class EndpointUnreachableError(UserInputError):
    """The endpoint did not answer within the connect/read timeout (wrong host/port, no network)."""


class StorageUnavailableError(UserInputError):
    """The protocol's fsspec implementation (s3fs, gcsfs, ...) is not installed."""


class IntegrityError(CheckpointError):
    """An object whose size or sha256 differs from what was expected: truncated, partial or replaced."""


class RegistryConflictError(Gen3dError):
    """Another publisher claimed the same model version, or a version would be overwritten."""


#: exception class names (botocore, aiohttp, fsspec, builtins) that mean "the endpoint did not answer"
_UNREACHABLE = {
    "EndpointConnectionError",
    "ConnectTimeoutError",
    "ConnectionClosedError",
    "ReadTimeoutError",
    "ClientConnectorError",
    "ServerTimeoutError",
    "TimeoutError",
    "ConnectionError",
    "FSTimeoutError",
}


def _endpoint_hint(url: str) -> str:
    if protocol_of(url) in ("s3", "s3a"):
        ep = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
        where = f"endpoint {ep}" if ep else "the default AWS endpoint"
        return f"{where}; set AWS_ENDPOINT_URL (or FSSPEC_S3_ENDPOINT_URL) for an S3-compatible store"
    return "check the URL and the network"


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def translate(e: BaseException, url: str, action: str) -> BaseException:
    """The gen3d error for exception ``e`` raised while ``action`` (``"read"``, ``"write"``, ...) ``url``;
    ``e`` itself when it is not a storage failure."""
    shown = redact(url)
    msg = _first_line(e)
    names = {c.__name__ for c in type(e).__mro__}
    if isinstance(e, Gen3dError):
        return e
    if isinstance(e, ImportError):
        return StorageUnavailableError(
            f"cannot {action} {shown}: {msg} (install the fsspec implementation of '{protocol_of(url)}://', "
            "e.g. pip install s3fs or gcsfs)"
        )
    if names & _UNREACHABLE:
        return EndpointUnreachableError(
            f"cannot {action} {shown}: endpoint unreachable ({msg}); {_endpoint_hint(url)}"
        )
    if names & {"NoCredentialsError", "PartialCredentialsError"}:
        return AccessDeniedError(
            f"cannot {action} {shown}: no credentials ({msg}); set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY "
            "or AWS_PROFILE"
        )
    if isinstance(e, FileNotFoundError) and "bucket does not exist" in msg.lower():
        bucket = shown.split("://", 1)[-1].split("/", 1)[0]
        return NoSuchBucketError(
            f"cannot {action} {shown}: no such bucket '{bucket}' at {_endpoint_hint(url)}"
        )
    if isinstance(e, FileNotFoundError):
        return ObjectNotFoundError(f"cannot {action} {shown}: no such object or file")
    if isinstance(e, PermissionError) or "AccessDenied" in msg or "InvalidAccessKeyId" in msg:
        return AccessDeniedError(
            f"cannot {action} {shown}: access denied ({msg}); check the credentials (AWS_ACCESS_KEY_ID, "
            "AWS_PROFILE) and the bucket policy"
        )
    return e


@contextlib.contextmanager
def storage_errors(url: str, action: str) -> Iterator[None]:
    """Run the block; a storage failure leaves it as one of this module's errors (chained to the cause)."""
    try:
        yield
    except Exception as e:
        new = translate(e, url, action)
        if new is e:
            raise
        raise new from e
