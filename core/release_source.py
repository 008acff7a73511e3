"""Where a release's files come from: an extracted folder, or the archives as downloaded.

``prepare`` reads a release through one interface whichever it is given: the label files, the
audio folders (``train``, ``dev``, ``test/C1``, ...) with each file's size, and the bytes of each
clip, through a small picklable reader that a worker process can use. :func:`open_release`
decides: a folder that holds archives (``.zip``, Info-ZIP volumes ``.z01``) is read through
:mod:`codecfake_core.archives`, which also takes loose and already extracted files beside them;
any other folder is an extracted release.

A clip is named by a *reference*: its path for a folder, its archive :class:`~.archives.Member`
for archives. Its *identity* says whether it may have changed since a shard was made from it:
size, times and inode for a file (a hash then settles it), size and CRC-32 for an archive member
(the CRC is of the content, and every read checks it).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from codecfake import CONDITIONS_FILE, RELEASE_SPLIT_DIR, ReleaseError

from .archives import Member, ReleaseArchives, ReleaseFolder

ClipRef = Path | Member
ROOT_SEARCH_DEPTH = 4
"""How far below RELEASE_DIR to look for ``label/`` (archives extracted with their own folders)."""
SHOWN = 5
log = logging.getLogger("codecfake")


@dataclass(frozen=True)
class LabelFile:
    """One label file: the split it lists, its name, the audio folder of its rows."""

    split: str  # train / validation / test
    stem: str  # train, dev, C1, C3-1, A3, ...: what configurations name
    folder: str  # the release folder of its audio: train, dev, test/C1
    shown: str  # where it is, for messages: a path, or "archive > entry"


class AudioFolder(Protocol):
    """One release folder's audio files."""

    def size(self, file: str) -> int | None:
        """The file's size, or ``None`` when the folder lacks it."""

    def files(self) -> Iterator[str]:
        """Every file name in the folder."""


class ClipReader(Protocol):
    """Reads clips by reference; picklable, so that a worker process can hold one.

    ``identity_is_content``: an unchanged identity proves unchanged bytes (an archive member's
    CRC), so a changed one proves changed bytes; a file's identity only hints, and a hash of its
    bytes settles it.
    """

    identity_is_content: bool

    def read(self, ref: ClipRef) -> bytes: ...

    def identity(self, ref: ClipRef) -> list[int]: ...

    def shown(self, ref: ClipRef) -> str: ...


class ReleaseSource(Protocol):
    """A release to read: see the module docstring."""

    root: Path

    def label_files(self) -> list[LabelFile]: ...

    def label_text(self, label: LabelFile) -> bytes: ...

    def conditions_text(self) -> bytes | None: ...

    def folder(self, path: str) -> AudioFolder | None: ...

    def audio_folders(self) -> list[str]: ...

    def locate(self, folder: str, file: str) -> ClipRef: ...

    def shown(self, ref: ClipRef) -> str: ...

    def where(self, folder: str, file: str) -> str: ...

    def reader(self) -> ClipReader: ...

    def random_access(self, ref: ClipRef) -> bool: ...

    def read_in_order(self, refs: Iterable[ClipRef]) -> Iterator[tuple[ClipRef, bytes]]: ...

    def copy_digest(self, ref: ClipRef) -> str: ...

    def fingerprint(self) -> str: ...

    def close(self) -> None: ...


def _label_file(stem: str, shown: str) -> LabelFile:
    for split, folder in RELEASE_SPLIT_DIR.items():
        if stem == folder and split != "test":
            return LabelFile(split, stem, folder, shown)
    return LabelFile("test", stem, f"test/{stem}", shown)


def _label_order(labels: Iterable[LabelFile]) -> list[LabelFile]:
    """train, then dev, then the test label files by name: the order rows are read in."""
    rank = {"train": 0, "validation": 1, "test": 2}
    return sorted(labels, key=lambda label: (rank[label.split], label.stem))


# --------------------------------------------------------------------------------------------
# An extracted release
# --------------------------------------------------------------------------------------------


class _Files:
    def __init__(self, path: Path):
        self.path = path

    def size(self, file: str) -> int | None:
        try:
            return (self.path / file).stat().st_size
        except FileNotFoundError:
            return None
        except OSError as error:
            raise ReleaseError(self.path / file, f"cannot be read ({error.strerror})") from error

    def files(self) -> Iterator[str]:
        with os.scandir(self.path) as entries:
            yield from sorted(e.name for e in entries)


class FileReader:
    """Reads the files of an extracted release (picklable: it holds nothing)."""

    identity_is_content = False

    def shown(self, ref: ClipRef) -> str:
        return str(ref)

    def read(self, ref: ClipRef) -> bytes:
        assert isinstance(ref, Path)
        return ref.read_bytes()

    def identity(self, ref: ClipRef) -> list[int]:
        """What changes whenever a file's bytes may have: size, mtime, ctime and inode."""
        assert isinstance(ref, Path)
        stat = os.stat(ref)
        return [stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino]


class ExtractedRelease:
    """A release folder in the official layout (``label/``, ``train/``, ``dev/``, ``test/``)."""

    def __init__(self, root: Path):
        self.root = root

    def label_files(self) -> list[LabelFile]:
        label_dir = self.root / "label"
        return _label_order(_label_file(p.stem, str(p)) for p in label_dir.glob("*.txt"))

    def label_text(self, label: LabelFile) -> bytes:
        return Path(label.shown).read_bytes()

    def conditions_text(self) -> bytes | None:
        path = self.root / "label" / CONDITIONS_FILE
        return path.read_bytes() if path.is_file() else None

    def folder(self, path: str) -> AudioFolder | None:
        folder = self.root / path
        return _Files(folder) if folder.is_dir() else None

    def audio_folders(self) -> list[str]:
        found = [name for name in ("train", "dev") if (self.root / name).is_dir()]
        tests = self.root / "test"
        if tests.is_dir():
            found += [f"test/{p.name}" for p in sorted(tests.iterdir()) if p.is_dir()]
        return found

    def locate(self, folder: str, file: str) -> ClipRef:
        return self.root / folder / file

    def shown(self, ref: ClipRef) -> str:
        return str(ref)

    def where(self, folder: str, file: str) -> str:
        """A file of a release folder, present or not, for reports: its path."""
        return str(self.root / folder / file)

    def reader(self) -> ClipReader:
        return FileReader()

    def random_access(self, ref: ClipRef) -> bool:
        return True

    def read_in_order(self, refs: Iterable[ClipRef]) -> Iterator[tuple[ClipRef, bytes]]:
        return ((ref, FileReader().read(ref)) for ref in refs)

    def copy_digest(self, ref: ClipRef) -> str:
        assert isinstance(ref, Path)
        with open(ref, "rb") as handle:
            return hashlib.file_digest(handle, "blake2b").hexdigest()

    def fingerprint(self) -> str:
        return _fingerprint(
            (p.name, p.read_bytes()) for p in (self.root / "label").glob("*") if p.is_file()
        )

    def close(self) -> None:
        pass


# --------------------------------------------------------------------------------------------
# The archives as downloaded
# --------------------------------------------------------------------------------------------


class _Members:
    def __init__(self, folder: ReleaseFolder):
        self.folder = folder

    def size(self, file: str) -> int | None:
        return self.folder.size(file)

    def files(self) -> Iterator[str]:
        return self.folder.files()


@dataclass(frozen=True)
class MemberReader:
    """Reads archive members in any process (``ArchiveReader``, picklable)."""

    archives: Any  # codecfake_core.archives.ArchiveReader
    identity_is_content = True

    def shown(self, ref: ClipRef) -> str:
        """Where in the release: ``test/C1/F01_x.wav`` (the archive is named by read errors)."""
        assert isinstance(ref, Member)
        return ref.path

    def read(self, ref: ClipRef) -> bytes:
        assert isinstance(ref, Member)
        return self.archives.read(ref)

    def identity(self, ref: ClipRef) -> list[int]:
        """Size and CRC-32: of the content, and checked by every read of it."""
        assert isinstance(ref, Member)
        return [ref.size, ref.crc if ref.crc is not None else -1]


class ArchivedRelease:
    """The release inside a folder of archives (plus loose or extracted files beside them)."""

    def __init__(self, archives: ReleaseArchives):
        self.archives = archives
        self.root = archives.root

    def label_files(self) -> list[LabelFile]:
        folder = self.archives.folders.get("label")
        members = [m for m in folder if m.file.endswith(".txt")] if folder is not None else []
        return _label_order(
            _label_file(m.file.removesuffix(".txt"), self.archives.describe(m)) for m in members
        )

    def label_text(self, label: LabelFile) -> bytes:
        text = self.archives.label(f"{label.stem}.txt")
        assert text is not None
        return text

    def conditions_text(self) -> bytes | None:
        return self.archives.label(CONDITIONS_FILE)

    def folder(self, path: str) -> AudioFolder | None:
        folder = self.archives.folders.get(path)
        return _Members(folder) if folder is not None else None

    def audio_folders(self) -> list[str]:
        return sorted(path for path in self.archives.folders if path != "label")

    def locate(self, folder: str, file: str) -> ClipRef:
        member = self.archives.folders[folder].get(file)
        assert member is not None, f"{folder}/{file} was planned, so it is listed"
        return member

    def shown(self, ref: ClipRef) -> str:
        assert isinstance(ref, Member)
        return self.archives.describe(ref)

    def where(self, folder: str, file: str) -> str:
        """A file of a release folder, present or not, for reports: where in the release."""
        return f"{folder}/{file}"

    def reader(self) -> ClipReader:
        return MemberReader(self.archives.reader())

    def random_access(self, ref: ClipRef) -> bool:
        assert isinstance(ref, Member)
        return self.archives.random_access(ref)

    def read_in_order(self, refs: Iterable[ClipRef]) -> Iterator[tuple[ClipRef, bytes]]:
        members = [ref for ref in refs if isinstance(ref, Member)]
        return self.archives.read_in_order(members)

    def copy_digest(self, ref: ClipRef) -> str:
        """Size and CRC-32: from the archive's listing, no byte read (an equal CRC of a
        different clip of the same size is a 1 in 4 billion chance a pair); a loose file beside
        the archives is read for its CRC, so its copies compare with archived ones."""
        assert isinstance(ref, Member)
        crc = ref.crc if ref.crc is not None else zlib.crc32(self.archives.read(ref))
        return f"{ref.size}:{crc}"

    def fingerprint(self) -> str:
        folder = self.archives.folders.get("label")
        members = list(folder) if folder is not None else []
        return _fingerprint((m.file, self.archives.read(m)) for m in members)

    def close(self) -> None:
        self.archives.close()


_ARCHIVE = re.compile(r"\.(zip|z\d{2,})$", re.IGNORECASE)


def holds_archives(folder: Path) -> bool:
    """Whether ``folder`` holds zip archives or Info-ZIP volumes, at any depth.

    An extracted release root (it has ``label/``) is taken as one unless archives sit beside
    ``label/`` itself, so a million extracted clips are not walked to decide. Elsewhere the
    walk stops at the first archive found.
    """
    if not folder.is_dir():
        return False
    if (folder / "label").is_dir():
        return any(_ARCHIVE.search(p.name) for p in folder.iterdir() if p.is_file())
    for _parent, subfolders, files in os.walk(folder):
        subfolders[:] = [d for d in subfolders if not d.startswith(".")]
        if any(_ARCHIVE.search(name) and not name.startswith(".") for name in files):
            return True
    return False


def _fingerprint(files: Iterable[tuple[str, bytes]]) -> str:
    """A hash of the label folder's files by name: what "the same release" means for a rerun
    (the same as before sources were told apart, so folders prepared then still match)."""
    digest = hashlib.sha256()
    for name, data in sorted(files):
        digest.update(name.encode() + b"\0" + data + b"\0")
    return digest.hexdigest()[:16]


def open_release(root: Path) -> ReleaseSource:
    """The release in ``root``: its archives when it holds any (:class:`ArchivedRelease`, loose
    and extracted files beside them included), else the extracted release at or a few folders
    below it (:class:`ExtractedRelease`). Close it after use."""
    if holds_archives(root):
        return ArchivedRelease(ReleaseArchives.scan(root))
    return ExtractedRelease(find_release_root(root))


def find_release_root(release_dir: os.PathLike[str] | str) -> Path:
    """RELEASE_DIR itself, or the one release root a few folders below it.

    Archives extracted with 7z or unzip, some with absolute paths inside, leave ``label/`` a few
    folders down. Exactly one root below is taken (and logged); several are listed.
    """
    root = Path(release_dir)
    if (root / "label").is_dir() or not root.is_dir():
        return root
    found = sorted(_roots_below(root, ROOT_SEARCH_DEPTH))
    if len(found) == 1:
        log.warning("using the release found at %s (below %s)", found[0], root)
        return found[0]
    if found:
        raise ReleaseError(
            root,
            f"holds {len(found)} releases ({', '.join(str(p) for p in found[:SHOWN])}); "
            "give the one to prepare",
        )
    return root


def _roots_below(folder: Path, depth: int) -> Iterator[Path]:
    if depth == 0:
        return
    try:
        with os.scandir(folder) as entries:
            children = [Path(e.path) for e in entries if e.is_dir() and not e.name.startswith(".")]
    except OSError:
        return
    for child in children:
        if (child / "label").is_dir():
            yield child
        else:
            yield from _roots_below(child, depth - 1)


def archive_position(ref: ClipRef) -> tuple[int, int, str]:
    """Where a clip's bytes lie: the order :meth:`ReleaseSource.read_in_order` reads them in."""
    if isinstance(ref, Member):
        return (ref.location.container, ref.location.offset, ref.location.name)
    return (0, 0, str(ref))
