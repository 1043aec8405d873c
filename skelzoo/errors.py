"""Every exception skelzoo raises on purpose, in one place.

All subclass built-ins so callers can catch either the skelzoo type or the built-in one.
"""
from __future__ import annotations

__all__ = [
    "SkelzooError", "FormatError", "UnknownModelError", "WeightsError", "ChecksumError",
    "OfflineError", "CheckpointError", "InputWarning",
]


class SkelzooError(Exception):
    """Base class of every skelzoo error."""


class FormatError(SkelzooError, ValueError):
    """A skeleton file is malformed. The message names the file and, where known, the line."""

    def __init__(self, message: str, *, path: object = None, line: int | None = None) -> None:
        where = ""
        if path is not None:
            where = f"{path}"
            if line is not None:
                where += f", line {line}"
            where += ": "
        super().__init__(where + message)
        self.path = path
        self.line = line


class UnknownModelError(SkelzooError, ValueError):
    """A model, architecture or tag name is not registered (the message lists close matches)."""


class WeightsError(SkelzooError, RuntimeError):
    """Weights cannot be found or loaded."""


class ChecksumError(WeightsError):
    """A downloaded or bundled file does not have the expected sha256; nothing was loaded or cached."""


class OfflineError(WeightsError, ConnectionError):
    """Weights are needed from the network, but skelzoo is offline and nothing is cached."""


class CheckpointError(SkelzooError, ValueError):
    """A checkpoint's keys or shapes do not fit the architecture, or its container is unsafe/unknown."""


class InputWarning(UserWarning):
    """An input does not look like what the model was trained on (un-normalised coordinates, another frame
    rate, all zeros, absurd scale ...): the result would be confidently wrong. The message says what to call
    instead (usually ``skelzoo.prepare(seq, model)`` or passing the recording itself)."""
