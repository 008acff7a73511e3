"""A central directory held as flat arrays, so a million entries cost tens of MB, not a GB.

``zipfile.ZipInfo`` is a Python object per entry with a dozen attributes (about 500 bytes each
before its name); the complete Codecfake release has 1.25 million entries. Here an entry is one
row across typed arrays plus its name in a shared UTF-8 buffer: 36 bytes and the name's length
(``benchmarks/bench_archive_read.py`` measures it). Rows keep the order entries were listed in.
"""

from __future__ import annotations

import bisect
from array import array
from typing import NamedTuple

_NAME_LIMIT = 2**32  # name ends are 32-bit offsets into the name buffer


class Entry(NamedTuple):
    """One row of a table, made on demand: what is known of an entry before its local header."""

    name: str
    offset: int  # of its local header, on its disk (or in its stream)
    compressed_size: int
    size: int
    crc: int
    disk: int
    method: int
    flags: int


class EntryTable:
    """Entries of one archive (or of a folder of loose files) in listing order.

    ``offset`` is the local header's offset on disk ``disk`` for an archive (the file's own
    offset, 0, for a loose file). Everything is an integer except names.
    """

    __slots__ = ("_crcs", "_disks", "_ends", "_flags", "_methods", "_names", "_offsets", "_sizes")

    def __init__(self) -> None:
        self._names = bytearray()
        self._ends = array("I")
        self._offsets = array("Q")
        self._sizes = array("Q")  # uncompressed, then compressed, interleaved: one array, 2 rows
        self._crcs = array("I")
        self._disks = array("H")
        self._methods = array("B")
        self._flags = array("H")

    def append(
        self,
        name: bytes,
        offset: int,
        compressed_size: int,
        size: int,
        crc: int,
        disk: int = 0,
        method: int = 0,
        flags: int = 0,
    ) -> None:
        """Add an entry; ``name`` is UTF-8 (decode other encodings before)."""
        self._names += name
        if len(self._names) >= _NAME_LIMIT:
            raise OverflowError("entry names exceed 4 GiB in one archive")
        self._ends.append(len(self._names))
        self._offsets.append(offset)
        self._sizes.append(size)
        self._sizes.append(compressed_size)
        self._crcs.append(crc)
        self._disks.append(disk)
        self._methods.append(method if method < 255 else 255)  # 255: any beyond, unsupported
        self._flags.append(flags)

    def __len__(self) -> int:
        return len(self._ends)

    def name_bytes(self, index: int) -> bytes:
        start = self._ends[index - 1] if index else 0
        with memoryview(self._names) as names:
            return bytes(names[start : self._ends[index]])

    def name(self, index: int) -> str:
        start = self._ends[index - 1] if index else 0
        return self._names[start : self._ends[index]].decode("utf-8")

    def offset(self, index: int) -> int:
        return self._offsets[index]

    def size(self, index: int) -> int:
        return self._sizes[2 * index]

    def compressed_size(self, index: int) -> int:
        return self._sizes[2 * index + 1]

    def crc(self, index: int) -> int:
        return self._crcs[index]

    def disk(self, index: int) -> int:
        return self._disks[index]

    def method(self, index: int) -> int:
        return self._methods[index]

    def find(self, offset: int) -> int | None:
        """The entry whose header is at ``offset``, for a table listed in offset order."""
        index = bisect.bisect_left(self._offsets, offset)
        found = index < len(self._offsets) and self._offsets[index] == offset
        return index if found else None

    def entry(self, index: int) -> Entry:
        return Entry(
            self.name(index),
            self._offsets[index],
            self._sizes[2 * index + 1],
            self._sizes[2 * index],
            self._crcs[index],
            self._disks[index],
            self._methods[index],
            self._flags[index],
        )

    @property
    def nbytes(self) -> int:
        """The memory its buffers hold (capacity slack of the arrays aside)."""
        arrays = (
            self._ends,
            self._offsets,
            self._sizes,
            self._crcs,
            self._disks,
            self._methods,
            self._flags,
        )
        return len(self._names) + sum(a.itemsize * len(a) for a in arrays)
