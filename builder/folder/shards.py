"""Write one stored part of a release plan as Parquet shards, with the audio bytes embedded.

Shards are written at the Arrow level with :data:`codecfake.FEATURES`' schema, whose metadata
tells ``datasets`` that ``audio`` is an Audio feature and ``label`` a ClassLabel, so no torch is
imported to write them. Each shard streams out in small row groups and lands by an atomic
rename, so a shard on disk is always complete. Clips are read through the release's reader
(files, or archive members), one shard at a time in any process, or, for a zip deflated inside
an archive, in one forward pass that feeds several shards (:func:`write_in_archive_order`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

import codecfake
from codecfake import Part, ReleaseError
from codecfake_core.io import PendingFile
from codecfake_core.release import DamagedAudioError, check_clip_bytes
from codecfake_core.release_source import ClipReader, ClipRef, ReleaseSource

from .plan import PlannedClip, ReleaseIndex, ReleasePlan
from .resume import ShardRecord, add_row, kept_digest, row_digest

ROWS_PER_GROUP = 100
"""The row-group size ``datasets`` itself uses for audio: one streamed read fetches ~100 clips."""
MAX_SHARD_ROWS = 10_000
"""A shard holds at most this many clips, whatever their size. The worker writing it holds the
clips, their archive members and identities, about 2 KB each: 90,000 tiny clips of one part
would make one worker 200 MB bigger. Real clips (3 s, 96 kB) reach the byte limit at 5,000."""

# WAV bytes do not compress (snappy gains ~1% on them for most of the write time): store the
# audio as is and compress only the small text columns, which repeat a lot.
COMPRESSION = {"audio.bytes": "NONE", "audio.path": "SNAPPY"} | {
    name: "SNAPPY" for name in codecfake.COLUMNS if name != "audio"
}
DICTIONARY_COLUMNS = [name for name in codecfake.COLUMNS if name not in ("audio", "file")]


@dataclass(frozen=True)
class ShardTask:
    """One shard of one part: what a worker process needs to write it, and nothing more.

    ``refs`` (where each clip's bytes are) and the ``reader`` of them are filled in just before
    the shard is written (:meth:`located`), so that a million planned clips never hold a
    million archive members at once. ``schema`` is :data:`codecfake.FEATURES`' Arrow schema,
    made once by the parent: a worker that made it would import ``datasets`` (1.5 s of CPU and
    100 MB each) for nothing else.
    """

    release: ReleaseIndex
    part: Part
    index: int
    count: int
    clips: tuple[PlannedClip, ...]
    schema: pa.Schema
    refs: tuple[ClipRef, ...] = ()
    reader: ClipReader | None = None

    @property
    def name(self) -> str:
        return self.part.shard_name(self.index, self.count)

    def located(self, plan: ReleasePlan, reader: ClipReader) -> ShardTask:
        return replace(self, refs=tuple(plan.locate(c) for c in self.clips), reader=reader)


def shard_tasks(plan: ReleasePlan, max_shard_bytes: int) -> list[ShardTask]:
    """Cut every part into shards of at most ``max_shard_bytes`` of audio (one clip at least)
    and :data:`MAX_SHARD_ROWS` clips."""
    tasks: list[ShardTask] = []
    schema = codecfake.FEATURES.arrow_schema
    for part, clips in sorted(plan.parts.items(), key=lambda item: item[0].pattern):
        groups = list(_by_size(clips, max_shard_bytes))
        tasks.extend(
            ShardTask(plan.index, part, i, len(groups), tuple(group), schema)
            for i, group in enumerate(groups)
        )
    return tasks


def _by_size(clips: list[PlannedClip], limit: int) -> Iterator[list[PlannedClip]]:
    """Consecutive groups of at most ``limit`` bytes and :data:`MAX_SHARD_ROWS` clips."""
    group: list[PlannedClip] = []
    size = 0
    for clip in clips:
        if group and (size + clip.size > limit or len(group) == MAX_SHARD_ROWS):
            yield group
            group, size = [], 0
        group.append(clip)
        size += clip.size
    if group:
        yield group


@dataclass(frozen=True)
class ShardOutcome:
    """What writing one shard gave: its digest, or the damaged clips that kept it unfinished."""

    name: str
    digest: str | None  # None: not written, because clips are damaged and not to be skipped
    damaged: tuple[str, ...] = ()  # "where: reason (named at label:line)" of each damaged clip
    skipped: tuple[PlannedClip, ...] = ()  # the damaged clips left out of a written shard


class ShardWriter:
    """Writes one shard's rows as its clips arrive, into a temporary that lands only finished.

    Rows stream out in small row groups (small row groups keep streaming reads cheap). A clip
    whose audio is damaged (truncated, empty, undecodable) is left out under ``skip_damaged``;
    otherwise the shard is not finished, and its outcome names every damaged clip in it, so that
    one run reports them all. The resume record (:mod:`.resume`) is written before the shard
    is put in place.
    """

    def __init__(self, task: ShardTask, staging: Path, skip_damaged: bool) -> None:
        self.task, self.staging, self.skip_damaged = task, staging, skip_damaged
        self.pending = PendingFile(staging / task.name)
        self.writer = pq.ParquetWriter(
            self.pending.path,
            task.schema,
            compression=COMPRESSION,
            use_dictionary=DICTIONARY_COLUMNS,
        )
        self.digest = row_digest()
        self.rows: list[dict[str, Any]] = []
        self.identities: list[list[int]] = []
        self.damaged: list[tuple[PlannedClip, str]] = []

    @property
    def complete(self) -> bool:
        return len(self.identities) == len(self.task.clips)

    def add(self, position: int, data: bytes) -> None:
        """The bytes of the clip at ``position`` (clips arrive in the task's order)."""
        task = self.task
        clip, ref = task.clips[position], task.refs[position]
        assert task.reader is not None and position == len(self.identities)
        self.identities.append(task.reader.identity(ref))
        shown = task.reader.shown(ref)
        try:
            check_clip_bytes(data, shown)
        except DamagedAudioError as error:
            self.damaged.append((clip, f"{error} (named at {task.release.where(clip)})"))
            return
        add_row(self.digest, clip.file, data)
        self.rows.append(task.release.clip(clip).row(data))
        if len(self.rows) == ROWS_PER_GROUP:
            self._flush()

    def _flush(self) -> None:
        if self.rows:
            self.writer.write_table(pa.Table.from_pylist(self.rows, schema=self.task.schema))
            self.rows = []

    def finish(self) -> ShardOutcome:
        self._flush()
        self.writer.close()
        reasons = tuple(reason for _, reason in self.damaged)
        if self.damaged and not self.skip_damaged:
            self.pending.discard()
            return ShardOutcome(self.task.name, None, reasons)
        left_out = {clip.file: reason for clip, reason in self.damaged}
        files = [clip.file for clip in self.task.clips]
        record = ShardRecord(files, self.identities, self.digest.hexdigest(), left_out)
        record.write(self.staging, self.task.name)
        self.pending.commit()
        skipped = tuple(clip for clip, _ in self.damaged)
        return ShardOutcome(self.task.name, record.digest, reasons, skipped)

    def discard(self) -> None:
        """Give up the shard (the run stops): nothing of it stays."""
        with contextlib.suppress(OSError, ValueError):
            self.writer.close()
        self.pending.discard()


def kept_outcome(task: ShardTask, staging: Path, skip_damaged: bool) -> ShardOutcome | None:
    """The outcome of ``task``'s shard as an interrupted run finished it, if it may be kept."""
    assert task.reader is not None
    files = [clip.file for clip in task.clips]
    kept = kept_digest(staging, task.name, files, task.refs, task.reader, skip_damaged)
    if kept is None:
        return None
    skipped = tuple(c for c in task.clips if c.file in kept.damaged)
    return ShardOutcome(task.name, kept.digest, tuple(kept.damaged.values()), skipped)


def write_shard(task: ShardTask, staging: Path, skip_damaged: bool = False) -> ShardOutcome:
    """Write ``task`` under ``staging``, reading its clips one by one (or keep the finished shard
    of an interrupted run while the release still holds its bytes)."""
    kept = kept_outcome(task, staging, skip_damaged)
    if kept is not None:
        return kept
    assert task.reader is not None
    writer = ShardWriter(task, staging, skip_damaged)
    try:
        for position, ref in enumerate(task.refs):
            writer.add(position, _read(task, position, ref))
        return writer.finish()
    except BaseException:
        writer.discard()
        raise


def _read(task: ShardTask, position: int, ref: ClipRef) -> bytes:
    assert task.reader is not None
    try:
        return task.reader.read(ref)
    except OSError as error:  # unreadable (permissions, I/O error): still a located user error
        where = task.release.where(task.clips[position])
        raise ReleaseError(
            task.reader.shown(ref), f"cannot be read ({error.strerror}) (named at {where})"
        ) from error


def write_in_archive_order(
    tasks: list[ShardTask], source: ReleaseSource, staging: Path, skip_damaged: bool
) -> Iterator[ShardOutcome]:
    """Write shards whose clips can only be read forward (a zip deflated inside an archive) in
    one pass over the archive: each clip, as it comes, goes to its shard's writer.

    The plan put such parts' clips in archive order, so each shard fills from start to end and
    at most one shard per part is open at a time.
    """
    home: dict[ClipRef, tuple[int, int]] = {}
    for index, task in enumerate(tasks):
        home.update((ref, (index, position)) for position, ref in enumerate(task.refs))
    writers: dict[int, ShardWriter] = {}
    try:
        for ref, data in source.read_in_order(home):
            index, position = home[ref]
            if index not in writers:
                writers[index] = ShardWriter(tasks[index], staging, skip_damaged)
            writer = writers[index]
            writer.add(position, data)
            if writer.complete:
                yield writers.pop(index).finish()
    except BaseException:
        for writer in writers.values():
            writer.discard()
        raise


def shard_files(path: Path) -> list[str]:
    """The ``file`` column of a shard: cheap to read, and enough to tell which clips it holds."""
    return pq.read_table(path, columns=["file"]).column("file").to_pylist()
