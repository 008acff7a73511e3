"""When a shard of an interrupted run may be kept: only while it still holds the release's bytes.

A killed ``prepare`` leaves finished shards in its staging folder, and the rerun keeps them. A
shard's name and file list say nothing about whether the audio on disk is still what it holds:
users re-extract archives (the audio changes, the label files do not). So each shard gets a
record, written before the shard is put in place, of what it was made from: each clip's identity
(a file's size, modification and change times and inode; an archive member's size and CRC-32)
and the digest of the rows it holds.

On resume, unchanged identities keep the shard at the cost of a ``stat`` per clip. A changed
member CRC means changed bytes: the shard is rewritten. A changed file identity (re-extraction
gives new inodes and change times even when an archive restores the old modification times)
makes the content settle it: the clips are hashed as the shard would hold them, and the shard
is kept only if the digest is the one recorded; otherwise it is rewritten.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codecfake_core.io import atomic_write_json
from codecfake_core.release_source import ClipReader, ClipRef

log = logging.getLogger("codecfake")

RECORDS = ".resume"
"""The folder, inside a staging folder, of one record per finished shard (never installed)."""


def row_digest() -> Any:
    """The digest a shard's content is summed up by (see :func:`add_row`)."""
    return hashlib.sha256()


def add_row(digest: Any, file: str, audio: bytes) -> None:
    """Add one row (its file name and audio bytes, in shard order) to a shard digest."""
    digest.update(f"{file}\0{len(audio)}\0".encode())
    digest.update(audio)


@dataclass(frozen=True)
class ShardRecord:
    """What a finished shard was made from, and what it holds."""

    files: list[str]  # every clip planned for the shard, in order
    identities: list[list[int]]  # file_identity of each, when it was read
    digest: str  # over the rows stored
    damaged: dict[str, str]  # file -> why: planned clips left out (--skip-damaged-audio)

    @staticmethod
    def path(staging: Path, shard: str) -> Path:
        return staging / RECORDS / f"{shard.replace('/', '__')}.json"

    def write(self, staging: Path, shard: str) -> None:
        atomic_write_json(self.path(staging, shard), dataclasses.asdict(self))

    @classmethod
    def read(cls, staging: Path, shard: str) -> ShardRecord | None:
        try:
            data = json.loads(cls.path(staging, shard).read_text(encoding="utf-8"))
            return cls(data["files"], data["identities"], data["digest"], data["damaged"])
        except (OSError, ValueError, KeyError, TypeError):
            return None  # no record, or a torn one: the shard is rewritten


def kept_digest(
    staging: Path,
    shard: str,
    files: Sequence[str],
    refs: Sequence[ClipRef],
    reader: ClipReader,
    skip_damaged: bool,
) -> ShardRecord | None:
    """The record of ``shard`` if the finished shard may be kept as it is, else ``None``.

    ``files`` and ``refs`` are the clips the shard must hold now and where the release has them.
    A shard that left damaged clips out is kept only while they are still to be left out: under
    ``--skip-damaged-audio``, and with no clip changed since.
    """
    record = ShardRecord.read(staging, shard)
    if record is None or record.files != list(files) or not (staging / shard).is_file():
        return None
    if record.damaged and not skip_damaged:
        return None
    try:
        identities = [reader.identity(ref) for ref in refs]
    except OSError:
        return None
    if identities == record.identities:
        return record
    if record.damaged or reader.identity_is_content:
        return None  # changed bytes (or a damaged clip that may have been repaired): rewrite
    digest = row_digest()
    try:
        for file, ref in zip(files, refs, strict=True):
            add_row(digest, file, reader.read(ref))
    except OSError:
        return None
    changed = sum(a != b for a, b in zip(identities, record.identities, strict=True))
    if digest.hexdigest() != record.digest:
        log.info("%s: the release's audio changed since the interrupted run; rewriting it", shard)
        return None
    log.debug("%s: %d clips were touched but hold the same audio; kept", shard, changed)
    kept = ShardRecord(record.files, identities, record.digest, record.damaged)
    kept.write(staging, shard)
    return kept
