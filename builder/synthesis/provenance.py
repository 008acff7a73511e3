"""Where every file of a rebuilt release came from: source, codec, weights, software.

A run appends one record per finished file to its shard's log, right after the file itself is
in place. A file counts as finished only when both exist, which is what makes a killed run
resumable: a file without a record is simply made again (with the same bytes). The merge step
sorts all records into ``provenance.jsonl`` at the release root.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

from ..io import atomic_open

PROVENANCE_FILE = "provenance.jsonl"
VERSIONED_PACKAGES = ("codecfake", "numpy", "soundfile", "soxr", "torch", "transformers")


def package_versions() -> dict[str, str]:
    """Versions of the packages that decide the output bytes (those installed)."""
    versions = {}
    for name in VERSIONED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


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


def iter_records(path: Path) -> Iterator[dict[str, Any]]:
    return (json.loads(line) for line in iter_lines(path))


def file_of(line: str) -> str:
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

    def append(self, record: dict[str, Any]) -> None:
        line = dumps(record)
        with self._lock:
            self._handle.write(line)
            self._handle.flush()
            self.files.add(record["file"])

    def close(self) -> None:
        self._handle.close()


def write_jsonl(path: Path, records: Iterable[dict[str, Any]]) -> None:
    """All records, one per line, written atomically."""
    write_lines(path, (dumps(r) for r in records))


def write_lines(path: Path, lines: Iterable[str]) -> None:
    """Lines (each with its newline) streamed into ``path``, which appears only when complete."""
    with atomic_open(path, "w", encoding="utf-8") as handle:
        handle.writelines(lines)
