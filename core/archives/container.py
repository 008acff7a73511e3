"""Random access to a zip archive: one file, a split set, or a stored zip inside another archive.

Opening reads the end records and the central directory (in 1 MiB pieces, into an
:class:`~.table.EntryTable`); reading an entry reads its local header and data with one
``pread`` for small entries, checks that the header names the same entry, inflates deflated data
and checks size and CRC-32, every time. Anything wrong raises :class:`~.errors.ArchiveError`
naming the volume that holds the bad bytes.

A split set is checked when opened, so a volume of the wrong size is named before any entry is
read: every entry must start inside its volume, and data that runs across volumes must end
exactly where the next record starts. Info-ZIP fills a volume to the split size before going on
(it only ends a volume early when a *header* would not fit), so a volume that such data crosses
is full; one whose size differs from the others' is the one to fetch again.
"""

from __future__ import annotations

import io
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

from .errors import ArchiveError
from .records import (
    DEFLATED,
    END_SIZE,
    FLAG_DESCRIPTOR,
    FLAG_ENCRYPTED,
    LOCAL_SIZE,
    LOCATOR_SIZE,
    MAX_COMMENT,
    STORED,
    ZIP64_END_SIZE,
    EndRecord,
    FormatError,
    LocalHeader,
    apply_zip64_end,
    find_end,
    local_length,
    method_name,
    parse_central,
    parse_descriptor,
    parse_local,
)
from .sources import ByteSource, Volumes
from .table import EntryTable

CENTRAL_CHUNK = 1 << 20
"""The central directory is read in pieces this large: the train set's is about 70 MB."""
INLINE_LIMIT = 1 << 20
"""Entries up to this size are read together with their local header, in one ``pread``."""
HEADER_SLACK = 128
"""Bytes read past a local header's name for its extra field (re-read when it is longer)."""
UNSUPPORTED_REMEDY = "extract that archive with 7z and give prepare the extracted folder"


class Unsupported(FormatError):
    """Readable data in a form this reader does not handle (encrypted, bzip2, ...)."""


def fail(
    source: ByteSource,
    offset: int,
    length: int,
    reason: str,
    entry: str | None = None,
    remedy: str | None = None,
) -> ArchiveError:
    """An error naming the volume(s) that hold bytes ``offset .. offset + length``."""
    paths = source.volumes(offset, length) or [Path(source.describe())]
    if len(paths) > 1:
        names = [p.name for p in paths]
        reason = f"{reason} (its bytes lie in {', '.join(names)})"
        remedy = remedy or f"download {' and '.join(names)} again"
    return ArchiveError(paths[0], reason, entry, remedy)


def entry_label(source: ByteSource, name: str) -> str:
    """How errors name entry ``name`` of ``source``: ``outer/train.zip > train/x.wav`` for an
    entry of a zip inside another archive."""
    outer = source.label
    return f"{outer} > {name}" if outer else name


def decode(payload: bytes | memoryview, method: int, size: int, crc: int) -> bytes:
    """An entry's content from its stored or deflated data, checked against size and CRC-32."""
    if method == STORED:
        content = bytes(payload)
    elif method == DEFLATED:
        inflater = zlib.decompressobj(-15)
        try:
            content = inflater.decompress(payload, size + 1)
        except zlib.error as error:
            raise FormatError(f"its deflated data is damaged ({error})") from None
        if not inflater.eof or inflater.unused_data or inflater.unconsumed_tail:
            raise FormatError("its deflated data does not end where its size says")
    else:
        raise Unsupported(f"is compressed with {method_name(method)}, which is not read here")
    if len(content) != size:
        raise FormatError(f"holds {len(content):,} bytes where the archive says {size:,}")
    actual = zlib.crc32(content)
    if actual != crc:
        raise FormatError(f"fails its CRC check (CRC-32 {actual:08x}, the archive says {crc:08x})")
    return content


def read_end(source: ByteSource) -> EndRecord:
    """The end of central directory record, with its ZIP64 values when it has them."""
    tail_length = min(source.size, END_SIZE + MAX_COMMENT + LOCATOR_SIZE)
    tail = source.read(source.size - tail_length, tail_length)
    try:
        end = find_end(tail)
        if end.zip64 is not None:
            position = source.position(*end.zip64)
            end = apply_zip64_end(end, source.read(position, ZIP64_END_SIZE))
    except FormatError as error:
        raise fail(source, source.size - 1, 1, str(error), source.label) from None
    return end


class ZipArchive:
    """An opened zip whose entries can be read in any order."""

    def __init__(self, source: ByteSource, table: EntryTable, central_start: int):
        self.source = source
        self.table = table
        self.central_start = central_start

    @classmethod
    def open(cls, source: ByteSource) -> ZipArchive:
        end = read_end(source)
        if end.disks != source.disks:
            reason = f"says it has {end.disks} volumes where {source.disks} were found"
            raise fail(source, source.size - 1, 1, reason, source.label)
        start = source.position(end.cd_disk, end.cd_offset)
        archive = cls(source, _read_central(source, start, end), start)
        if isinstance(source, Volumes) and len(source.paths) > 1:
            _check_volumes(archive, source)
        return archive

    def position(self, index: int) -> int:
        """Where entry ``index``'s local header starts, in the source's address space."""
        return self.source.position(self.table.disk(index), self.table.offset(index))

    def local_header(self, index: int) -> tuple[int, LocalHeader]:
        """Where entry ``index``'s data starts (after its local header), and that header."""
        position = self.position(index)
        name = entry_label(self.source, self.table.name(index))
        try:
            head = self.source.read(position, LOCAL_SIZE, name)
            head += self.source.read(position + LOCAL_SIZE, local_length(head) - LOCAL_SIZE, name)
            header = parse_local(head)
        except FormatError as error:
            raise fail(
                self.source, position, LOCAL_SIZE, f"bad local header: {error}", name
            ) from None
        return position + header.length, header

    def read(self, index: int) -> bytes:
        """Entry ``index``'s content, checked."""
        table = self.table
        return read_entry(
            self.source,
            table.name(index),
            self.position(index),
            table.compressed_size(index),
            table.size(index),
            table.crc(index),
            table.method(index),
        )

    def read_in_order(self, indices: Iterable[int]) -> Iterator[tuple[int, bytes]]:
        """Entries ``indices`` in the order they lie in the archive, each with its content."""
        for index in sorted(indices, key=self.position):
            yield index, self.read(index)


def read_entry(
    source: ByteSource,
    name: str,
    position: int,
    compressed: int,
    size: int,
    crc: int,
    method: int,
) -> bytes:
    """The checked content of the entry ``name`` whose local header is at ``position``.

    Module-level, so a worker process reads entries from a source and a few integers, without
    the archive's table.
    """
    encoded = name.encode("utf-8")
    label = entry_label(source, name)
    inline = compressed <= INLINE_LIMIT
    head_length = LOCAL_SIZE + len(encoded) + HEADER_SLACK
    data = source.read(position, head_length + (compressed if inline else 0), label)
    try:
        length = local_length(data)
        if length > len(data):
            data = source.read(position, length + (compressed if inline else 0), label)
        header = parse_local(data)
        if header.name != encoded:
            raise FormatError(f"it names {header.name.decode(errors='replace')!r}")
        if header.flags & FLAG_ENCRYPTED:
            raise Unsupported("is encrypted")
    except Unsupported as error:
        raise fail(source, position, LOCAL_SIZE, str(error), label, UNSUPPORTED_REMEDY) from None
    except FormatError as error:
        raise fail(source, position, LOCAL_SIZE, f"bad local header: {error}", label) from None
    start = position + length
    if inline and len(data) >= length + compressed:
        payload: bytes | memoryview = memoryview(data)[length : length + compressed]
    else:
        payload = source.read(start, compressed, label)
    if len(payload) < compressed:
        raise fail(source, start, compressed, "is cut short: the archive ends inside it", label)
    try:
        return decode(payload, method, size, crc)
    except Unsupported as error:
        raise fail(source, start, compressed, str(error), label, UNSUPPORTED_REMEDY) from None
    except FormatError as error:
        raise fail(source, start, compressed, str(error), label) from None


def _read_central(source: ByteSource, start: int, end: EndRecord) -> EntryTable:
    table = EntryTable()
    stop = start + end.cd_size
    if start < 0 or stop > source.size:
        reason = "its central directory lies outside the archive"
        raise fail(source, source.size - 1, 1, reason, source.label)
    buffer: bytes = b""
    position = 0
    next_read = start
    while True:
        try:
            parsed = parse_central(buffer, position)
        except FormatError as error:
            at = next_read - len(buffer) + position
            reason = f"{error} (central directory entry {len(table) + 1})"
            raise fail(source, at, 4, reason, source.label) from None
        if parsed is None:
            if next_read >= stop:
                break
            chunk = source.read(next_read, min(CENTRAL_CHUNK, stop - next_read))
            next_read += len(chunk)
            buffer = buffer[position:] + chunk
            position = 0
            continue
        entry, position = parsed
        table.append(*entry)
    if position != len(buffer):
        reason = "its central directory ends inside an entry header"
        raise fail(source, stop - 1, 1, reason, source.label)
    # Some writers store the count modulo 65536 instead of writing ZIP64 records.
    if len(table) != end.entries and (end.zip64 is not None or len(table) % 65536 != end.entries):
        reason = f"its central directory lists {len(table):,} entries, its end {end.entries:,}"
        raise fail(source, stop - 1, 1, reason, source.label)
    return table


def _check_volumes(archive: ZipArchive, volumes: Volumes) -> None:
    """Name a volume of a split set whose size cannot be right (see the module's note)."""
    table = archive.table
    for index in range(len(table)):
        disk, offset = table.disk(index), table.offset(index)
        if disk < len(volumes.sizes) and offset >= volumes.sizes[disk]:
            raise ArchiveError(
                volumes.paths[disk],
                f"is {volumes.sizes[disk]:,} bytes, too short to hold entry {table.name(index)!r} "
                f"at byte {offset:,} (a truncated download)",
            )
    order = sorted(range(len(table)), key=archive.position)
    starts = [archive.position(i) for i in order] + [archive.central_start]
    for rank, index in enumerate(order):
        volume = volumes.volume_index(starts[rank])
        longest = LOCAL_SIZE + len(table.name_bytes(index)) + 0xFFFF + table.compressed_size(index)
        if starts[rank] + longest <= volumes.bases[volume + 1]:
            continue  # within its volume whatever its extra field: no header to read
        data_start, header = archive.local_header(index)
        data_end = data_start + table.compressed_size(index)
        if data_end <= volumes.bases[volume + 1]:
            continue  # within its volume: nothing across volumes to check
        if header.flags & FLAG_DESCRIPTOR:
            reader = io.BytesIO(volumes.read(data_end, 24)).read
            try:
                data_end += parse_descriptor(reader, header.zip64).length
            except FormatError as error:
                raise fail(volumes, data_end, 16, str(error), table.name(index)) from None
        if data_end != starts[rank + 1]:
            _raise_misfit(volumes, table.name(index), starts[rank], starts[rank + 1], data_end)


def _raise_misfit(volumes: Volumes, name: str, start: int, next_start: int, data_end: int) -> None:
    """Data crossing volumes does not end where the next record starts: which volume is off?"""
    first, last = volumes.volume_index(start), volumes.volume_index(max(next_start - 1, 0))
    full = [i for i in range(first, last) if i < len(volumes.paths) - 1]
    usual = Counter(volumes.sizes[:-1]).most_common()
    split_size = usual[0][0] if usual else 0
    odd = [i for i in full if volumes.sizes[i] != split_size]
    if len(odd) == 1 and len(usual) > 1 and usual[0][1] > 1:
        index = odd[0]
        raise ArchiveError(
            volumes.paths[index],
            f"is {volumes.sizes[index]:,} bytes where the other volumes of "
            f"{volumes.paths[-1].name} are {split_size:,}, so entry {name!r} does not fit",
        )
    names = [volumes.paths[i].name for i in range(first, last + 1)]
    gap = next_start - data_end
    raise ArchiveError(
        volumes.paths[first],
        f"entry {name!r} runs across {', '.join(names)}, whose sizes add up to {abs(gap):,} "
        f"bytes {'less' if gap < 0 else 'more'} than it needs",
        remedy="compare their sizes with the download page and download the wrong one again",
    )
