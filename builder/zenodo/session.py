"""The HTTP side of talking to Zenodo: one client, one retry policy, one error type.

Zenodo drops long transfers, answers 429 when a client asks too often and 5xx when it is busy,
so every request goes through :func:`with_retries`: a transient failure (a dropped or refused
connection, a timeout, 429, 5xx) is retried with exponential back-off and jitter, bounded by a
number of *consecutive* failures, and a ``Retry-After`` header (seconds or an HTTP date) is
honoured as the server gives it. A failure after progress (bytes arrived before the drop) starts
the count again: a 10 GB file on a line that drops every few minutes still finishes.

The client is ``httpx2``, the HTTP library huggingface_hub 2.x already brings (so ``download``
adds no dependency): it streams, times out, keeps connections alive, follows Zenodo's redirects
to its storage and drops credentials on a redirect to another host. It has no resume and no
retries of its own, which is why both live here: ``pooch`` and ``zenodo_get`` restart a dropped
file from byte 0 (and the latter is AGPL), which on a 5 GB volume and a flaky line never ends.
"""

from __future__ import annotations

import email.utils
import logging
import random
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from codecfake import CodecfakeError
from codecfake_core.redact import redact

if TYPE_CHECKING:
    import httpx2

DEFAULT_ENDPOINT = "https://zenodo.org"
ENDPOINT_VARIABLE = "CODECFAKE_ZENODO_ENDPOINT"
RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
"""Answers that mean "not now": retried. Any other 4xx/5xx is final."""

_log = logging.getLogger("codecfake")
T = TypeVar("T")


class ZenodoError(CodecfakeError):
    """The download cannot go on: the message names the URL or file and what to do."""


class Interrupted(Exception):
    """The run was asked to stop (Ctrl-C in the main thread) while this worker waited or read."""


class Transient(Exception):
    """One attempt failed in a way a later attempt may not: retried by :func:`with_retries`.

    ``retry_after`` is what the server asked for (seconds), ``progressed`` whether the attempt
    got any bytes before it failed (which resets the count of consecutive failures).
    """

    def __init__(self, reason: str, retry_after: float | None = None, progressed: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.progressed = progressed


@dataclass(frozen=True)
class RetryPolicy:
    """How long to keep trying. ``attempts`` consecutive failures end the run; before the n-th
    retry it waits ``base_delay * 2**(n-1)`` (at most ``max_delay``), drawn between half and all
    of that ("equal jitter", so parallel downloads do not retry in lockstep), or exactly what
    ``Retry-After`` asks, up to ``max_retry_after``."""

    attempts: int = 8
    base_delay: float = 1.0
    max_delay: float = 60.0
    max_retry_after: float = 600.0

    def delay(self, failures: int, retry_after: float | None, rng: random.Random) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        backoff = min(self.max_delay, self.base_delay * 2 ** (failures - 1))
        return backoff * (0.5 + rng.random() / 2)


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """A ``Retry-After`` header as seconds from ``now``: ``"120"`` or an HTTP date
    (``"Wed, 21 Oct 2015 07:28:00 GMT"``); ``None`` when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # an HTTP date is GMT by definition
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def new_client(timeout: float = 30.0, connections: int = 8) -> httpx2.Client:
    """The client every request goes through: redirects followed, bytes as stored (no
    ``Accept-Encoding``, so a ``Range`` counts the file's own bytes), a timeout on every read so
    a stalled transfer is noticed and resumed."""
    import httpx2

    import codecfake

    return httpx2.Client(
        follow_redirects=True,
        timeout=httpx2.Timeout(timeout, connect=min(timeout, 30.0)),
        limits=httpx2.Limits(max_connections=connections, max_keepalive_connections=connections),
        headers={"User-Agent": f"codecfake/{codecfake.__version__}", "Accept-Encoding": "identity"},
    )


def with_retries(
    attempt: Callable[[], T],
    url: str,
    policy: RetryPolicy,
    stop: threading.Event,
    rng: random.Random,
) -> T:
    """``attempt()`` until it returns, retrying :class:`Transient` failures under ``policy``.

    Waits are cut short by ``stop`` (then :class:`Interrupted`). When the failures run out the
    run stops with one line naming ``url`` (redacted) and the last reason.
    """
    failures = 0
    while True:
        try:
            return attempt()
        except Transient as error:
            failures = 1 if error.progressed else failures + 1
            if failures >= policy.attempts:
                raise ZenodoError(
                    redact(
                        f"{url}: {error.reason}, {failures} times in a row; check the network "
                        "(or --endpoint) and rerun: finished files are kept, partial ones resume"
                    )
                ) from None
            wait = policy.delay(failures, error.retry_after, rng)
            _log.info("%s", redact(f"{url}: {error.reason}; retrying in {wait:.1f} s"))
            if stop.wait(wait):
                raise Interrupted from None


def check_status(response: httpx2.Response, url: str, what: str) -> None:
    """Raise for an answer that is not 2xx: :class:`Transient` for 429/5xx (with the server's
    ``Retry-After``), :class:`ZenodoError` naming ``url`` for the rest (``what`` says what was
    asked for: "record 13838106", "train_split.z01")."""
    status = response.status_code
    if status < 300:
        return
    if status in RETRYABLE_STATUSES:
        raise Transient(
            f"HTTP {status}", retry_after=retry_after_seconds(response.headers.get("Retry-After"))
        )
    if status in (404, 410):
        remedy = "it is gone from the server; check --endpoint, or whether the release moved"
    elif status in (401, 403):
        remedy = "access refused; check the credentials in --endpoint, if it needs any"
    else:
        remedy = "the server refused the request; rerun later, or report it if it persists"
    raise ZenodoError(f"{redact(url)}: HTTP {status} for {what}: {remedy}")


def transport_failure(error: Exception, url: str) -> Transient:
    """An ``httpx2`` transport error (refused, reset, timed out, cut mid-body) as a retry;
    raises :class:`ZenodoError` instead for what no retry mends: a host name that does not
    exist, a URL that is not http(s)."""
    import httpx2

    reason = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    if isinstance(error, httpx2.UnsupportedProtocol) or _unknown_host(error):
        raise ZenodoError(redact(f"{url}: {reason}; check --endpoint (and the network)"))
    return Transient(reason)


def _unknown_host(error: BaseException) -> bool:
    """Whether the resolver said the host does not exist (not "try again later")."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, socket.gaierror) and seen.errno == socket.EAI_NONAME:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def get_json(
    client: httpx2.Client,
    url: str,
    what: str,
    policy: RetryPolicy,
    stop: threading.Event,
    rng: random.Random,
) -> object:
    """GET ``url`` as JSON, with retries; ``what`` names it in errors ("record 13838106")."""
    import httpx2

    def attempt() -> object:
        try:
            response = client.get(url, headers={"Accept": "application/json"})
        except httpx2.TransportError as error:
            raise transport_failure(error, url) from None
        check_status(response, url, what)
        try:
            return response.json()
        except ValueError:
            raise ZenodoError(
                redact(f"{url}: the answer for {what} is not JSON; is --endpoint a Zenodo server?")
            ) from None

    return with_retries(attempt, url, policy, stop, rng)
