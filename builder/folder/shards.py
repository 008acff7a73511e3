"""Write one stored part of a release plan as Parquet shards, with the audio bytes embedded.

Shards are written at the Arrow level with :data:`codecfake.FEATURES`' schema, whose metadata
tells ``datasets`` that ``audio`` is an Audio feature and ``label`` a ClassLabel, so no torch is
imported to write them. Each shard streams out in small row groups (small row groups keep
streaming reads cheap) and lands by an atomic rename, so a shard on disk is always complete.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

import codecfake
from codecfake import Part, ReleaseError
from codecfake_core.io import atomic_path
from codecfake_core.release import DamagedAudioError, read_clip_bytes

from .plan import PlannedClip, ReleaseIndex, ReleasePlan
from .resume import ShardRecord, add_row, file_identity, kept_digest, row_digest

ROWS_PER_GROUP = 100
"""The row-group size ``datasets`` itself uses for audio: one streamed read fetches ~100 clips."""

# WAV bytes do not compress (snappy gains ~1% on them for most of the write time): store the
# audio as is and compress only the small text columns, which repeat a lot.
COMPRESSION = {"audio.bytes": "NONE", "audio.path": "SNAPPY"} | {
    name: "SNAPPY" for name in codecfake.COLUMNS if name != "audio"
}
DICTIONARY_COLUMNS = [name for name in codecfake.COLUMNS if name not in ("audio", "file")]


@dataclass(frozen=True)
class ShardTask:
    """One shard of one part: what a worker process needs to write it, and nothing more."""

    release: ReleaseIndex
    part: Part
    index: int
    count: int
    clips: tuple[PlannedClip, ...]

    @property
    def name(self) -> str:
        return self.part.shard_name(self.index, self.count)


def shard_tasks(plan: ReleasePlan, max_shard_bytes: int) -> list[ShardTask]:
    """Cut every part into shards of at most ``max_shard_bytes`` of audio (one clip at least)."""
    tasks: list[ShardTask] = []
    for part, clips in sorted(plan.parts.items(), key=lambda item: item[0].pattern):
        groups = list(_by_size(clips, max_shard_bytes))
        tasks.extend(
            ShardTask(plan.index, part, i, len(groups), tuple(group))
            for i, group in enumerate(groups)
        )
    return tasks


def _by_size(clips: list[PlannedClip], limit: int) -> Iterator[list[PlannedClip]]:
    group: list[PlannedClip] = []
    size = 0
    for clip in clips:
        if group and size + clip.size > limit:
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
    damaged: tuple[str, ...] = ()  # "path: reason (named at label:line)" of each damaged clip
    skipped: tuple[PlannedClip, ...] = ()  # the damaged clips left out of a written shard


def write_shard(task: ShardTask, staging: Path, skip_damaged: bool = False) -> ShardOutcome:
    """Write ``task`` under ``staging`` (or keep the finished shard of an interrupted run).

    A finished shard is kept only while the release still holds the bytes it was made from
    (:mod:`.resume`). A clip whose audio is damaged (truncated, empty, undecodable) is left out
    under ``skip_damaged``; otherwise the shard is not finished, and the outcome names every
    damaged clip in it, so that one run reports them all.
    """
    target = staging / task.name
    files = [clip.file for clip in task.clips]
    paths = [task.release.audio_path(clip) for clip in task.clips]
    kept = kept_digest(staging, task.name, files, paths, skip_damaged)
    if kept is not None:
        skipped = tuple(c for c in task.clips if c.file in kept.damaged)
        return ShardOutcome(task.name, kept.digest, tuple(kept.damaged.values()), skipped)
    schema = codecfake.FEATURES.arrow_schema
    digest = row_digest()
    identities: list[list[int]] = []
    damaged: list[tuple[PlannedClip, str]] = []
    try:
        with atomic_path(target) as partial:
            with pq.ParquetWriter(
                partial, schema, compression=COMPRESSION, use_dictionary=DICTIONARY_COLUMNS
            ) as writer:
                for start in range(0, len(task.clips), ROWS_PER_GROUP):
                    rows = []
                    for clip, path in zip(
                        task.clips[start : start + ROWS_PER_GROUP],
                        paths[start : start + ROWS_PER_GROUP],
                        strict=True,
                    ):
                        identities.append(file_identity(path))
                        try:
                            row = _row(task.release, clip)
                        except DamagedAudioError as error:
                            damaged.append((clip, str(error)))
                            continue
                        add_row(digest, row["file"], row["audio"]["bytes"])
                        rows.append(row)
                    if rows:
                        writer.write_table(pa.Table.from_pylist(rows, schema=schema))
            if damaged and not skip_damaged:
                raise _Unfinished
            left_out = {clip.file: reason for clip, reason in damaged}
            ShardRecord(files, identities, digest.hexdigest(), left_out).write(staging, task.name)
    except _Unfinished:
        return ShardOutcome(task.name, None, tuple(reason for _, reason in damaged))
    return ShardOutcome(
        task.name,
        digest.hexdigest(),
        tuple(reason for _, reason in damaged),
        tuple(clip for clip, _ in damaged),
    )


class _Unfinished(Exception):
    """Raised inside the write to discard the partial shard (its temporary is removed)."""


def _row(release: ReleaseIndex, planned: PlannedClip) -> dict[str, Any]:
    clip = release.clip(planned)
    try:
        data = read_clip_bytes(clip.path)
    except ReleaseError as error:
        raise type(error)(
            error.path, f"{error.reason} (named at {release.where(planned)})"
        ) from error
    except OSError as error:  # unreadable (permissions, I/O error): still a located user error
        raise ReleaseError(
            clip.path, f"cannot be read ({error.strerror}) (named at {release.where(planned)})"
        ) from error
    return clip.row(data)


def shard_files(path: Path) -> list[str]:
    """The ``file`` column of a shard: cheap to read, and enough to tell which clips it holds."""
    return pq.read_table(path, columns=["file"]).column("file").to_pylist()


def part_rows(folder: Path, part: Part) -> int:
    """Rows a stored part holds, from its shards' footers (no audio is read)."""
    return sum(pq.read_metadata(p).num_rows for p in sorted(folder.glob(part.pattern)))
