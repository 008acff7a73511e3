"""Write one stored part of a release plan as Parquet shards, with the audio bytes embedded.

Shards are written at the Arrow level with :data:`codecfake.FEATURES`' schema, whose metadata
tells ``datasets`` that ``audio`` is an Audio feature and ``label`` a ClassLabel, so no torch is
imported to write them. Each shard streams out in small row groups (small row groups keep
streaming reads cheap) and lands by an atomic rename, so a shard on disk is always complete.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

import codecfake
from codecfake import Part, ReleaseError
from codecfake_core.io import atomic_path
from codecfake_core.release import read_clip_bytes

from .plan import PlannedClip, ReleaseIndex, ReleasePlan

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


def write_shard(task: ShardTask, out_dir: Path) -> str:
    """Write ``task`` under ``out_dir`` and return its content digest (:func:`shard_digest`).

    A complete shard from an interrupted run is kept as is (and its digest read back).
    """
    target = out_dir / task.name
    files = [clip.file for clip in task.clips]
    if target.exists() and shard_files(target) == files:
        return shard_digest(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    schema = codecfake.FEATURES.arrow_schema
    digest = hashlib.sha256()
    with (
        atomic_path(target) as partial,
        pq.ParquetWriter(
            partial, schema, compression=COMPRESSION, use_dictionary=DICTIONARY_COLUMNS
        ) as writer,
    ):
        for start in range(0, len(task.clips), ROWS_PER_GROUP):
            rows = [_row(task.release, c) for c in task.clips[start : start + ROWS_PER_GROUP]]
            for row in rows:
                _digest_row(digest, row["file"], row["audio"]["bytes"])
            writer.write_table(pa.Table.from_pylist(rows, schema=schema))
    return digest.hexdigest()


def _digest_row(digest: Any, file: str, audio: bytes) -> None:
    digest.update(f"{file}\0{len(audio)}\0".encode())
    digest.update(audio)


def shard_digest(path: Path) -> str:
    """sha256 over a shard's rows (file name and audio bytes, in order): what it holds."""
    digest = hashlib.sha256()
    table = pq.read_table(path, columns=["file", "audio"])
    for file, audio in zip(
        table.column("file").to_pylist(), table.column("audio").to_pylist(), strict=True
    ):
        _digest_row(digest, file, audio["bytes"])
    return digest.hexdigest()


def _row(release: ReleaseIndex, planned: PlannedClip) -> dict[str, Any]:
    clip = release.clip(planned)
    try:
        data = read_clip_bytes(clip.path)
    except ReleaseError as error:
        raise ReleaseError(
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
