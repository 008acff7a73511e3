"""Secrets never printed: credentials in URLs are masked in every line the package shows.

Users put credentials where tools let them: ``--endpoint http://user:token@mirror``, a signed
download link with ``?token=...``, a ``HF_ENDPOINT`` with a password. Any of these can reach a log
line, an error message or an option dump; each goes through :func:`redact` first, and the CLI's
log handler applies it to every record, so a message written without thinking of secrets is still
safe to paste into an issue.
"""

from __future__ import annotations

import logging
import re

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


class RedactingFormatter(logging.Formatter):
    """A formatter whose every formatted record, traceback included, is :func:`redact`-ed."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))
