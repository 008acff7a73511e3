"""Read an extracted release into a plan: which clip goes into which stored part, and from where.

Everything that can be checked without decoding audio is checked here, before a single byte is
written: label rows (through :mod:`codecfake`), missing files, duplicated names, real clips that
two splits both claim, and copies of a shared real clip whose sizes differ. The plan keeps one
small tuple per clip, never audio, so planning a million-clip release stays in a few hundred MB.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import codecfake
from codecfake import Condition, LabelRow, Part, ReleaseError

SHOWN = 5
"""How many examples a problem report lists before it says "and N more"."""


class LabelSource(NamedTuple):
    split: str
    label_path: Path
    audio_dir: Path


class PlannedClip(NamedTuple):
    """One clip to store: enough to rebuild its row and to point at its label line."""

    file: str
    label: str
    idx: str
    line: int
    source: int  # index into ReleasePlan.sources
    size: int
    copies: tuple[str, ...] = ()  # other release paths of the same shared real clip

    def row(self) -> LabelRow:
        return LabelRow(self.file, self.label, self.idx, self.line)


def summarise(items: list[str]) -> str:
    """``a, b, c (and 12 more)``: a problem list a reader can act on without a wall of text."""
    shown = ", ".join(items[:SHOWN])
    return f"{shown} (and {len(items) - SHOWN} more)" if len(items) > SHOWN else shown


@dataclass(frozen=True)
class ReleaseIndex:
    """The label files of a release and its conditions: all a worker needs to rebuild a row."""

    sources: tuple[LabelSource, ...]
    conditions: Mapping[str, Condition]

    def where(self, clip: PlannedClip) -> str:
        """``label/C1.txt:12``: the label line that names a clip, for error messages."""
        return f"{self.sources[clip.source].label_path}:{clip.line}"

    def audio_path(self, clip: PlannedClip) -> Path:
        return self.sources[clip.source].audio_dir / clip.file

    def clip(self, clip: PlannedClip) -> codecfake.ReleaseClip:
        source = self.sources[clip.source]
        return codecfake.clip_from_label(
            source.label_path, clip.row(), source.audio_dir, self.conditions
        )


@dataclass
class ReleasePlan:
    release_dir: Path
    index: ReleaseIndex
    parts: dict[Part, list[PlannedClip]] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    missing_groups: set[str] = field(default_factory=set)
    extra_files: list[str] = field(default_factory=list)
    skipped_groups: set[str] = field(default_factory=set)
    unextracted: list[str] = field(default_factory=list)

    @property
    def conditions(self) -> Mapping[str, Condition]:
        return self.index.conditions

    @property
    def clip_count(self) -> int:
        return sum(len(clips) for clips in self.parts.values())

    @property
    def total_bytes(self) -> int:
        return sum(c.size for clips in self.parts.values() for c in clips)

    @property
    def groups(self) -> set[str]:
        return {part.group for part in self.parts}


def fingerprint(release_dir: Path) -> str:
    """A hash of the release's label files: what "the same release" means for a rerun."""
    digest = hashlib.sha256()
    for path in sorted((release_dir / "label").glob("*")):
        if path.is_file():
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def plan_release(
    release_dir: os.PathLike[str] | str,
    *,
    skip_groups: set[str] | frozenset[str] = frozenset(),
    allow_missing: bool = False,
) -> ReleasePlan:
    """Plan every clip of a release; raises :class:`ReleaseError` on the first bad input found.

    ``skip_groups`` names stored groups to leave out (``--add`` skips what a dataset already has).
    """
    root = Path(release_dir)
    if not (root / "label").is_dir():
        raise ReleaseError(root, "not an extracted Codecfake release: it has no label/ folder")
    conditions = codecfake.release_conditions(root)
    sources = [LabelSource(*s) for s in codecfake.label_sources(root)]
    if not sources:
        raise ReleaseError(root / "label", "holds no label files (train.txt, dev.txt, C1.txt, ...)")
    plan = ReleasePlan(root, ReleaseIndex(tuple(sources), conditions))
    # A real clip belongs to one split; within it, every condition's label file lists it again.
    real_home: dict[str, tuple[str, PlannedClip]] = {}
    copies: dict[str, list[str]] = {}
    for index, source in enumerate(sources):
        named: set[str] = set()
        _check_text(source.label_path)
        if not source.audio_dir.is_dir():
            # Its archive was not downloaded (e.g. only the test archives): a partial release.
            plan.unextracted.append(f"{source.label_path} ({source.audio_dir} is absent)")
            continue
        for row in codecfake.read_label_file(source.label_path):
            named.add(row.file)
            clip = codecfake.clip_from_label(source.label_path, row, source.audio_dir, conditions)
            part = clip.part(source.split)
            if part.group in skip_groups:
                plan.skipped_groups.add(part.group)
                continue
            try:
                size = clip.path.stat().st_size
            except FileNotFoundError:
                plan.missing.append(f"{source.label_path}:{row.line} {clip.path}")
                plan.missing_groups.add(part.group)
                continue
            except OSError as error:
                raise ReleaseError(
                    source.label_path, f"{clip.path} cannot be read ({error.strerror})", row.line
                ) from error
            planned = PlannedClip(row.file, row.label, row.idx, row.line, index, size)
            if part.group == codecfake.REAL_CONDITION:
                if row.file in real_home:
                    _check_copy(plan, real_home[row.file], source.split, planned)
                    copies.setdefault(row.file, []).append(str(clip.path))
                    continue
                real_home[row.file] = (source.split, planned)
            plan.parts.setdefault(part, []).append(planned)
        plan.extra_files.extend(_unnamed_files(source.audio_dir, named))
    # Audio folders no label file covers (e.g. test/C3-2/ without label/C3-2.txt) are extra too.
    covered = {source.audio_dir for source in sources}
    folders = [root / "train", root / "dev", *sorted((root / "test").glob("*"))]
    for folder in folders:
        if folder.is_dir() and folder not in covered:
            plan.extra_files.extend(_unnamed_files(folder, set()))
    _attach_copies(plan, copies)
    if not plan.parts and not plan.skipped_groups:
        raise ReleaseError(root, "holds no audio for any label file: extract its archives here")
    if plan.missing and not allow_missing:
        raise ReleaseError(
            root,
            f"{len(plan.missing)} files named in label files are missing: "
            f"{summarise(plan.missing)}. Extract every archive of the release, or pass "
            "--allow-missing to leave those rows out",
        )
    return plan


def _check_text(path: Path) -> None:
    """A label file that is not text (a truncated download, a zip by mistake) fails at its line."""
    data = path.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ReleaseError(path, "is not UTF-8 text (a damaged or misnamed file?)", line) from None


def _check_copy(
    plan: ReleasePlan, home: tuple[str, PlannedClip], split: str, copy: PlannedClip
) -> None:
    """A shared real clip listed again: same split, and (cheaply, by size) the same file."""
    home_split, first = home
    if home_split != split:
        raise ReleaseError(
            plan.index.sources[copy.source].label_path,
            f"real clip {copy.file!r} is in the {split} split here but in the {home_split} "
            f"split at {plan.index.where(first)}; an utterance belongs to one split",
            copy.line,
        )
    if copy.size != first.size:
        raise ReleaseError(
            plan.index.audio_path(copy),
            f"differs from {plan.index.audio_path(first)} ({copy.size} vs {first.size} bytes); a "
            "shared real clip must be the same file in every condition",
        )


def _attach_copies(plan: ReleasePlan, copies: Mapping[str, list[str]]) -> None:
    """Record each shared real clip's other copies, so the writer can check they are identical."""
    for part, clips in plan.parts.items():
        if part.group == codecfake.REAL_CONDITION and copies:
            plan.parts[part] = [
                c._replace(copies=tuple(copies[c.file])) if c.file in copies else c for c in clips
            ]


def _unnamed_files(audio_dir: Path, named: set[str]) -> list[str]:
    if not audio_dir.is_dir():
        return []
    with os.scandir(audio_dir) as entries:
        return sorted(str(audio_dir / e.name) for e in entries if e.name not in named)


def check_complete_sizes(plan: ReleasePlan) -> None:
    """On a complete release (train, dev and C1..C7), every part must hold the paper's count.

    Parts that lost rows to ``--allow-missing`` (A3's real clips are often absent from a
    download) were reported already and are not checked again.
    """
    names = {s.label_path.stem for s in plan.index.sources if s.audio_dir.is_dir()}
    if not {"train", "dev", *codecfake.CODEC_CONDITIONS} <= names:
        return
    wrong = []
    for part, clips in sorted(plan.parts.items(), key=lambda item: item[0].pattern):
        known = part.group == codecfake.REAL_CONDITION or part.group in codecfake.CONDITIONS
        if not known or part.group in plan.missing_groups:
            continue  # conditions beyond the paper have no expected size
        expected = codecfake.part_size(part)
        if len(clips) != expected:
            wrong.append(f"{part.pattern}: {len(clips):,} clips, expected {expected:,}")
    if wrong:
        raise ReleaseError(
            plan.release_dir,
            "this release has every label file of the complete Codecfake release, but its sizes "
            f"differ from dataset_infos.json: {summarise(wrong)}. Re-extract the archives, or pass "
            "--no-size-check for a release rebuilt at another scale",
        )
