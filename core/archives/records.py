"""The ZIP records this reader needs, parsed from bytes: nothing here reads a file.

Layouts follow PKWARE's APPNOTE (sections 4.3.7 to 4.3.16): the end of central directory record
and its ZIP64 twin and locator, central directory headers, local headers and data descriptors.
ZIP64 fields replace a 32-bit field set to all ones (a 16-bit one for disk numbers), in the order
uncompressed size, compressed size, header offset, disk; a local header's ZIP64 field always
holds both sizes.

Names are UTF-8 when flag bit 11 says so. Info-ZIP on Unix stores its names' bytes without the
flag, and those bytes are UTF-8 on every system this release was packed on, so unflagged names
are read as UTF-8 too, and as code page 437 (what the format prescribes) only when they are not.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import NamedTuple

LOCAL = b"PK\x03\x04"
CENTRAL = b"PK\x01\x02"
END = b"PK\x05\x06"
ZIP64_END = b"PK\x06\x06"
ZIP64_LOCATOR = b"PK\x06\x07"
DESCRIPTOR = b"PK\x07\x08"
"""A data descriptor's optional signature; Info-ZIP also starts a split set's first volume
with it (APPNOTE 8.5.3)."""
SPLIT_MARKERS = (DESCRIPTOR, b"PK00")  # PK00: a set that was to be split but fitted in one

STORED, DEFLATED = 0, 8
METHOD_NAMES = {0: "stored", 8: "deflated", 9: "deflate64", 12: "bzip2", 14: "LZMA", 93: "zstd"}
FLAG_ENCRYPTED = 0x1
FLAG_DESCRIPTOR = 0x8
FLAG_UTF8 = 0x800

_END = struct.Struct("<4s4H2IH")
_ZIP64_LOCATOR = struct.Struct("<4sIQI")
_ZIP64_END = struct.Struct("<4sQ2H2I4Q")
_CENTRAL = struct.Struct("<4s6H3I5HII")
_LOCAL = struct.Struct("<4s5H3I2H")
END_SIZE = _END.size
LOCAL_SIZE = _LOCAL.size
ZIP64_END_SIZE = _ZIP64_END.size
LOCATOR_SIZE = _ZIP64_LOCATOR.size
MAX_COMMENT = 0xFFFF

_ALL_ONES_32 = 0xFFFFFFFF
_ALL_ONES_16 = 0xFFFF


class FormatError(ValueError):
    """Bytes that are not the record expected: the caller knows which file and entry they are."""


class EndRecord(NamedTuple):
    """Where the central directory is. Disks count from 0; the last disk holds this record."""

    disk: int
    cd_disk: int
    entries: int
    cd_size: int
    cd_offset: int
    zip64: tuple[int, int] | None  # (disk, offset) of the ZIP64 end record, when there is one
    disks: int  # how many volumes the archive has: the locator's count, else ``disk + 1``


def find_end(tail: bytes) -> EndRecord:
    """The end record in ``tail`` (an archive's last bytes), with its ZIP64 locator's values.

    The last signature whose comment runs exactly to the end wins; a signature inside a comment
    would not.
    """
    position = tail.rfind(END)
    while position >= 0:
        if position + END_SIZE <= len(tail):
            fields = _END.unpack_from(tail, position)
            if position + END_SIZE + fields[7] == len(tail):
                break
        position = tail.rfind(END, 0, position)
    if position < 0:
        raise FormatError("no end of central directory record: the file is truncated or not a zip")
    _, disk, cd_disk, _, entries, cd_size, cd_offset, _ = _END.unpack_from(tail, position)
    zip64, disks = None, disk + 1
    start = position - LOCATOR_SIZE
    if start >= 0 and tail[start : start + 4] == ZIP64_LOCATOR:
        _, zip64_disk, zip64_offset, disks = _ZIP64_LOCATOR.unpack_from(tail, start)
        zip64 = (zip64_disk, zip64_offset)
    return EndRecord(disk, cd_disk, entries, cd_size, cd_offset, zip64, disks)


def apply_zip64_end(record: EndRecord, data: bytes) -> EndRecord:
    """``record`` with the values of the ZIP64 end record ``data`` (its first 56 bytes)."""
    if len(data) < ZIP64_END_SIZE or data[:4] != ZIP64_END:
        raise FormatError("the ZIP64 end of central directory record is not where its locator says")
    _, _, _, _, disk, cd_disk, _, entries, cd_size, cd_offset = _ZIP64_END.unpack_from(data)
    return EndRecord(disk, cd_disk, entries, cd_size, cd_offset, record.zip64, record.disks)


class CentralEntry(NamedTuple):
    name: bytes  # UTF-8
    offset: int
    compressed_size: int
    size: int
    crc: int
    disk: int
    method: int
    flags: int


def decode_name(raw: bytes, flags: int) -> bytes:
    """A name as UTF-8 bytes (see the module's note on encodings)."""
    if flags & FLAG_UTF8 or raw.isascii():
        return raw
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp437").encode("utf-8")
    return raw


def _zip64_values(extra: bytes, wanted: int) -> list[int]:
    """The first ``wanted`` 8-byte values of the ZIP64 extra field (id 1) in ``extra``."""
    position = 0
    while position + 4 <= len(extra):
        field_id, length = struct.unpack_from("<HH", extra, position)
        body = extra[position + 4 : position + 4 + length]
        if field_id == 1:
            if len(body) < 8 * wanted:
                raise FormatError("its ZIP64 extra field is shorter than its header needs")
            return list(struct.unpack_from(f"<{wanted}Q", body))
        position += 4 + length
    raise FormatError("a field is marked as ZIP64 but the entry has no ZIP64 extra field")


def parse_central(buffer: bytes | memoryview, position: int) -> tuple[CentralEntry, int] | None:
    """The central directory header at ``position`` and the position after it.

    ``None`` when ``buffer`` ends before the header does (read more and try again).
    """
    if position + _CENTRAL.size > len(buffer):
        return None
    (sig, _, _, flags, method, _, _, crc, csize, size, name_len, extra_len, comment_len,
     disk, _, _, offset) = _CENTRAL.unpack_from(buffer, position)  # fmt: skip
    if sig != CENTRAL:
        raise FormatError("the central directory holds a record that is not an entry header")
    end = position + _CENTRAL.size + name_len + extra_len + comment_len
    if end > len(buffer):
        return None
    name_end = position + _CENTRAL.size + name_len
    raw_name = bytes(buffer[position + _CENTRAL.size : name_end])
    if _ALL_ONES_32 in (size, csize, offset) or disk == _ALL_ONES_16:
        extra = bytes(buffer[name_end : name_end + extra_len])
        wide = [size == _ALL_ONES_32, csize == _ALL_ONES_32, offset == _ALL_ONES_32]
        values = _zip64_values(extra, sum(wide))
        # The disk number, when present, is 4 bytes after the 8-byte values.
        if wide[0]:
            size = values.pop(0)
        if wide[1]:
            csize = values.pop(0)
        if wide[2]:
            offset = values.pop(0)
        if disk == _ALL_ONES_16:
            disk = _zip64_disk(extra, sum(wide))
    entry = CentralEntry(
        decode_name(raw_name, flags), offset, csize, size, crc, disk, method, flags
    )
    return entry, end


def _zip64_disk(extra: bytes, values_before: int) -> int:
    position = 0
    while position + 4 <= len(extra):
        field_id, length = struct.unpack_from("<HH", extra, position)
        if field_id == 1 and length >= 8 * values_before + 4:
            return int(struct.unpack_from("<I", extra, position + 4 + 8 * values_before)[0])
        position += 4 + length
    raise FormatError("its disk number is marked as ZIP64 but the ZIP64 field lacks it")


class LocalHeader(NamedTuple):
    name: bytes  # UTF-8
    flags: int
    method: int
    crc: int
    compressed_size: int  # from the header; 0 when a data descriptor follows the data
    size: int
    length: int  # of the header with its name and extra field: where the data starts
    zip64: bool  # whether sizes (and so a data descriptor's) are 8 bytes wide


def local_length(data: bytes | memoryview) -> int:
    """The full length of the local header whose first 30 bytes are ``data``."""
    if len(data) < LOCAL_SIZE or bytes(data[:4]) != LOCAL:
        raise FormatError("no local file header where one should start")
    fields = _LOCAL.unpack_from(data)
    return LOCAL_SIZE + fields[9] + fields[10]


def parse_local(data: bytes | memoryview) -> LocalHeader:
    """A local header from ``data``, which holds at least the whole header."""
    if len(data) < LOCAL_SIZE or bytes(data[:4]) != LOCAL:
        raise FormatError("no local file header where one should start")
    _, _, flags, method, _, _, crc, csize, size, name_len, extra_len = _LOCAL.unpack_from(data)
    length = LOCAL_SIZE + name_len + extra_len
    if len(data) < length:
        raise FormatError("the local file header is cut short")
    raw_name = bytes(data[LOCAL_SIZE : LOCAL_SIZE + name_len])
    zip64 = False
    if _ALL_ONES_32 in (size, csize):
        size, csize = _zip64_values(bytes(data[LOCAL_SIZE + name_len : length]), 2)
        zip64 = True
    return LocalHeader(decode_name(raw_name, flags), flags, method, crc, csize, size, length, zip64)


class Descriptor(NamedTuple):
    crc: int
    compressed_size: int
    size: int
    length: int


def parse_descriptor(read: Callable[[int], bytes], zip64: bool) -> Descriptor:
    """The data descriptor after an entry's data, through ``read(n)`` (the next ``n`` bytes).

    Its signature is optional, so the first four bytes are either the signature or the CRC.
    """
    head = read(4)
    signed = head == DESCRIPTOR
    crc_bytes = read(4) if signed else head
    width = 8 if zip64 else 4
    sizes = read(2 * width)
    if len(crc_bytes) < 4 or len(sizes) < 2 * width:
        raise FormatError("the data descriptor is cut short")
    (crc,) = struct.unpack("<I", crc_bytes)
    csize, size = struct.unpack("<2Q" if zip64 else "<2I", sizes)
    return Descriptor(crc, csize, size, (4 if signed else 0) + 4 + 2 * width)


def method_name(method: int) -> str:
    return METHOD_NAMES.get(method, f"method {method}")
