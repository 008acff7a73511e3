"""Everything under an archives folder, as the release it holds: folders of members.

:func:`ReleaseArchives.scan` opens every archive and split set (:mod:`.discovery`), every zip
inside them, lists their entries and the loose files, and places each file in a release folder
(:mod:`.layout`). A folder keeps, per file, two integers (container and row); its members are
made on demand, and found by name through a sorted index of name hashes, so the scan of the
complete release holds its 1.25 million entries in about 100 MB.
"""

from __future__ import annotations

import bisect
import logging
import zlib
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from codecfake import ReleaseError

from .container import ZipArchive
from .discovery import find_archives, open_set
from .errors import ArchiveError
from .layout import LABEL, UNPLACED, folder_of, place
from .members import STREAM_ONLY, ArchiveReader, Location, LooseFiles, Member
from .records import DEFLATED, STORED, method_name
from .sources import Slice, Volumes
from .streamed import StreamedZip
from .table import EntryTable

log = logging.getLogger("codecfake")

MAX_NESTING = 3
"""Zips inside zips are opened this deep (the official release nests one level)."""
SHOWN = 5


@dataclass
class _Container:
    """One listing: an archive, a zip inside one, or the loose files."""

    table: EntryTable
    context: tuple[str, ...]  # folder and archive names from the archives folder down to it
    shown: str  # how users know it
    archive: ZipArchive | StreamedZip | LooseFiles

    def position(self, entry: int) -> int:
        if isinstance(self.archive, ZipArchive):
            return self.archive.position(entry)
        return self.table.offset(entry)


def _name_key(name: bytes) -> int:
    """A 64-bit hash of a file name, the same in every process (unlike ``hash``): CRC-32 and
    Adler-32 side by side, as a signed 64-bit integer. Equal keys are told apart by name."""
    return ((zlib.crc32(name) << 32) | zlib.adler32(name)) - (1 << 63)


class ReleaseFolder:
    """The files of one release folder (``train``, ``test/C4``, ``label``), in archive order."""

    def __init__(self, path: str, containers: Sequence[_Container]):
        self.path = path
        self._containers = containers
        self._owners = array("H")
        self._entries = array("I")
        self._hashes = array("q")  # hashes of the file names, sorted
        self._order = array("I")  # the position of each

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[Member]:
        """Every member, in the order its archive lists it."""
        return (self._member(k) for k in range(len(self._entries)))

    def get(self, file: str) -> Member | None:
        """The member called ``file`` (a label row's name), or ``None``."""
        position = self._find(file)
        return self._member(position) if position is not None else None

    def size(self, file: str) -> int | None:
        """The size of the file called ``file``, or ``None``: what planning asks of a million
        label rows, without making a member for each."""
        position = self._find(file)
        if position is None:
            return None
        return self._containers[self._owners[position]].table.size(self._entries[position])

    def files(self) -> Iterator[str]:
        """Every file name, in the order its archive lists it (no members made)."""
        return (self._file(k).decode("utf-8") for k in range(len(self._entries)))

    def __contains__(self, file: object) -> bool:
        return isinstance(file, str) and self._find(file) is not None

    def _find(self, file: str) -> int | None:
        target = file.encode("utf-8")
        key = _name_key(target)
        index = bisect.bisect_left(self._hashes, key)
        while index < len(self._hashes) and self._hashes[index] == key:
            position = self._order[index]
            if self._file(position) == target:
                return position
            index += 1
        return None

    def _add(self, owner: int, entry: int) -> None:
        self._owners.append(owner)
        self._entries.append(entry)

    def _file(self, k: int) -> bytes:
        table = self._containers[self._owners[k]].table
        return table.name_bytes(self._entries[k]).rpartition(b"/")[2]

    def _seal(self) -> list[tuple[Member, Member]]:
        """Index the files by the hash of their names; the pairs of members that share a name.

        The index is 12 bytes a file (a hash and a position, sorted by hash), and a lookup one
        binary search: a ``dict`` of names would take 150.
        """
        count = len(self._entries)
        hashes = np.fromiter((_name_key(self._file(k)) for k in range(count)), np.int64, count)
        order = np.argsort(hashes, kind="stable")
        hashes = hashes[order]
        self._hashes = array("q", hashes.tobytes())
        self._order = array("I", order.astype(np.uint32).tobytes())
        pairs = []
        for index in np.flatnonzero(hashes[1:] == hashes[:-1]).tolist():
            a, b = self._order[index], self._order[index + 1]
            if self._file(a) == self._file(b):
                pairs.append((self._member(a), self._member(b)))
        return pairs

    def _member(self, k: int) -> Member:
        owner, entry = self._owners[k], self._entries[k]
        container = self._containers[owner]
        table = container.table
        name = table.name(entry)
        loose = isinstance(container.archive, LooseFiles)
        return Member(
            f"{self.path}/{name.rpartition('/')[2]}",
            table.size(entry),
            None if loose else table.crc(entry),
            Location(
                owner,
                entry,
                name,
                container.position(entry),
                table.compressed_size(entry),
                table.method(entry),
            ),
        )


class ReleaseArchives:
    """The release held by a folder of archives (and loose or extracted files): see the package
    docstring for a tour. Close it (or use it as a context manager) to close its files."""

    def __init__(self, root: Path):
        self.root = root
        self.folders: dict[str, ReleaseFolder] = {}
        """Release folder -> its files: ``label``, ``train``, ``dev``, ``test/C1``, ..."""
        self.unplaced: list[str] = []
        """Audio files whose place in the release no name around them tells (ignored)."""
        self._containers: list[_Container] = []
        self._volumes: list[Volumes] = []
        self._reader = ArchiveReader(())

    # ----------------------------------------------------------------------------------------
    # Reading

    def reader(self) -> ArchiveReader:
        """A picklable reader of every member except those of stream-only containers."""
        sources = []
        for container in self._containers:
            archive = container.archive
            if isinstance(archive, ZipArchive):
                sources.append(archive.source)
            elif isinstance(archive, LooseFiles):
                sources.append(archive)
            else:
                sources.append(STREAM_ONLY)
        return ArchiveReader(sources)

    def random_access(self, member: Member) -> bool:
        """Whether ``member`` reads cheaply alone; if not, read it with :meth:`read_in_order`."""
        return not isinstance(self._containers[member.location.container].archive, StreamedZip)

    def read(self, member: Member) -> bytes:
        """One member's bytes, checked. Threads may read random-access members at once; a
        stream-only member may inflate up to :data:`~.streamed.CHECKPOINT_EVERY` bytes to
        reach, and its container's one cursor serves one thread at a time."""
        archive = self._containers[member.location.container].archive
        if isinstance(archive, StreamedZip):
            return archive.read(member.location.entry)
        return self._reader.read(member)

    def read_in_order(self, members: Iterable[Member]) -> Iterator[tuple[Member, bytes]]:
        """``members`` with their bytes, in archive order (container by container, each in the
        order its bytes lie): a stream-only container is then inflated once, forward."""
        groups: dict[int, list[Member]] = {}
        for member in members:
            groups.setdefault(member.location.container, []).append(member)
        for owner in sorted(groups):
            ordered = sorted(groups[owner], key=lambda m: (m.location.offset, m.location.name))
            for member in ordered:
                yield member, self.read(member)

    def label(self, name: str) -> bytes | None:
        """The bytes of label file ``name`` (``"C1.txt"``), or ``None`` when there is none."""
        folder = self.folders.get(LABEL)
        member = folder.get(name) if folder is not None else None
        return self.read(member) if member is not None else None

    def describe(self, member: Member) -> str:
        """Where a member is, for messages: ``.../train_split.zip > .../train.zip > train/x.wav``."""
        container = self._containers[member.location.container]
        if isinstance(container.archive, LooseFiles):
            return str(self.root / member.location.name)
        return f"{container.shown} > {member.location.name}"

    @property
    def bytes_read(self) -> int:
        """Bytes read from the archive files so far (a cost meter)."""
        return sum(volumes.bytes_read for volumes in self._volumes)

    @property
    def table_bytes(self) -> int:
        """Memory held by the listings' buffers (the folders' indexes aside)."""
        return sum(c.table.nbytes for c in self._containers)

    def close(self) -> None:
        for volumes in self._volumes:
            volumes.close()

    def __enter__(self) -> ReleaseArchives:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----------------------------------------------------------------------------------------
    # Scanning

    @classmethod
    def scan(cls, root: Path | str) -> ReleaseArchives:
        """List and place every release file under ``root``; raises :class:`ArchiveError` for
        an archive that cannot be read and :class:`ReleaseError` for a file found twice."""
        self = cls(Path(root))
        if not self.root.is_dir():
            raise ReleaseError(self.root, "is not a folder: give the folder the archives are in")
        found = find_archives(self.root)
        loose = self._list_loose(found.loose)
        try:
            self._add(_Container(loose, (), str(self.root), LooseFiles(self.root)))
            for archive_set in found.archives:
                archive = open_set(archive_set)
                if isinstance(archive.source, Volumes):
                    self._volumes.append(archive.source)
                folders = archive_set.last.parent.relative_to(self.root).parts
                context = (*folders, archive_set.stem)
                self._add(_Container(archive.table, context, archive.source.describe(), archive))
            self._check_places()
        except BaseException:
            self.close()
            raise
        self._reader = self.reader()
        log.info(
            "found %s files in %s: %s",
            f"{sum(len(f) for f in self.folders.values()):,}",
            self.root,
            ", ".join(f"{path} {len(folder):,}" for path, folder in sorted(self.folders.items())),
        )
        return self

    def _list_loose(self, paths: list[Path]) -> EntryTable:
        table = EntryTable()
        for path in paths:
            if place(path.parent.parts, path.name) is not None:
                size = (self.root / path).stat().st_size
                table.append(path.as_posix().encode("utf-8"), 0, size, size, 0)
        return table

    def _add(self, container: _Container, depth: int = 0) -> None:
        """Take a listing: place each of its files, and open (and take) each zip inside it."""
        owner = len(self._containers)
        self._containers.append(container)
        table = container.table
        contexts: dict[str, tuple[tuple[str, ...], str]] = {}  # with the folder they tell
        for entry in range(len(table)):
            name = table.name(entry)
            folders, _, file = name.rpartition("/")
            if not file:
                continue  # a folder entry
            known = contexts.get(folders)
            if known is None:
                names = (*container.context, *filter(None, folders.split("/")))
                known = contexts[folders] = (names, folder_of(names))
            context, told = known
            if file[-4:].lower() == ".zip" and not isinstance(container.archive, LooseFiles):
                inner = self._open_inner(container, entry, depth)
                self._add(
                    _Container(
                        inner.table, (*context, file[:-4]), f"{container.shown} > {name}", inner
                    ),
                    depth + 1,
                )
                continue
            folder = place(context, file, told)
            if folder is None:
                continue
            if folder == UNPLACED:
                self.unplaced.append(f"{container.shown} > {name}")
                continue
            if folder not in self.folders:
                self.folders[folder] = ReleaseFolder(folder, self._containers)
            self.folders[folder]._add(owner, entry)

    def _open_inner(self, outer: _Container, index: int, depth: int) -> ZipArchive | StreamedZip:
        archive = outer.archive
        name = outer.table.name(index)
        method = outer.table.method(index)
        if not isinstance(archive, ZipArchive) or depth == MAX_NESTING:
            why = "inside a deflated zip" if depth < MAX_NESTING else "nested too deep"
            raise ArchiveError(
                outer.shown, f"holds the zip {name!r} {why}", remedy="extract that zip with 7z"
            )
        if method == DEFLATED:
            return StreamedZip.open(archive, index)
        if method != STORED:
            raise ArchiveError(
                outer.shown,
                f"holds the zip {name!r} compressed with {method_name(method)}",
                remedy="extract that zip with 7z",
            )
        start, _ = archive.local_header(index)
        return ZipArchive.open(Slice(archive.source, start, archive.table.size(index), name))

    def _check_places(self) -> None:
        """Report what was left out, and refuse a release file found twice."""
        if self.unplaced:
            log.warning(
                "%d audio files under %s are in no release folder (train, dev, C1, ...) and are "
                "left out: %s",
                len(self.unplaced),
                self.root,
                ", ".join(self.unplaced[:SHOWN]),
            )
        twice = [pair for folder in self.folders.values() for pair in folder._seal()]
        if twice:
            shown = "; ".join(
                f"{a.path} is both {self.describe(a)} and {self.describe(b)}"
                for a, b in twice[:SHOWN]
            )
            more = f" (and {len(twice) - SHOWN} more)" if len(twice) > SHOWN else ""
            raise ReleaseError(
                self.root,
                f"{len(twice):,} release files are found twice: {shown}{more}. Keep one copy of "
                "each part (an extracted folder or its archive, not both)",
            )
