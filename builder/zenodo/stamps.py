"""What a rerun may trust without reading the whole release again: a stamp per verified file.

A file is stamped when its md5 matched Zenodo's, with its size and modification time. On a
rerun a file whose size and mtime still match its stamp, and whose stamp's md5 is still what
Zenodo lists, counts as complete; anything else (no stamp, a touched or replaced file, a new
upload on Zenodo) is hashed again. The stamps live in one small JSON file in DEST, rewritten
atomically, under a lock, so two runs into one folder never lose each other's stamps.
"""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path

from codecfake_core.io import atomic_write_json, exclusive_lock

STAMP_FILE = ".codecfake-download.json"


class Stamps:
    """The verified-file stamps of one DEST folder."""

    def __init__(self, folder: Path):
        self.path = folder / STAMP_FILE
        self._lock = threading.Lock()

    def _read(self) -> dict[str, dict[str, object]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):  # none yet, or damaged: everything is rehashed
            return {}
        return data if isinstance(data, dict) else {}

    def matches(self, path: Path, md5: str) -> bool:
        """Whether ``path`` is the file stamped as having ``md5``, unchanged since."""
        stamp = self._read().get(path.name)
        if not isinstance(stamp, dict) or stamp.get("md5") != md5:
            return False
        try:
            status = path.stat()
        except FileNotFoundError:
            return False
        return stamp.get("size") == status.st_size and stamp.get("mtime_ns") == status.st_mtime_ns

    def record(self, path: Path, md5: str) -> None:
        """Stamp ``path`` (just verified against ``md5``) as it is on disk now."""
        status = path.stat()
        stamp = {"md5": md5, "size": status.st_size, "mtime_ns": status.st_mtime_ns}
        with self._lock, exclusive_lock(self.path.with_name(f"{STAMP_FILE}.lock")):
            stamps = self._read()
            stamps[path.name] = stamp
            atomic_write_json(self.path, stamps)


def md5_of(path: Path, limit: int | None = None, chunk: int = 1 << 22) -> hashlib._Hash:
    """An md5 object fed with ``path``'s first ``limit`` bytes (all of it when ``None``): a
    whole-file check, or the start of one that goes on with the bytes still to come."""
    digest = hashlib.md5(usedforsecurity=False)
    left = limit
    with open(path, "rb") as handle:
        while left is None or left > 0:
            block = handle.read(chunk if left is None else min(chunk, left))
            if not block:
                break
            digest.update(block)
            if left is not None:
                left -= len(block)
    return digest
