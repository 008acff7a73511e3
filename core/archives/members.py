"""A release file found in the archives (:class:`Member`), and reading it in any process.

A :class:`Member` is a small value: its release path, size and CRC-32, and a :class:`Location`
saying which container holds it and where. :class:`ArchiveReader` reads members given only
that, so a worker process needs the reader (a few paths and sizes, picklable) and the members
of its own task, never the tables of a million entries. Members of a zip that is deflated inside
another archive can only be read forward, in the process that listed them: see
:meth:`codecfake_core.archives.ReleaseArchives.read_in_order`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from codecfake import ReleaseError

from .container import read_entry
from .sources import ByteSource


class Location(NamedTuple):
    """Where a member's bytes are."""

    container: int
    entry: int  # row in that container's table
    name: str  # inside the container (a loose file's path relative to the archives folder)
    offset: int  # of its local header in the container's address space (0 for a loose file)
    compressed_size: int
    method: int


class Member(NamedTuple):
    """One file of the release, wherever it lies. ``crc`` is ``None`` for a loose file."""

    path: str  # in the release: "train/x.wav", "test/C4/x.wav", "label/C4.txt"
    size: int
    crc: int | None
    location: Location

    @property
    def file(self) -> str:
        """Its file name, as label rows give it."""
        return self.path.rpartition("/")[2]


class LooseFiles:
    """Files outside any archive: label files, or folders already extracted."""

    def __init__(self, root: Path):
        self.root = root

    def read(self, member: Member) -> bytes:
        path = self.root / member.location.name
        try:
            data = path.read_bytes()
        except OSError as error:
            raise ReleaseError(path, f"cannot be read ({error.strerror})") from error
        if len(data) != member.size:
            raise ReleaseError(path, f"is {len(data):,} bytes, not the {member.size:,} it was")
        return data


STREAM_ONLY = None
"""A container whose members only :class:`ReleaseArchives` can read (forward)."""


class ArchiveReader:
    """Reads members of random-access containers; picklable (files reopen lazily)."""

    def __init__(self, sources: Sequence[ByteSource | LooseFiles | None]) -> None:
        self.sources = tuple(sources)

    def read(self, member: Member) -> bytes:
        """The member's bytes, size- and CRC-checked (size only, for a loose file)."""
        where = member.location
        source = self.sources[where.container]
        if source is STREAM_ONLY:
            raise ValueError(f"{member.path} can only be read in order, where it was listed")
        if isinstance(source, LooseFiles):
            return source.read(member)
        return read_entry(
            source,
            where.name,
            where.offset,
            where.compressed_size,
            member.size,
            member.crc if member.crc is not None else 0,
            where.method,
        )

    def close(self) -> None:
        """Close the archive files this process opened (they reopen on the next read)."""
        for source in self.sources:
            if source is not STREAM_ONLY and not isinstance(source, LooseFiles):
                source.close()
