"""Peak memory and disk of commands run as a user runs them, sampled from outside.

A benchmark that runs ``codecfake prepare`` (or ``7z``, ``unzip``) in a subprocess cannot ask it
for its peak memory: workers come and go, and ``ru_maxrss`` is per process. :class:`PeakSampler`
polls from a thread of the benchmark instead: the RSS of the whole process tree of the command
running (every 0.1 s), and the disk that named measures report (every 0.5 s: walking a folder
costs more). Peaks between two samples can be missed; at these rates they are not the ones that
matter (a tree grows for seconds, not milliseconds).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType

import psutil

RSS_EVERY = 0.1
DISK_EVERY = 0.5


def tree_rss(process: psutil.Process) -> int:
    """Resident bytes of ``process`` and all its descendants now."""
    total = 0
    for member in [process, *process.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            total += member.memory_info().rss
    return total


def disk_used(folder: Path, skip: frozenset[Path] = frozenset()) -> int:
    """Bytes allocated on disk to the files under ``folder`` (not following links), leaving out
    the folders in ``skip``; files that vanish while it walks count as gone."""
    total = 0
    pending = [folder]
    while pending:
        current = pending.pop()
        try:
            with os.scandir(current) as entries:
                for entry in entries:
                    with contextlib.suppress(FileNotFoundError):
                        if entry.is_dir(follow_symlinks=False):
                            if Path(entry.path) not in skip:
                                pending.append(Path(entry.path))
                        elif entry.is_file(follow_symlinks=False):
                            total += entry.stat(follow_symlinks=False).st_blocks * 512
        except FileNotFoundError:
            continue
    return total


class PeakSampler:
    """Runs commands one after another while a thread samples their tree's RSS and the disk.

    ``disk`` maps a name to a function returning bytes (e.g. :func:`disk_used` of a folder);
    the peak of each, and of their sum (``"all"``), is kept from ``__enter__`` to
    ``__exit__``, which samples once more, so what a route leaves behind counts even if it grew
    after the last tick.
    """

    def __init__(self, disk: Mapping[str, Callable[[], int]] | None = None) -> None:
        self.disk = dict(disk or {})
        self.peak_rss = 0
        self.peak_disk = dict.fromkeys([*self.disk, "all"], 0)
        self._process: psutil.Process | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
        self._sample_disk()

    def run(self, command: list[str], env: Mapping[str, str] | None = None) -> str:
        """Run ``command`` to the end, sampled; its stdout. A failure ends the benchmark with
        the end of its stderr (a benchmark of a failed run measures nothing)."""
        child = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {})},
        )
        self._process = psutil.Process(child.pid)
        try:
            stdout, stderr = child.communicate()
        finally:
            self._process = None
        if child.returncode:
            sys.exit(f"{command[0]} failed ({child.returncode}): {stderr.strip()[-2000:]}")
        return stdout

    def _sample(self) -> None:
        ticks_per_disk = round(DISK_EVERY / RSS_EVERY)
        tick = 0
        while not self._stop.is_set():
            process = self._process
            if process is not None:
                with contextlib.suppress(psutil.Error):
                    self.peak_rss = max(self.peak_rss, tree_rss(process))
            if tick % ticks_per_disk == 0:
                self._sample_disk()
            tick += 1
            self._stop.wait(RSS_EVERY)

    def _sample_disk(self) -> None:
        if not self.disk:
            return
        now = {name: measure() for name, measure in self.disk.items()}
        now["all"] = sum(now.values())
        for name, value in now.items():
            self.peak_disk[name] = max(self.peak_disk[name], value)
