"""What is already in DEST, what is left to fetch, and whether it fits: decided before any file
is requested, so a run that cannot finish refuses at once instead of after 100 GB.

Each file of the release is in one of these states: ``complete`` (its final name holds a file
whose md5 matched Zenodo's: stamped, or hashed again now), ``partial`` (``.<name>.partial`` holds
a prefix to resume from), ``missing``, or ``differs`` (a file under the final name that does not
match Zenodo's md5: not ours to delete, so the user decides). A dry run hashes nothing and writes
nothing: a file of the right size without a valid stamp is ``unverified`` there (the real run
hashes it).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from codecfake_core.units import format_size

from .records import RemoteFile
from .session import ZenodoError
from .stamps import Stamps, md5_of

DISK_MARGIN = 100_000_000
"""Bytes kept free beyond what the files need: the stamp file, file-system overhead."""

COMPLETE, PARTIAL, MISSING, DIFFERS = "complete", "partial", "missing", "differs"
UNVERIFIED = "unverified"
_log = logging.getLogger("codecfake")


def partial_path(dest: Path, name: str) -> Path:
    """Where ``name`` grows until it is verified: hidden, beside its final name."""
    return dest / f".{name}.partial"


@dataclass(frozen=True)
class FileState:
    """One release file and what DEST holds of it; ``have`` is the bytes that count."""

    remote: RemoteFile
    status: str
    have: int

    @property
    def remaining(self) -> int:
        return 0 if self.status in (COMPLETE, DIFFERS, UNVERIFIED) else self.remote.size - self.have


@dataclass(frozen=True)
class Plan:
    """The release files asked for, their states in ``dest``, and the free space there."""

    dest: Path
    files: tuple[FileState, ...]
    free: int

    def having(self, *statuses: str) -> list[FileState]:
        return [f for f in self.files if f.status in statuses]

    @property
    def to_fetch(self) -> list[FileState]:
        return self.having(PARTIAL, MISSING)

    @property
    def remaining(self) -> int:
        return sum(f.remaining for f in self.files)

    @property
    def needed(self) -> int:
        """Free space the rest of the download needs: what is left, plus a margin."""
        return self.remaining + DISK_MARGIN if self.remaining else 0

    def check(self) -> None:
        """Refuse to start when a file in DEST contradicts Zenodo or the rest cannot fit."""
        differs = self.having(DIFFERS)
        if differs:
            others = f" (and {len(differs) - 1} more)" if len(differs) > 1 else ""
            raise ZenodoError(
                f"{self.dest / differs[0].remote.name}{others}: not the file Zenodo lists (its "
                "size or md5 differs); move or delete it, then rerun"
            )
        if self.needed > self.free:
            raise ZenodoError(
                f"{self.dest}: not enough free space: {format_size(self.needed)} needed "
                f"({format_size(self.remaining)} to fetch + a margin), {format_size(self.free)} "
                "free; free some space or choose another DEST"
            )

    def describe(self) -> Iterator[str]:
        """The plan for a person: one line per file, then the totals and the disk."""
        width = max((len(format_size(f.remote.size)) for f in self.files), default=0)
        for f in self.files:
            state = f.status
            if f.status == PARTIAL:
                state = f"partial, {format_size(f.have)} there"
            yield f"  {f.remote.part:<6} {format_size(f.remote.size):>{width}}  {f.remote.name}  ({state})"
        complete, unverified = self.having(COMPLETE), self.having(UNVERIFIED)
        yield (
            f"{len(self.to_fetch)} file(s) to fetch ({format_size(self.remaining)}), "
            f"{len(complete)} already complete ({format_size(sum(f.remote.size for f in complete))})"
            + (f", {len(unverified)} there but not verified yet" if unverified else "")
        )
        short = (
            "; not enough: free some space or choose another DEST"
            if self.needed > self.free
            else ""
        )
        yield f"disk: {format_size(self.needed)} needed, {format_size(self.free)} free in {self.dest}{short}"


def prepare_dest(dest: Path) -> None:
    """Create DEST if needed and make sure files can be written there."""
    if dest.exists() and not dest.is_dir():
        raise ZenodoError(f"{dest}: exists and is not a folder; choose a folder for DEST")
    try:
        dest.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=dest).close()
    except OSError as error:
        raise ZenodoError(
            f"{dest}: cannot write there ({error.strerror or error}); choose another DEST or "
            "fix its permissions"
        ) from None


def survey(dest: Path, files: list[RemoteFile], stamps: Stamps, verify: bool = True) -> Plan:
    """The state of each of ``files`` in ``dest``; with ``verify``, files without a valid stamp
    are hashed (and stamped when they match). ``dest`` need not exist yet (a dry run creates
    nothing): its free space is then that of the folder it would be created in."""
    states = tuple(_state(dest, remote, stamps, verify) for remote in files)
    existing = next(p for p in (dest.absolute(), *dest.absolute().parents) if p.is_dir())
    return Plan(dest, states, shutil.disk_usage(existing).free)


def _state(dest: Path, remote: RemoteFile, stamps: Stamps, verify: bool) -> FileState:
    final = dest / remote.name
    if os.path.lexists(final):
        if final.is_file() and stamps.matches(final, remote.md5):
            return FileState(remote, COMPLETE, remote.size)
        if final.is_file() and final.stat().st_size == remote.size:
            if not verify:
                return FileState(remote, UNVERIFIED, remote.size)
            _log.info("%s: checking the md5 of the file already there", final)
            if md5_of(final).hexdigest() == remote.md5:
                stamps.record(final, remote.md5)
                return FileState(remote, COMPLETE, remote.size)
        return FileState(remote, DIFFERS, 0)
    partial = partial_path(dest, remote.name)
    if partial.is_file():
        have = partial.stat().st_size
        return FileState(remote, PARTIAL, have if have <= remote.size else 0)
    return FileState(remote, MISSING, 0)
