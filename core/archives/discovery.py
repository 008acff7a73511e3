"""Find the archives under a folder and put each Info-ZIP split set back together.

Zenodo caps a record's size, so the train split set is spread over three records, and a user's
download folder may keep one subfolder per record: volumes are looked for in every subfolder.
A set is named by its stem (``train_split``): ``train_split.zip`` is its last disk and
``train_split.z01`` .. ``train_split.z16`` the ones before, and the ``.zip``'s end record says
how many disks there are. A volume that is missing, one too many, or found in two places is a
one-line error naming the set; one of the wrong size is found when the set is opened
(:mod:`.container`). Everything that is not an archive or a volume is a *loose* file.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from .container import ZipArchive
from .errors import ArchiveError
from .records import END_SIZE, LOCATOR_SIZE, MAX_COMMENT, SPLIT_MARKERS, FormatError, find_end
from .sources import Volumes

_ZIP = re.compile(r"^(?P<stem>.+)\.zip$", re.IGNORECASE)
_VOLUME = re.compile(r"^(?P<stem>.+)\.z(?P<number>\d{2,})$", re.IGNORECASE)


@dataclass
class ArchiveSet:
    """A ``.zip`` and the volumes found for it (``{1: X.z01, ...}``), wherever each lies."""

    last: Path
    volumes: dict[int, Path] = field(default_factory=dict)

    @property
    def stem(self) -> str:
        return self.last.name[: -len(".zip")]


@dataclass
class Found:
    archives: list[ArchiveSet]
    loose: list[Path]  # every other file, relative to the folder searched


def find_archives(root: Path) -> Found:
    """Every archive, split set and loose file under ``root`` (hidden files and folders aside)."""
    zips: dict[str, list[Path]] = {}
    volumes: dict[tuple[str, int], list[Path]] = {}
    loose: list[Path] = []
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
        for name in sorted(files):
            if name.startswith("."):
                continue
            path = Path(folder, name)
            if match := _ZIP.match(name):
                zips.setdefault(match["stem"], []).append(path)
            elif match := _VOLUME.match(name):
                volumes.setdefault((match["stem"], int(match["number"])), []).append(path)
            else:
                loose.append(path.relative_to(root))
    for paths in [*zips.values(), *volumes.values()]:
        if len(paths) > 1:
            raise ArchiveError(
                paths[0],
                f"is also at {', '.join(str(p) for p in paths[1:])}",
                remedy="keep one copy of each archive file",
            )
    sets = {stem: ArchiveSet(paths[0]) for stem, paths in zips.items()}
    for (stem, number), (path,) in sorted(volumes.items()):
        if stem not in sets:
            raise ArchiveError(
                path,
                f"is a volume of the split archive {stem}.zip, which is not under {root}",
                remedy=f"download {stem}.zip too (into any subfolder of {root})",
            )
        sets[stem].volumes[number] = path
    return Found([sets[stem] for stem in sorted(sets)], loose)


def disk_count(path: Path) -> int:
    """How many disks the archive whose last disk is ``path`` says it has."""
    last = Volumes([path])
    try:
        length = min(last.size, END_SIZE + MAX_COMMENT + LOCATOR_SIZE)
        return find_end(last.read(last.size - length, length)).disks
    except FormatError as error:
        raise ArchiveError(path, str(error)) from None
    finally:
        last.close()


def open_set(archive: ArchiveSet) -> ZipArchive:
    """Open a single zip or a whole split set, after checking its volumes are all there."""
    expected = disk_count(archive.last) - 1  # the .zNN volumes before the .zip
    stem = archive.stem
    missing = [f"{stem}.z{n:02d}" for n in range(1, expected + 1) if n not in archive.volumes]
    if missing:
        shown = ", ".join(missing[:5]) + (
            f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        )
        raise ArchiveError(
            archive.last,
            f"is the last of {expected + 1} volumes ({stem}.z01 .. {stem}.zip), but "
            f"{shown} {'is' if len(missing) == 1 else 'are'} missing",
            remedy="download the missing volumes (into any subfolder of the archives folder)",
        )
    extra = [path for number, path in sorted(archive.volumes.items()) if number > expected]
    if extra:
        raise ArchiveError(
            extra[0],
            f"is not a volume of {archive.last.name}, which has {expected + 1}",
            remedy=f"remove it, or download {archive.last.name} again if it is the one out of date",
        )
    paths = [archive.volumes[n] for n in range(1, expected + 1)] + [archive.last]
    source = Volumes(paths)
    if expected and source.read(0, 4) not in SPLIT_MARKERS:
        source.close()
        raise ArchiveError(paths[0], f"does not start as the first volume of {archive.last.name}")
    return ZipArchive.open(source)
