"""Bytes of an archive by offset, whether it is one file, a split set, or a member of another.

An Info-ZIP split set ``X.z01``, ..., ``X.zNN``, ``X.zip`` is disks 0..NN of one archive: the
central directory gives each entry's disk and its offset on that disk, and an entry's data may
run from one volume into the next. Concatenating the volumes in order gives one address space
where ``(disk, offset)`` is ``base[disk] + offset`` and an entry's data is contiguous, so every
reader above works with plain offsets and asks the source which *volume* holds a byte only to
name it in an error.

A stored zip inside an archive is a :class:`Slice` of its parent's address space: random access
with no copy. Sources are small and picklable (open files are dropped and reopened lazily), so
a worker process can read members given only a source.
"""

from __future__ import annotations

import bisect
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from .errors import ArchiveError


class ByteSource(Protocol):
    """What readers need of an archive's bytes."""

    @property
    def size(self) -> int: ...

    @property
    def disks(self) -> int:
        """How many volumes (disks, in ZIP's words) it is made of."""
        ...

    @property
    def label(self) -> str | None:
        """``None`` for an archive file; for an archive inside another, its entry name there
        (``a.zip > b.zip`` two levels down): how errors name the entry at fault."""
        ...

    def read(self, offset: int, length: int, entry: str | None = None) -> bytes:
        """Exactly ``length`` bytes from ``offset`` (fewer only at the end of the source)."""
        ...

    def position(self, disk: int, offset: int) -> int:
        """The address of ``offset`` on ``disk`` (``ArchiveError`` for a disk it lacks)."""
        ...

    def volumes(self, offset: int, length: int) -> list[Path]:
        """The files holding bytes ``offset .. offset + length``: what to download again."""
        ...

    def describe(self) -> str:
        """How users know this archive: the file, or ``outer.zip > inner.zip``."""
        ...

    @property
    def bytes_read(self) -> int: ...

    def close(self) -> None:
        """Close open files; a later read opens them again."""
        ...


class Volumes:
    """One archive file, or the volumes of a split set in disk order (``.z01`` first, ``.zip``
    last), read with ``os.pread`` (so threads may share it). ``sizes`` are taken when the set
    is found; reading past them means a file changed or was truncated since, which is
    reported, not trusted."""

    def __init__(self, paths: Sequence[Path], sizes: Sequence[int] | None = None):
        if not paths:
            raise ValueError("an archive has at least one volume")
        self.paths = tuple(Path(p) for p in paths)
        self.sizes = tuple(sizes if sizes is not None else (p.stat().st_size for p in self.paths))
        bases = [0]
        for size in self.sizes:
            bases.append(bases[-1] + size)
        self.bases = tuple(bases)  # bases[-1] is the total size
        self._handles: dict[int, int] = {}
        self._read = 0

    @property
    def size(self) -> int:
        return self.bases[-1]

    @property
    def disks(self) -> int:
        return len(self.paths)

    @property
    def label(self) -> str | None:
        return None

    @property
    def bytes_read(self) -> int:
        """Bytes read from the files so far (by this process): a cost meter, not a limit."""
        return self._read

    def describe(self) -> str:
        return str(self.paths[-1])

    def position(self, disk: int, offset: int) -> int:
        if not 0 <= disk < len(self.paths):
            raise ArchiveError(
                self.paths[-1],
                f"names disk {disk + 1} of a set of {len(self.paths)} volumes",
                remedy="download every volume of this archive again",
            )
        return self.bases[disk] + offset

    def volume_index(self, offset: int) -> int:
        return min(bisect.bisect_right(self.bases, offset) - 1, len(self.paths) - 1)

    def volumes(self, offset: int, length: int) -> list[Path]:
        first = self.volume_index(offset)
        last = self.volume_index(offset + max(length, 1) - 1)
        return list(self.paths[first : last + 1])

    def read(self, offset: int, length: int, entry: str | None = None) -> bytes:
        length = max(0, min(length, self.size - offset))
        pieces = []
        index = self.volume_index(offset)
        while length > 0:
            local = offset - self.bases[index]
            want = min(length, self.sizes[index] - local)
            data = self._pread(index, want, local)
            if len(data) < want:
                raise ArchiveError(
                    self.paths[index],
                    f"ends at byte {local + len(data):,}, short of the {self.sizes[index]:,} it "
                    "had when it was found (truncated or replaced meanwhile)",
                    entry,
                )
            pieces.append(data)
            offset, length, index = offset + want, length - want, index + 1
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)

    def _pread(self, index: int, length: int, offset: int) -> bytes:
        handle = self._handles.get(index)
        if handle is None:
            path = self.paths[index]
            try:
                opened = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
            except OSError as error:
                raise ArchiveError(path, f"cannot be opened ({error.strerror})") from error
            handle = self._handles.setdefault(index, opened)
            if handle != opened:  # another thread opened it meanwhile
                os.close(opened)
        data = os.pread(handle, length, offset)
        self._read += len(data)
        return data

    def close(self) -> None:
        handles, self._handles = self._handles, {}
        for handle in handles.values():
            os.close(handle)

    def __getstate__(self) -> dict[str, Any]:
        return {"paths": self.paths, "sizes": self.sizes}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["paths"], state["sizes"])

    def __del__(self) -> None:
        if hasattr(self, "_handles"):
            self.close()


class Slice:
    """Bytes ``start .. start + size`` of another source: a stored archive inside an archive."""

    def __init__(self, parent: ByteSource, start: int, size: int, name: str):
        self.parent, self.start, self._size, self.name = parent, start, size, name

    @property
    def size(self) -> int:
        return self._size

    @property
    def disks(self) -> int:
        return 1

    @property
    def label(self) -> str:
        outer = self.parent.label
        return f"{outer} > {self.name}" if outer else self.name

    @property
    def bytes_read(self) -> int:
        return self.parent.bytes_read

    def describe(self) -> str:
        return f"{self.parent.describe()} > {self.name}"

    def position(self, disk: int, offset: int) -> int:
        if disk != 0:
            raise ArchiveError(
                self.parent.volumes(self.start, self._size)[0],
                "says it is a split archive, which an archive inside another cannot be",
                self.label,
            )
        return offset

    def volumes(self, offset: int, length: int) -> list[Path]:
        return self.parent.volumes(self.start + offset, length)

    def read(self, offset: int, length: int, entry: str | None = None) -> bytes:
        length = max(0, min(length, self._size - offset))
        return self.parent.read(self.start + offset, length, entry)

    def close(self) -> None:
        """Close the parent's files (they reopen on the next read)."""
        close = getattr(self.parent, "close", None)
        if close is not None:
            close()
