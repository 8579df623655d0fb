"""Exception types shared across gen3d.

Library code raises these (or plain ``ValueError``/``TypeError`` for programming errors); the CLI prints
them as one line that tells the user what to do.
"""

from __future__ import annotations


class Gen3dError(Exception):
    """Base class of gen3d's own errors."""


class UserInputError(Gen3dError, ValueError):
    """Bad user input: a wrong path, layout, config key or file. The message says what was expected."""


class CheckpointError(Gen3dError):
    """A checkpoint or sample file that is truncated, corrupt or not a gen3d file."""
