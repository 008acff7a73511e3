"""Where every file of a rebuilt release came from: source, codec, weights, software.

A run appends one :class:`FileRecord` per finished file to its shard's log, right after the file
itself is in place. A file counts as finished only when both exist, which is what makes a killed
run resumable: a file without a record is simply made again (with the same bytes). The merge step
sorts all records into ``provenance.jsonl`` at the release root, and ``codecfake prepare`` reads
them back from the copy it keeps. :class:`FileRecord` is the one place that writes and reads the
line format.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from codecfake_core.io import atomic_open

PROVENANCE_FILE = "provenance.jsonl"


@dataclass(frozen=True)
class FileRecord:
    """One file of a rebuilt release, as its ``provenance.jsonl`` line says.

    ``condition`` is ``real`` for a real clip, whose codec fields are ``None``. ``codec`` holds
    the :class:`~codecfake_builder.codecs.base.CodecSpec` fields and ``checkpoint`` the loaded
    codec's provenance (checkpoint id, weights kind and content hash, seed, backend, versions).
    """

    file: str
    label: str
    idx: str
    split: str
    condition: str
    utterance: str
    sha256: str
    sample_rate: int
    source: dict[str, Any]  # corpus, path (corpus-relative), sha256 of the source file
    codec: dict[str, Any] | None
    checkpoint: dict[str, Any] | None
    weights: str | None  # "pretrained" or "random"
    device: str | None
    versions: dict[str, str]

    def to_json(self) -> str:
        """One canonical JSON line: sorted keys, so equal records are equal bytes."""
        return dumps(asdict(self))

    @classmethod
    def from_json(cls, line: str) -> FileRecord:
        """The record of one line; :class:`ValueError` for a line in any other shape."""
        data = json.loads(line)
        if not isinstance(data, dict) or data.keys() != _FIELDS:
            raise ValueError(f"not a codecfake provenance record: {line[:80]!r}")
        return cls(**data)

    def weights_summary(self) -> str | None:
        """The weights a fake was made with, for a dataset card: the checkpoint (or the kind of
        weights, for random ones) and the start of the weights' hash; ``None`` for a real clip."""
        if not isinstance(self.checkpoint, dict):
            return None
        described = self.checkpoint.get("checkpoint") or f"{self.checkpoint.get('weights')} weights"
        digest = self.checkpoint.get("weights_sha256")
        return f"{described} (sha256 {digest[:12]})" if digest else described


_FIELDS = {f.name for f in fields(FileRecord)}


def dumps(record: dict[str, Any]) -> str:
    """One canonical JSON line: sorted keys, so equal records are equal bytes."""
    return json.dumps(record, sort_keys=True, ensure_ascii=False, default=str) + "\n"


def iter_lines(path: Path) -> Iterator[str]:
    """Complete lines of a JSON Lines file; a torn last line (a run killed mid-write) is ignored."""
    if not path.is_file():
        return
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if not line.endswith("\n"):
                return
            yield line


def iter_records(path: Path, *, skip_others: bool = False) -> Iterator[FileRecord]:
    """The records of a provenance file. ``skip_others`` passes over lines in another shape (a
    copied failure report, a file some other tool wrote) instead of raising ValueError."""
    for line in iter_lines(path):
        try:
            yield FileRecord.from_json(line)
        except ValueError:
            if not skip_others:
                raise


def file_of(line: str) -> str:
    """The ``file`` of a record line, without building the record (a release has a million)."""
    return json.loads(line)["file"]


class RunLog:
    """The append-only record log of one shard, plus records already merged into the release.

    It remembers only which files have a record: a full release has a million of them.
    Appends are thread-safe (the writer's threads share one log).
    """

    def __init__(self, path: Path, merged: Path | None = None):
        self.path = path
        self.files: set[str] = set()
        for source in (merged, path):
            if source is not None:
                self.files.update(file_of(line) for line in iter_lines(source))
        self._drop_torn_tail()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._handle = open(path, "a", encoding="utf-8")  # noqa: SIM115 - lives as long as the log

    def _drop_torn_tail(self) -> None:
        if not self.path.is_file():
            return
        data = self.path.read_bytes()
        keep = data.rfind(b"\n") + 1
        if keep != len(data):
            with open(self.path, "r+b") as handle:
                handle.truncate(keep)

    def finished(self, release_dir: Path, file: str) -> bool:
        return file in self.files and (release_dir / file).is_file()

    def append(self, record: FileRecord) -> None:
        line = record.to_json()
        with self._lock:
            self._handle.write(line)
            self._handle.flush()
            self.files.add(record.file)

    def close(self) -> None:
        self._handle.close()


def write_jsonl(path: Path, records: Iterable[dict[str, Any]]) -> None:
    """Plain records (failure reports), one canonical line each, written atomically."""
    write_lines(path, (dumps(r) for r in records))


def write_lines(path: Path, lines: Iterable[str]) -> None:
    """Lines (each with its newline) streamed into ``path``, which appears only when complete."""
    with atomic_open(path, "w", encoding="utf-8") as handle:
        handle.writelines(lines)
