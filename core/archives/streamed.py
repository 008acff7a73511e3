"""A zip stored *deflated* inside another archive: listed in one pass, then read forward.

Deflate has no random access: byte N of the inner zip is known only after inflating everything
before it, and its central directory is at the very end. So opening one inflates the whole
member once, reading each local header on the way (entries whose header carries their sizes are
skipped over; deflated ones with a data descriptor are inflated to find their end), and checks
the listing against the central directory when the stream reaches it, and the member's own size
and CRC-32 at its end.

Damage rarely stops inflation where it is: wrong output usually shows later, as a header that
is not one or a failed CRC. When the first pass fails, it is repeated in small steps, checking
each entry's CRC, and the first entry that fails names the volume holding its compressed bytes.

Reading then uses a cursor that only moves forward: entries asked for in archive order (what
:meth:`StreamedZip.read_in_order` does) cost one more pass over the compressed bytes, each read
once. An entry behind the cursor restarts inflation from the nearest *checkpoint*: a copy of the
inflater (``zlib.Decompress.copy()``) taken every :data:`CHECKPOINT_EVERY` bytes of output during
the first pass. A checkpoint holds zlib's 32 KiB window and state, about 45 KB, so a 20 GB inner
zip keeps about 600 of them (27 MB) and a random read inflates at most 32 MiB to reach its entry.
"""

from __future__ import annotations

import bisect
import logging
import zlib
from collections import deque
from collections.abc import Iterable, Iterator
from typing import NamedTuple

from .container import UNSUPPORTED_REMEDY, Unsupported, ZipArchive, decode, entry_label, fail
from .errors import ArchiveError
from .records import (
    CENTRAL,
    DEFLATED,
    FLAG_DESCRIPTOR,
    LOCAL,
    LOCAL_SIZE,
    SPLIT_MARKERS,
    FormatError,
    find_end,
    parse_central,
    parse_descriptor,
    parse_local,
)
from .table import EntryTable

log = logging.getLogger("codecfake")

CHECKPOINT_EVERY = 32 << 20
INPUT_CHUNK = 64 << 10
"""Compressed bytes are inflated in pieces this small, so damage is located within 64 KiB: in
one volume, or two when it lies at their border."""
OUTPUT_CHUNK = 4 << 20
"""Inflation produces at most this much per step, so a highly compressed stretch (silence)
never balloons the buffer."""
DIAGNOSIS_CHUNK = 4 << 10
"""When the first pass finds damage, inflation is repeated in pieces this small to find the
first entry whose content is wrong, and so the compressed bytes (and volume) at fault."""
END_RECORDS_LIMIT = 1 << 17
"""The end records after a central directory (ZIP64 end, locator, end and its comment) fit in
this; more bytes after the directory mean a damaged stream."""


class Checkpoint(NamedTuple):
    produced: int  # content offset the inflater continues from
    consumed: int  # compressed bytes it has consumed
    inflater: zlib._Decompress


class _Inflater:
    """The content of a deflated member, read forward; ``position`` is the next byte's offset."""

    def __init__(
        self, owner: StreamedZip, resume: Checkpoint | None = None, chunk: int = INPUT_CHUNK
    ):
        self._owner = owner
        self._chunk = chunk
        if resume is None:
            self._zlib = zlib.decompressobj(-15)
            self._in, self.position = 0, 0
        else:
            self._zlib = resume.inflater.copy()
            self._in, self.position = resume.consumed, resume.produced
        self._tail = b""
        self._buffer = bytearray()
        # (content end, compressed start) of each inflation step whose output is still buffered
        self._steps: deque[tuple[int, int]] = deque()
        self.crc = 0  # of everything produced, when started from the beginning

    @property
    def consumed(self) -> int:
        """Compressed bytes inflated so far (the rest of the last read waits in ``_tail``)."""
        return self._in - len(self._tail)

    @property
    def origin(self) -> int:
        """Compressed bytes consumed before the step that produced the next content byte: the
        earliest compressed byte that content can depend on, bar back-references."""
        while self._steps and self._steps[0][0] <= self.position:
            self._steps.popleft()
        return self._steps[0][1] if self._steps else self.consumed

    @property
    def produced(self) -> int:
        return self.position + len(self._buffer)

    def checkpoint(self) -> Checkpoint:
        return Checkpoint(self.produced, self.consumed, self._zlib.copy())

    def _fill(self) -> bool:
        """Inflate one more step; ``False`` at the end of the deflate stream."""
        if self._zlib.eof:
            return False
        owner = self._owner
        start = self.consumed
        if self._tail:
            data = self._tail
        else:
            if self._in >= owner.compressed_size:
                raise owner.error(start, start, "its deflated data ends before its stream does")
            want = min(self._chunk, owner.compressed_size - self._in)
            data = owner.parent.source.read(owner.data_start + self._in, want, owner.name)
            self._in += len(data)
        try:
            out = self._zlib.decompress(data, OUTPUT_CHUNK)
        except zlib.error as error:
            raise owner.error(
                start, start + len(data), f"its deflated data is damaged ({error})"
            ) from None
        self._tail = self._zlib.unconsumed_tail
        self.crc = zlib.crc32(out, self.crc)
        self._buffer += out
        self._steps.append((self.produced, start))
        return True

    def read(self, count: int) -> bytes:
        """The next ``count`` bytes (fewer only at the end of the content)."""
        while len(self._buffer) < count and self._fill():
            pass
        out = bytes(self._buffer[:count])
        del self._buffer[:count]
        self.position += len(out)
        return out

    def read_some(self, limit: int) -> bytes:
        """Between 1 and ``limit`` next bytes; empty only at the end of the content."""
        if not self._buffer:
            self._fill()
        return self.read(min(limit, len(self._buffer)))

    def skip(self, count: int) -> None:
        while count > 0:
            taken = len(self.read(min(count, OUTPUT_CHUNK)))
            if not taken:
                raise self._owner.error(self.origin, self.consumed, "its content ends early")
            count -= taken

    def unread(self, data: bytes) -> None:
        self._buffer[0:0] = data
        self.position -= len(data)


class StreamedZip:
    """The entries of a zip that is a deflated entry (``index``) of a random-access archive."""

    def __init__(self, parent: ZipArchive, index: int, checkpoint_every: int = CHECKPOINT_EVERY):
        self.parent = parent
        self.index = index
        self.name = parent.table.name(index)
        self.data_start, _ = parent.local_header(index)
        self.compressed_size = parent.table.compressed_size(index)
        self.table = EntryTable()
        self._every = checkpoint_every
        self._checkpoints: list[Checkpoint] = []
        self._cursor: _Inflater | None = None

    @classmethod
    def open(
        cls, parent: ZipArchive, index: int, checkpoint_every: int = CHECKPOINT_EVERY
    ) -> StreamedZip:
        """List the inner zip (one pass over the member): see the module's note."""
        archive = cls(parent, index, checkpoint_every)
        log.info(
            "listing %s (a zip deflated inside %s): one pass over %s MB",
            archive.name,
            parent.source.describe(),
            f"{archive.compressed_size / 1e6:,.1f}",
        )
        archive._list()
        return archive

    def error(
        self,
        start: int,
        end: int,
        reason: str,
        entry: str | None = None,
        remedy: str | None = None,
    ) -> ArchiveError:
        """An error about compressed bytes ``start .. end`` of this member, naming their volume."""
        outer = entry_label(self.parent.source, self.name)
        label = f"{outer} > {entry}" if entry else outer
        length = max(end - start, 1)
        return fail(self.parent.source, self.data_start + start, length, reason, label, remedy)

    # ----------------------------------------------------------------------------------------
    # Reading

    def read(self, index: int) -> bytes:
        """Entry ``index``'s content, checked: forward from the cursor, or from a checkpoint."""
        return self._read_at(self._cursor_at(self.table.offset(index)), index)

    def read_in_order(self, indices: Iterable[int]) -> Iterator[tuple[int, bytes]]:
        """Entries ``indices`` in archive order, in one forward pass from the first of them."""
        for index in sorted(indices, key=self.table.offset):
            yield index, self.read(index)

    def _cursor_at(self, position: int) -> _Inflater:
        cursor = self._cursor
        if cursor is None or cursor.position > position:
            produced = [c.produced for c in self._checkpoints]
            nearest = self._checkpoints[bisect.bisect_right(produced, position) - 1]
            cursor = self._cursor = _Inflater(self, nearest)
        cursor.skip(position - cursor.position)
        return cursor

    def _read_at(self, cursor: _Inflater, index: int) -> bytes:
        """The entry at the cursor, checked; errors name its compressed bytes' volume."""
        table = self.table
        name = table.name(index)
        start = cursor.origin
        try:
            header = parse_local(self._header(cursor, b""))
            if header.name != name.encode("utf-8"):
                raise FormatError(
                    f"bad local header: it names {header.name.decode(errors='replace')!r}"
                )
            payload = cursor.read(table.compressed_size(index))
            if header.flags & FLAG_DESCRIPTOR:
                parse_descriptor(cursor.read, header.zip64)
            return decode(payload, table.method(index), table.size(index), table.crc(index))
        except Unsupported as error:
            raise self.error(start, start, str(error), name, UNSUPPORTED_REMEDY) from None
        except FormatError as error:
            raise self.error(start, cursor.consumed, str(error), name) from None

    def _header(self, inflater: _Inflater, first: bytes) -> bytes:
        fixed = first + inflater.read(LOCAL_SIZE - len(first))
        if len(fixed) < LOCAL_SIZE:
            raise FormatError("its content ends inside a local header")
        name_length = int.from_bytes(fixed[26:28], "little")
        extra_length = int.from_bytes(fixed[28:30], "little")
        return fixed + inflater.read(name_length + extra_length)

    # ----------------------------------------------------------------------------------------
    # The first pass

    def _list(self) -> None:
        inflater = _Inflater(self)
        try:
            self._walk(inflater)
        except ArchiveError as error:
            raise self._diagnose(inflater.position) or error from None

    def _walk(self, inflater: _Inflater) -> None:
        self._checkpoints.append(inflater.checkpoint())
        next_checkpoint = self._every
        while True:
            if inflater.produced >= next_checkpoint:
                self._checkpoints.append(inflater.checkpoint())
                next_checkpoint = inflater.produced + self._every
            at = inflater.position
            signature = inflater.read(4)
            if signature == LOCAL:
                self._list_entry(inflater, at)
            elif signature == CENTRAL:
                inflater.unread(signature)
                self._verify_central(inflater)
                break
            elif at != 0 or signature not in SPLIT_MARKERS:
                raise self.error(
                    inflater.origin,
                    inflater.consumed,
                    f"no local file header at byte {at:,} of its content",
                )
        table = self.parent.table
        if inflater.produced != table.size(self.index) or inflater.crc != table.crc(self.index):
            raise self.error(0, self.compressed_size, "fails its size or CRC check")
        if inflater.consumed != self.compressed_size:
            raise self.error(
                inflater.consumed, self.compressed_size, "has bytes after its deflate stream"
            )

    def _list_entry(self, inflater: _Inflater, at: int) -> None:
        start = inflater.origin
        try:
            header = parse_local(self._header(inflater, LOCAL))
            name = header.name.decode("utf-8")
            crc, compressed, size = header.crc, header.compressed_size, header.size
            if header.flags & FLAG_DESCRIPTOR:
                if header.method != DEFLATED:
                    raise FormatError(
                        f"{name!r} is stored with a data descriptor, so its size is known only "
                        "after it, which a compressed zip cannot be listed by"
                    )
                compressed = self._skip_deflated(inflater)
                descriptor = parse_descriptor(inflater.read, header.zip64)
                if descriptor.compressed_size != compressed:
                    raise FormatError(f"the data descriptor of {name!r} gives another size")
                crc, size = descriptor.crc, descriptor.size
            else:
                inflater.skip(compressed)
        except FormatError as error:
            raise self.error(
                start, inflater.consumed, f"bad entry at byte {at:,}: {error}"
            ) from None
        self.table.append(header.name, at, compressed, size, crc, 0, header.method, header.flags)

    def _skip_deflated(self, inflater: _Inflater) -> int:
        """Inflate an inner deflated entry only to find where it ends; its compressed size."""
        start = inflater.position
        inner = zlib.decompressobj(-15)
        while not inner.eof:
            chunk = inflater.read_some(INPUT_CHUNK)
            if not chunk:
                raise FormatError("the content ends inside its data")
            try:
                inner.decompress(chunk, OUTPUT_CHUNK)
                while inner.unconsumed_tail:
                    inner.decompress(inner.unconsumed_tail, OUTPUT_CHUNK)
            except zlib.error as error:
                raise FormatError(f"its deflated data is damaged ({error})") from None
        inflater.unread(inner.unused_data)
        return inflater.position - start

    def _verify_central(self, inflater: _Inflater) -> None:
        """Check the listing against the inner central directory and its end record."""
        start = inflater.origin
        try:
            seen = self._match_central(inflater)
        except FormatError as error:
            raise self.error(
                start, inflater.consumed, f"its central directory is damaged: {error}"
            ) from None
        if seen != len(self.table):
            raise self.error(
                start,
                inflater.consumed,
                f"lists {len(self.table):,} local headers but {seen:,} central directory entries",
            )

    def _match_central(self, inflater: _Inflater) -> int:
        """How many central directory entries match a listed entry; raises on any that does
        not, and on an end record whose count differs."""
        buffer, position, seen = b"", 0, 0

        def top_up(wanted: int) -> bool:
            nonlocal buffer, position
            if len(buffer) - position < wanted:
                buffer, position = buffer[position:] + inflater.read(INPUT_CHUNK), 0
            return len(buffer) - position >= wanted

        while top_up(4) and buffer[position : position + 4] == CENTRAL:
            parsed = parse_central(buffer, position)
            if parsed is None:
                if not top_up(len(buffer) - position + 1):
                    raise FormatError("it is cut short")
                continue
            entry, position = parsed
            index = self.table.find(entry.offset)
            listed = self.table.entry(index) if index is not None else None
            if listed is None or (
                listed.name.encode("utf-8"),
                listed.crc,
                listed.compressed_size,
                listed.size,
                listed.method,
            ) != (entry.name, entry.crc, entry.compressed_size, entry.size, entry.method):
                shown = entry.name.decode(errors="replace")
                raise FormatError(f"entry {shown!r} does not match the local header it points at")
            seen += 1
        rest = buffer[position:]
        while len(rest) <= END_RECORDS_LIMIT and (more := inflater.read(INPUT_CHUNK)):
            rest += more
        end = find_end(rest)
        if end.entries not in (seen, seen % 65536):
            raise FormatError(f"its end record counts {end.entries:,} entries, not {seen:,}")
        return seen

    def _diagnose(self, limit: int) -> ArchiveError | None:
        """The first entry before content byte ``limit`` whose content fails its checks, as an
        error naming the volume of its compressed bytes; ``None`` if every one passes."""
        inflater = _Inflater(self, chunk=DIAGNOSIS_CHUNK)
        for index in range(len(self.table)):
            offset = self.table.offset(index)
            if offset >= limit:
                break
            try:
                inflater.skip(offset - inflater.position)
                self._read_at(inflater, index)
            except ArchiveError as error:
                return error
        return None
