"""Atomic file writes: a reader, a resumed run or a concurrent shard never sees half a file.

Every writer in the package goes through here. The recipe: write a temporary file with a unique
name in the target's own folder (so the final rename never crosses file systems and two writers
of one target never share a temporary), flush and ``fsync`` it (so after a crash the name never
points at data that did not reach the disk), then ``os.replace`` it onto the target. The
temporary is removed on any error.

Temporary names are ``.<target name>.<random>.tmp<target suffix>``, such as
``.C1.txt.5f0c9a1e2b3d.tmp.txt``: hidden, next to their target, ending in the target's own suffix
(libraries that pick a format by extension, or append one, such as ``soundfile`` and
``numpy.save``, still work through :func:`atomic_path`), and found by :func:`temporaries`, so a
clean-up step can remove what a killed run left behind.

The folder itself is not fsynced after the rename: that would double the cost of each of a
million small files, and losing a rename in a power cut only means a resumed run makes that file
again. This module imports nothing outside the standard library and :mod:`codecfake`.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from codecfake import CodecfakeError

_TEMPORARY_NAME = re.compile(r"^\..+\.tmp(\.[^.]+)?$")  # also the older ``.<name>.tmp``

_FILE_MODE = 0o666  # the kernel applies the umask, as for any new file (mkstemp gives 0o600)
_log = logging.getLogger("codecfake")


def _new_temporary(target: Path) -> tuple[int, Path]:
    """An open descriptor on a new, empty, uniquely named temporary beside ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        temporary = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp{target.suffix}")
        try:
            return os.open(temporary, flags, _FILE_MODE), temporary
        except FileExistsError:  # 2**48 names: only a leftover of a killed run can collide
            continue


def is_temporary(name: str) -> bool:
    """Whether ``name`` is a temporary file name of this module's (or the older ``.NAME.tmp``)."""
    return _TEMPORARY_NAME.match(name) is not None


def temporaries(root: os.PathLike[str] | str) -> list[Path]:
    """Temporary files under ``root`` (all depths): what killed writers left behind."""
    return sorted(p for p in Path(root).rglob(".*") if is_temporary(p.name) and p.is_file())


class PendingFile:
    """A new file written under a temporary name beside ``target``, until :meth:`commit` (fsync,
    then rename onto ``target``) or :meth:`discard`.

    For writers whose file outlives a ``with`` block: a shard filled from a stream of clips that
    feeds several shards at once. :func:`atomic_path` is this for a block.
    """

    def __init__(self, target: os.PathLike[str] | str) -> None:
        self.target = Path(target)
        descriptor, self.path = _new_temporary(self.target)
        os.close(descriptor)

    def commit(self) -> None:
        replace_durably(self.path, self.target)

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


@contextmanager
def atomic_path(path: os.PathLike[str] | str) -> Iterator[Path]:
    """A temporary path to write ``path`` through, for libraries that want a file name.

    The temporary exists (empty) when the block starts; the library may overwrite or truncate
    it. When the block ends normally the file is fsynced and renamed onto ``path``; when it
    raises, the temporary is removed and ``path`` is left as it was.
    """
    pending = PendingFile(path)
    try:
        yield pending.path
        pending.commit()
    except BaseException:
        pending.discard()
        raise


@contextmanager
def atomic_open(
    path: os.PathLike[str] | str,
    mode: str = "wb",
    *,
    encoding: str | None = None,
    newline: str | None = None,
) -> Iterator[IO[Any]]:
    """A file handle (``mode`` ``"wb"`` or ``"w"``) whose content becomes ``path`` at the end.

    For writers that stream a large file: nothing is visible under ``path`` until the block
    ends without an error.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open writes a new file: mode 'w' or 'wb', not {mode!r}")
    if mode == "w" and encoding is None:
        encoding = "utf-8"
    target = Path(path)
    descriptor, temporary = _new_temporary(target)
    try:
        with os.fdopen(descriptor, mode, encoding=encoding, newline=newline) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: os.PathLike[str] | str, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (creating its folder); returns the path."""
    with atomic_open(path, "wb") as handle:
        handle.write(data)
    return Path(path)


def atomic_write_text(path: os.PathLike[str] | str, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically, with no newline translation; returns the path."""
    return atomic_write_bytes(path, text.encode(encoding))


def dumps_json(value: Any) -> str:
    """The package's JSON file format: 2-space indent, sorted keys, a final newline."""
    return json.dumps(value, indent=2, sort_keys=True) + "\n"


def atomic_write_json(path: os.PathLike[str] | str, value: Any) -> Path:
    """Write ``value`` as :func:`dumps_json` text, atomically; returns the path."""
    return atomic_write_text(path, dumps_json(value))


def create_exclusive(path: os.PathLike[str] | str, data: bytes) -> bool:
    """Create ``path`` holding ``data`` only if it does not exist yet; False if it already did.

    Of several processes that try at once, exactly one succeeds, and every other one then reads
    the winner's complete content: the file is written and fsynced under a temporary name, then
    hard-linked to ``path``, which fails when ``path`` exists. On a file system without hard
    links, ``path`` is created with ``O_EXCL`` and written in place instead.
    """
    target = Path(path)
    descriptor, temporary = _new_temporary(target)
    try:
        _write_synced(descriptor, data)
        try:
            os.link(temporary, target)
        except FileExistsError:
            return False
        except OSError as error:  # EPERM, ENOTSUP: no hard links here (FAT, some SMB shares)
            _log.debug("%s: no hard links (%s); creating with O_EXCL", target, error)
            return _create_in_place(target, data)
        return True
    finally:
        temporary.unlink(missing_ok=True)


def _create_in_place(target: Path, data: bytes) -> bool:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    try:
        descriptor = os.open(target, flags, _FILE_MODE)
    except FileExistsError:
        return False
    _write_synced(descriptor, data)
    return True


def _write_synced(descriptor: int, data: bytes) -> None:
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def fsync_file(path: os.PathLike[str] | str) -> None:
    """Force ``path``'s content to disk."""
    descriptor = os.open(path, os.O_RDWR | getattr(os, "O_BINARY", 0))
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def replace_durably(source: os.PathLike[str] | str, target: os.PathLike[str] | str) -> None:
    """fsync ``source``, then rename it onto ``target``: for a file that was built in place
    under a name of its own (a resumable ``.partial``) and is now finished."""
    fsync_file(source)
    os.replace(source, target)


@contextmanager
def exclusive_lock(path: os.PathLike[str] | str) -> Iterator[None]:
    """Hold an advisory lock on ``path`` (created if needed) for the block, across processes.

    For short read-compare-write sections shared by concurrent runs. The lock goes with the
    process, so a killed run never leaves it held. Where the file system has no locks (Lustre
    mounted without ``flock``, Windows), the block runs unlocked after a warning; callers keep
    their writes safe alone (:func:`create_exclusive`, atomic replaces) and treat the lock as the
    guard against lost updates only.
    """
    lock = Path(path)
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a+b") as handle:
        try:
            import fcntl

            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        except (ImportError, OSError) as error:
            _log.warning("%s: cannot lock (%s); concurrent runs are not serialised", lock, error)
        yield  # closing the file releases the lock


class LockHeldError(CodecfakeError):
    """Another run holds the lock of the folder this one would write."""


@contextmanager
def run_lock(path: os.PathLike[str] | str, what: str) -> Iterator[None]:
    """Hold ``path`` as the one-writer lock of ``what`` (a folder the user named), or refuse now.

    Unlike :func:`exclusive_lock`, which waits, a second run is refused at once with the holder's
    pid: two ``prepare`` runs on one folder would otherwise both do hours of work and then
    collide. The lock goes with the process, so a killed run never leaves it held; the file is
    removed on the way out. Where the file system has no locks, the run goes ahead after a
    warning.
    """
    lock = Path(path)
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks of this kind
        _log.warning("%s: cannot lock here; do not run two commands on it at once", what)
        yield
        return
    while True:
        try:
            lock.parent.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(lock, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o666)
        except OSError as error:  # a read-only or foreign folder: say so of the user's path
            raise CodecfakeError(
                f"{what}: cannot write here ({error.strerror}); choose a folder you can write"
            ) from error
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(descriptor, 64).decode(errors="replace").strip() or "unknown"
            os.close(descriptor)
            raise LockHeldError(
                f"{what}: another codecfake run (pid {holder}) is writing it; wait for that run "
                f"to end or stop it, then rerun (lock file {lock})"
            ) from None
        except OSError as error:  # no flock on this file system (some network mounts)
            os.close(descriptor)
            _log.warning("%s: cannot lock (%s); do not run two commands on it at once", what, error)
            yield
            return
        try:  # the holder before us may have removed the file between our open and flock
            if os.stat(lock).st_ino == os.fstat(descriptor).st_ino:
                break
        except FileNotFoundError:
            pass
        os.close(descriptor)
    try:
        os.ftruncate(descriptor, 0)
        os.write(descriptor, f"{os.getpid()}\n".encode())
        yield
    finally:
        lock.unlink(missing_ok=True)
        os.close(descriptor)  # releases the lock
