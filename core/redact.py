"""Secrets never printed: credentials in URLs are masked in every line the package shows.

Users put credentials where tools let them: ``--endpoint http://user:token@mirror``, a signed
download link with ``?token=...``, a ``HF_ENDPOINT`` with a password. Any of these can reach a log
line, an error message, an option dump, or a library's own warning (huggingface_hub logs each
retry with its URL). So the command line writes everything, for the whole command, through
:func:`redacted_streams`: every line on stdout and stderr, whoever writes it, goes through
:func:`redact`, and a message written without thinking of secrets is still safe to paste into an
issue.
"""

from __future__ import annotations

import contextlib
import logging
import re
import sys
from collections.abc import Iterator
from typing import Any, TextIO

MASK = "***"
SECRET_PARAMETERS = (
    "token",
    "access_token",
    "auth",
    "key",
    "api_key",
    "apikey",
    "password",
    "secret",
    "signature",
    "sig",
    "x-amz-signature",
    "x-amz-credential",
    "x-amz-security-token",
)
"""Query parameters whose value is a credential (compared case-insensitively)."""

_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^/?#@\s]+)@")
_PARAMETER = re.compile(
    r"(?P<sep>[?&;])(?P<name>" + "|".join(re.escape(p) for p in SECRET_PARAMETERS) + r")="
    r"(?P<value>[^&#\s'\"]*)",
    re.IGNORECASE,
)


def redact(text: str) -> str:
    """``text`` with every URL's userinfo and secret query values replaced by ``***``.

    ``http://user:pw@host/x?token=abc&page=2`` becomes ``http://***@host/x?token=***&page=2``.
    Works on whole messages: anything that is not a URL is left as it is.
    """
    text = _USERINFO.sub(lambda m: f"{m['scheme']}{MASK}@", text)
    return _PARAMETER.sub(lambda m: f"{m['sep']}{m['name']}={MASK}", text)


class RedactingStream:
    """A text stream that writes through :func:`redact`; everything else goes to ``stream``."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        self.stream.write(redact(text))
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:  # flush, fileno, isatty, encoding, ...
        return getattr(self.stream, name)


@contextlib.contextmanager
def redacted_streams() -> Iterator[None]:
    """stdout and stderr through :func:`redact` for the block, log handlers already bound to
    them included (a library's handler keeps the stream it was made with)."""
    originals = sys.stdout, sys.stderr
    wrapped = {id(stream): RedactingStream(stream) for stream in originals}
    rebound = []
    for logger in [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]:
        for handler in getattr(logger, "handlers", []):
            stream = getattr(handler, "stream", None)
            # logging's last-resort handler reads sys.stderr each time: nothing to rebind
            if (
                isinstance(handler, logging.StreamHandler)
                and type(handler).__dict__.get("stream") is None
                and id(stream) in wrapped
            ):
                rebound.append((handler, stream))
                handler.setStream(wrapped[id(stream)])
    sys.stdout, sys.stderr = wrapped[id(originals[0])], wrapped[id(originals[1])]
    try:
        yield
    finally:
        sys.stdout, sys.stderr = originals
        for handler, stream in rebound:
            handler.setStream(stream)
