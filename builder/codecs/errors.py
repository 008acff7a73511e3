"""What can go wrong when a condition's codec is looked up or loaded, as user errors.

Each is a :class:`codecfake.CodecfakeError`, so the CLI prints the message alone: the messages
say what was asked for and what to do about it, because a traceback helps nobody here.
"""

from __future__ import annotations

from codecfake import CodecfakeError


class CodecError(CodecfakeError):
    """Base of every codec lookup or loading error."""


class UnknownConditionError(CodecError, KeyError):
    """A condition name that is neither a paper condition nor a registered extra one."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class CheckpointMismatchError(CodecError, ValueError):
    """A checkpoint whose architecture is not the condition's codec family (a DAC for C4)."""


class CheckpointLoadError(CodecError, OSError):
    """A checkpoint that could not be read at all: a missing path, or a Hub id while offline."""


class MissingPluginError(CodecError):
    """A family that codecfake runs only through a plugin, and no plugin is installed for it."""


class MissingPackageError(CodecError, ImportError):
    """An optional package a backend needs is not installed."""


class CodecSpecError(CodecError, ValueError):
    """A codec definition (``C8=mimi:kyutai/mimi@1.1kbps``, ``--checkpoint C4=...``) that does not parse."""
