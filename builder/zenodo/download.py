"""Fetch the Codecfake release from Zenodo into a folder: resumable, verified, several at once.

Each file grows under ``.<name>.partial`` and is renamed to its own name only once its md5
(computed while the bytes stream in; on a resume the prefix already on disk is hashed first)
matches what Zenodo lists, so a file under its final name is always complete and verified. A
dropped connection resumes with ``Range: bytes=<what is on disk>-``, never from byte 0; a file
whose md5 does not match is deleted and fetched once more, and a second mismatch stops the run.
Several files download at once (threads: the work is waiting on sockets, and hashing and writing
release the GIL), under one progress bar for the whole download.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import os
import random
import threading
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from codecfake_core.io import replace_durably
from codecfake_core.redact import redact
from codecfake_core.units import format_size

from .plan import COMPLETE, Plan, partial_path, prepare_dest, survey
from .records import RemoteFile, list_release, select
from .session import (
    DEFAULT_ENDPOINT,
    ENDPOINT_VARIABLE,
    Interrupted,
    RetryPolicy,
    Transient,
    ZenodoError,
    check_status,
    new_client,
    transport_failure,
    with_retries,
)
from .stamps import Stamps, md5_of

if TYPE_CHECKING:
    import httpx2

FETCHES_PER_FILE = 2
"""A file whose md5 does not match is deleted and fetched again, once."""
HASH_BATCH = 1 << 20
"""Bytes handed to the hashing thread at a time (:class:`_Hasher`): sixteen 64 KiB reads."""

_log = logging.getLogger("codecfake")


@dataclass(frozen=True)
class Summary:
    """What a run did: the files it fetched, those already complete, bytes and time."""

    fetched: tuple[RemoteFile, ...]
    complete: tuple[RemoteFile, ...]
    received: int
    seconds: float


@dataclass(frozen=True)
class Result:
    """The plan (always) and, unless it was a dry run, what the download did."""

    plan: Plan
    summary: Summary | None


class _Mismatch(Exception):
    """The bytes received are not the file Zenodo lists (md5, or more/fewer bytes)."""


class _Transfer:
    """One file's fetch: its partial file, the md5 of the bytes so far, and the offset."""

    def __init__(self, remote: RemoteFile, partial: Path, progress: _Progress):
        self.remote = remote
        self.partial = partial
        self.progress = progress
        self.received = 0
        self.digest: hashlib._Hash
        self.offset = 0
        self.start_over()

    def start_over(self, keep: bool = True) -> None:
        """Hash what the partial file holds (when ``keep`` and it is not too long) and go on
        from its end; otherwise truncate it and go on from byte 0 (the bar then expects again
        the bytes it had counted)."""
        size = self.partial.stat().st_size if self.partial.is_file() else 0
        if keep and 0 < size <= self.remote.size:
            self.digest = md5_of(self.partial, size)
            self.offset = size
            _log.info("%s: resuming at %s", self.remote.name, format_size(size))
            return
        with open(self.partial, "wb"):
            pass
        self.progress.add_total(self.offset)
        self.digest = hashlib.md5(usedforsecurity=False)
        self.offset = 0

    def attempt(self, client: httpx2.Client, stop: threading.Event) -> None:
        """One GET from ``offset`` to the end; the bytes go to the partial file and the md5."""
        import httpx2

        if self.offset == self.remote.size:  # all there already (stopped before the rename)
            return
        url = self.remote.url
        headers = {"Range": f"bytes={self.offset}-"} if self.offset else {}
        begun = self.offset
        try:
            with client.stream("GET", url, headers=headers) as response:
                if response.status_code == 416:
                    raise _Mismatch("the server holds fewer bytes than Zenodo lists")
                check_status(response, url, self.remote.name)
                if self.offset and not _resumes_at(response, self.offset):
                    _log.warning("%s: the server ignored the range; starting over", redact(url))
                    self.start_over(keep=False)
                    begun = 0
                self._write(response.iter_raw(), stop)
        except httpx2.TransportError as error:
            failure = transport_failure(error, url)
            if self.offset > begun:  # the next attempt asks for the rest only
                where = f"{format_size(self.offset)} of {format_size(self.remote.size)}"
                failure = Transient(f"cut at {where} ({failure.reason})", progressed=True)
            raise failure from None
        if self.offset < self.remote.size:
            raise Transient(
                f"the transfer ended at {self.offset} of {self.remote.size} bytes",
                progressed=self.offset > begun,
            )

    def _write(self, blocks: Iterable[bytes], stop: threading.Event) -> None:
        try:
            with open(self.partial, "ab") as out, _Hasher(self.digest) as hasher:
                for block in blocks:
                    if stop.is_set():
                        raise Interrupted
                    if self.offset + len(block) > self.remote.size:
                        raise _Mismatch("the server sent more bytes than Zenodo lists")
                    out.write(block)
                    hasher.update(block)
                    self.offset += len(block)
                    self.received += len(block)
                    self.progress.update(len(block))
        except OSError as error:  # a rerun resumes from what reached the disk
            raise _write_error(self.partial, error, self.remote.size - self.offset) from None


class _Hasher:
    """Feeds an md5 from a thread of its own, beside the thread that receives and writes.

    md5 runs at about 750 MB/s a core, about what receiving and writing the same bytes cost
    together, and ``hashlib`` releases the GIL while it hashes: side by side the two take half
    the time they take one after the other, wherever a core is free. Blocks go over in batches
    of :data:`HASH_BATCH` bytes, one batch hashed while the next fills, so the hand-over costs
    little and at most two batches are held. On leaving (error or not), every block given has
    been hashed: the md5 always covers exactly the bytes written.
    """

    def __init__(self, digest: hashlib._Hash):
        self.digest = digest
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="codecfake-md5")
        self._hashing: Future[None] | None = None
        self._batch: list[bytes] = []
        self._size = 0

    def __enter__(self) -> _Hasher:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._hand_over()
            if self._hashing is not None:
                self._hashing.result()
        finally:
            self._pool.shutdown()

    def update(self, block: bytes) -> None:
        self._batch.append(block)
        self._size += len(block)
        if self._size >= HASH_BATCH:
            self._hand_over()

    def _hand_over(self) -> None:
        if self._hashing is not None:
            self._hashing.result()
        batch, self._batch, self._size = self._batch, [], 0
        self._hashing = self._pool.submit(self._hash, batch) if batch else None

    def _hash(self, batch: list[bytes]) -> None:
        for block in batch:
            self.digest.update(block)


def _resumes_at(response: httpx2.Response, offset: int) -> bool:
    """Whether a ranged answer starts where we asked (206 with ``Content-Range: bytes N-``)."""
    content_range = response.headers.get("Content-Range", "")
    return response.status_code == 206 and content_range.startswith(f"bytes {offset}-")


def _write_error(partial: Path, error: OSError, left: int) -> ZenodoError:
    if error.errno == errno.ENOSPC:
        return ZenodoError(
            f"{partial}: the disk is full ({format_size(left)} of this file still to come); "
            "free some space and rerun: the download resumes where it stopped"
        )
    return ZenodoError(f"{partial}: cannot write ({error.strerror or error}); check DEST and rerun")


class _Downloader:
    """Fetches files into ``dest`` with a shared client, retry policy and stop signal."""

    def __init__(
        self,
        dest: Path,
        client: httpx2.Client,
        policy: RetryPolicy,
        stop: threading.Event,
        stamps: Stamps,
        progress: _Progress,
    ):
        self.dest = dest
        self.client = client
        self.policy = policy
        self.stop = stop
        self.stamps = stamps
        self.progress = progress
        self.rng = random.Random()

    def fetch(self, remote: RemoteFile) -> int:
        """Fetch and verify one file; the bytes received (retries and refetches included)."""
        transfer = _Transfer(remote, partial_path(self.dest, remote.name), self.progress)
        for fetch in range(1, FETCHES_PER_FILE + 1):
            try:
                with_retries(
                    lambda: transfer.attempt(self.client, self.stop),
                    remote.url,
                    self.policy,
                    self.stop,
                    self.rng,
                )
                got = transfer.digest.hexdigest()
                reason = f"md5 {got}, Zenodo lists {remote.md5}"
            except _Mismatch as mismatch:
                got, reason = "", str(mismatch)
            if got == remote.md5:
                final = self.dest / remote.name
                replace_durably(transfer.partial, final)
                self.stamps.record(final, remote.md5)
                _log.info("%s: verified (%s)", remote.name, format_size(remote.size))
                return transfer.received
            if fetch == FETCHES_PER_FILE:
                transfer.partial.unlink(missing_ok=True)
                break
            _log.warning("%s: %s; deleting it and fetching it again", remote.name, reason)
            transfer.start_over(keep=False)
        raise ZenodoError(
            redact(
                f"{remote.url}: {remote.name} is still not the file Zenodo lists after "
                f"{FETCHES_PER_FILE} downloads ({reason}); rerun later, or report it to the "
                "dataset's authors"
            )
        )

    def fetch_all(self, files: Sequence[RemoteFile], jobs: int) -> int:
        """Fetch ``files``, ``jobs`` at a time; the first error (or Ctrl-C) stops the others,
        leaving their partial files to resume from."""
        with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="codecfake-download") as pool:
            futures = [pool.submit(self.fetch, remote) for remote in files]
            try:
                return sum(future.result() for future in as_completed(futures))
            except BaseException:
                self.stop.set()
                for future in futures:
                    future.cancel()
                raise


class _Progress:
    """One bar for the whole download, fed by every worker thread. While it shows, the
    package's log lines are written above it instead of through it."""

    def __init__(self, total: int, progress: bool):
        from tqdm.auto import tqdm
        from tqdm.contrib.logging import logging_redirect_tqdm

        self._lock = threading.Lock()
        self._bar = tqdm(
            total=total,
            desc="downloading",
            unit="B",
            unit_scale=True,
            unit_divisor=1000,
            mininterval=0.5,
            disable=not progress,
        )
        self._redirect = logging_redirect_tqdm([_log]) if progress else contextlib.nullcontext()

    def __enter__(self) -> _Progress:
        self._redirect.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.close()
        self._redirect.__exit__(None, None, None)

    def update(self, size: int) -> None:
        with self._lock:
            self._bar.update(size)

    def add_total(self, size: int) -> None:
        with self._lock:
            self._bar.total += size
            self._bar.refresh()


def resolve_endpoint(endpoint: str | None) -> str:
    """``--endpoint``, else ``CODECFAKE_ZENODO_ENDPOINT``, else Zenodo itself; checked to be
    an http(s) URL with a host (and a valid port), so a typo fails at once, not after retries."""
    chosen = endpoint or os.environ.get(ENDPOINT_VARIABLE) or DEFAULT_ENDPOINT
    parts = urlsplit(chosen)
    try:
        _ = parts.port  # a port out of range or not a number raises
        valid = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        valid = False
    if not valid or any(c.isspace() for c in chosen):
        raise ZenodoError(
            redact(
                f"{chosen}: not an http(s) URL with a host; give --endpoint (or "
                f"{ENDPOINT_VARIABLE}) as https://host[:port]"
            )
        )
    return chosen.rstrip("/")


def download_release(
    dest: os.PathLike[str] | str,
    parts: Iterable[str] | None = None,
    *,
    endpoint: str | None = None,
    jobs: int = 4,
    dry_run: bool = False,
    progress: bool = False,
    policy: RetryPolicy | None = None,
) -> Result:
    """Download the release's files (of ``parts``, all when ``None``) into ``dest``.

    Files already complete and verified are not fetched again; partial ones resume. Before any
    file is requested, the free space in ``dest`` is checked against what is left to fetch.
    ``dry_run`` stops after that plan. Raises :class:`ZenodoError` with one line naming the
    URL or file and the remedy.
    """
    folder = Path(dest)
    root = resolve_endpoint(endpoint)
    policy = policy or RetryPolicy()
    if not dry_run:
        prepare_dest(folder)
    stop = threading.Event()
    stamps = Stamps(folder)
    with new_client(connections=max(jobs, 1)) as client:
        listed = list_release(client, root, policy, stop, random.Random())
        plan = survey(folder, select(listed, parts), stamps, verify=not dry_run)
        if dry_run:
            return Result(plan, None)
        plan.check()
        todo = [state.remote for state in plan.to_fetch]
        _log.info(
            "%d file(s) to fetch (%s), %d already complete",
            len(todo),
            format_size(plan.remaining),
            len(plan.having(COMPLETE)),
        )
        started = time.monotonic()
        with _Progress(plan.remaining, progress) as bar:
            received = _Downloader(folder, client, policy, stop, stamps, bar).fetch_all(todo, jobs)
    complete = tuple(state.remote for state in plan.having(COMPLETE))
    summary = Summary(tuple(todo), complete, received, time.monotonic() - started)
    return Result(plan, summary)
