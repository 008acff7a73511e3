"""Read a release into a plan: which clip goes into which stored part, and from where.

Everything that can be checked without decoding audio is checked here, before a single byte is
written: label rows (through :mod:`codecfake_core.labels`), missing files, duplicated names,
clips that two splits both claim, and names whose language no rule tells. The plan keeps one
small tuple per clip, never audio, so planning a million-clip release stays in a few hundred MB.
The release is read through :mod:`codecfake_core.release_source`: an extracted folder or the
archives as downloaded are planned alike.

A shared real clip is listed by every condition of its split, each with its own copy. Copies are
compared by content (a hash of a file; an archive member's size and CRC-32): identical ones are
stored once, in the shared ``real`` part. A clip whose copies differ, or that only some
conditions list, is stored once per distinct version in a *keyed* part (``data/real-<key>/...``)
that names which label files list it and which of them hold that version, so each configuration
reads the copy from its own folder.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import codecfake
from codecfake import Condition, Part, ReleaseError
from codecfake_core.dataset_folder import KeyedReals
from codecfake_core.labels import LabelRow, label_text_rows
from codecfake_core.release import ReleaseClip, clip_from_label, declared_conditions
from codecfake_core.release_source import ClipRef, LabelFile, ReleaseSource

log = logging.getLogger("codecfake")

SHOWN = 5
"""How many examples a problem report lists before it says "and N more"."""
HASH_THREADS = 8
"""Copies are hashed in threads: hashlib releases the GIL, and the work is mostly reads."""
UNKNOWN_LANGUAGE_OPTION = "--allow-unknown-language"
SKIP_DAMAGED_OPTION = "--skip-damaged-audio"
NAME_PATTERNS = "VCTK 'pNNN_NNN.wav' (English) or AISHELL-3 'SSBxxxxyyyy.wav' (Mandarin)"


class PlannedClip(NamedTuple):
    """One clip to store: enough to rebuild its row and to point at its label line."""

    file: str
    label: str
    idx: str
    line: int
    source: int  # index into ReleaseIndex.sources: the label file that lists it
    size: int

    def row(self) -> LabelRow:
        return LabelRow(self.file, self.label, self.idx, self.line)


class Listed(NamedTuple):
    """A label row as the ledger keeps it, to count what each configuration must hold."""

    file: str
    condition: str
    language: str


def summarise(items: list[str]) -> str:
    """``a, b, c (and 12 more)``: a problem list a reader can act on without a wall of text."""
    shown = ", ".join(items[:SHOWN])
    return f"{shown} (and {len(items) - SHOWN} more)" if len(items) > SHOWN else shown


@dataclass(frozen=True)
class ReleaseIndex:
    """The label files of a release and its conditions: all a worker needs to rebuild a row."""

    sources: tuple[LabelFile, ...]
    conditions: Mapping[str, Condition]

    def where(self, clip: PlannedClip) -> str:
        """``label/C1.txt:12``: the label line that names a clip, for error messages."""
        return f"{self.sources[clip.source].shown}:{clip.line}"

    def clip(self, clip: PlannedClip) -> ReleaseClip:
        source = self.sources[clip.source]
        return clip_from_label(Path(source.shown), clip.row(), Path(source.folder), self.conditions)


@dataclass
class ReleasePlan:
    source: ReleaseSource
    index: ReleaseIndex
    parts: dict[Part, list[PlannedClip]] = field(default_factory=dict)
    keyed: dict[str, KeyedReals] = field(default_factory=dict)
    ledger: list[list[Listed]] = field(default_factory=list)  # per source: the rows it lists
    present: list[str] = field(default_factory=list)  # label files whose audio folder exists
    differing: list[str] = field(default_factory=list)  # shared reals whose copies differ
    unknown_language: list[str] = field(default_factory=list)  # speech rows no name rule places
    missing: list[str] = field(default_factory=list)
    missing_groups: set[str] = field(default_factory=set)
    missing_a3_reals: int = 0  # the official A3.zip lacks them (see missing_note)
    extra_files: list[str] = field(default_factory=list)
    skipped_groups: set[str] = field(default_factory=set)
    unextracted: list[str] = field(default_factory=list)

    @property
    def release_dir(self) -> Path:
        return self.source.root

    @property
    def conditions(self) -> Mapping[str, Condition]:
        return self.index.conditions

    @property
    def clip_count(self) -> int:
        return sum(len(clips) for clips in self.parts.values())

    @property
    def rows_read(self) -> int:
        return sum(len(rows) for rows in self.ledger)

    @property
    def total_bytes(self) -> int:
        return sum(c.size for clips in self.parts.values() for c in clips)

    @property
    def groups(self) -> set[str]:
        return {part.group for part in self.parts if part.group not in self.keyed}

    def locate(self, clip: PlannedClip) -> ClipRef:
        """Where the release holds ``clip``'s bytes (a path, or an archive member)."""
        return self.source.locate(self.index.sources[clip.source].folder, clip.file)


def drop_from_ledger(plan: ReleasePlan, part: Part, clips: list[PlannedClip]) -> None:
    """Take clips left out of ``part`` (damaged audio, skipped) out of the label ledger too.

    A stored clip speaks for every listing it stands for: a shared real clip for each label file
    of its split that lists it, a keyed one for its holders, a fake for its own row. So the
    reconciliation counts what was stored, and the report says what was left out.
    """
    files = {clip.file for clip in clips}
    sources = plan.index.sources
    if part.group == codecfake.REAL_CONDITION:
        stems = {s.stem for s in sources if s.split == part.split}
    elif part.group in plan.keyed:
        stems = set(plan.keyed[part.group].holders)
    else:
        stems = {sources[clip.source].stem for clip in clips}
    for index, source in enumerate(sources):
        if source.split == part.split and source.stem in stems:
            plan.ledger[index] = [row for row in plan.ledger[index] if row.file not in files]


@dataclass
class _Scan:
    """What reading the label files gathers before the shared real clips are placed."""

    listings: dict[str, list[PlannedClip]] = field(default_factory=dict)  # real -> its listings
    real_languages: dict[str, str] = field(default_factory=dict)  # as its name told the scan
    fakes: dict[str, PlannedClip] = field(default_factory=dict)  # first listing of each fake


def plan_release(
    source: ReleaseSource,
    *,
    skip_groups: set[str] | frozenset[str] = frozenset(),
    allow_missing: bool = False,
    allow_unknown_language: bool = False,
) -> ReleasePlan:
    """Plan every clip of a release; raises :class:`ReleaseError` on the first bad input found.

    ``skip_groups`` names stored groups to leave out (``--add`` skips what a dataset already has).
    ``allow_unknown_language`` keeps speech clips whose language no name rule tells; they are
    counted under the pooled configurations only.
    """
    root = source.root
    labels = source.label_files()
    if not labels:
        if not (root / "label").is_dir() and not source.audio_folders():
            raise ReleaseError(
                root,
                "not a Codecfake release: it has no label/ folder and no archives (give the "
                "folder you downloaded the archives into, or the extracted release)",
            )
        raise ReleaseError(root, "holds no label files (train.txt, dev.txt, C1.txt, ...)")
    conditions = declared_conditions(source.conditions_text(), f"{root}/label/conditions.json")
    plan = ReleasePlan(source, ReleaseIndex(tuple(labels), conditions))
    scan = _Scan()
    for index, label in enumerate(labels):
        _read_label_file(plan, scan, index, label, skip_groups, allow_unknown_language)
    if plan.unknown_language and not allow_unknown_language:
        raise ReleaseError(
            root,
            f"{len(plan.unknown_language)} label rows name speech whose language their name does "
            f"not tell: {summarise(plan.unknown_language)}. Expected {NAME_PATTERNS}. Rename "
            f"them, or pass {UNKNOWN_LANGUAGE_OPTION} to keep them, counted under the pooled "
            "configurations (C1, ..., all) only",
        )
    _place_shared_reals(plan, scan.listings, scan.real_languages)
    # Audio folders no label file covers (e.g. test/C3-2/ without label/C3-2.txt) are extra too.
    covered = {label.folder for label in labels}
    for folder in source.audio_folders():
        audio = source.folder(folder)
        if folder not in covered and audio is not None:
            plan.extra_files.extend(_shown_files(source, folder, audio.files()))
    if not plan.parts and not plan.skipped_groups:
        raise ReleaseError(root, "holds no audio for any label file: extract its archives here")
    if plan.missing and not allow_missing:
        raise ReleaseError(
            root,
            f"{len(plan.missing)} files named in label files are missing: "
            f"{summarise(plan.missing)}{missing_note(plan)}. Extract or download every archive "
            "of the release, or pass --allow-missing to leave those rows out",
        )
    return plan


def _read_label_file(
    plan: ReleasePlan,
    scan: _Scan,
    index: int,
    label: LabelFile,
    skip_groups: set[str] | frozenset[str],
    allow_unknown_language: bool,
) -> None:
    """Plan the rows of one label file into ``plan`` (and the shared reals into ``scan``)."""
    source, conditions = plan.source, plan.conditions
    ledger: list[Listed] = []
    plan.ledger.append(ledger)
    rows = label_text_rows(source.label_text(label), label.shown)
    audio = source.folder(label.folder)
    if audio is None:
        # Its archive was not downloaded (e.g. only the test archives): a partial release.
        plan.unextracted.append(f"{label.shown} ({source.where(label.folder, '')} is absent)")
        return
    plan.present.append(label.stem)
    named: set[str] = set()
    label_path, audio_dir = Path(label.shown), Path(label.folder)  # once, not a million times
    for row in rows:
        named.add(row.file)
        clip = clip_from_label(label_path, row, audio_dir, conditions)
        part = clip.part(label.split)
        if part.group in skip_groups:
            plan.skipped_groups.add(part.group)
            continue
        if not clip.language and _is_speech(part.group, conditions):
            plan.unknown_language.append(f"{label.shown}:{row.line} {row.file}")
            if not allow_unknown_language:
                continue
        size = audio.size(row.file)
        if size is None:
            where = _shown_files(source, label.folder, [row.file])[0]
            plan.missing.append(f"{label.shown}:{row.line} {where}")
            plan.missing_groups.add(part.group)
            plan.missing_a3_reals += part.group == "A3" and row.label == "real"
            continue
        # Each row spells "fake", "C3", ... afresh: one shared copy of each saves 100 MB a
        # million rows (the plan of the complete release is held for the whole run).
        kind, idx = sys.intern(row.label), sys.intern(row.idx)
        planned = PlannedClip(row.file, kind, idx, row.line, index, size)
        ledger.append(Listed(row.file, sys.intern(clip.condition), sys.intern(clip.language)))
        if part.group == codecfake.REAL_CONDITION:
            earlier = scan.listings.setdefault(row.file, [])
            if earlier:
                _check_split(plan, earlier[0], planned)
            else:
                scan.real_languages[row.file] = part.language
            earlier.append(planned)
        else:
            _check_split(plan, scan.fakes.setdefault(row.file, planned), planned)
            plan.parts.setdefault(part, []).append(planned)
    plan.extra_files.extend(
        _shown_files(source, label.folder, (f for f in audio.files() if f not in named))
    )


def _shown_files(source: ReleaseSource, folder: str, files: Iterable[str]) -> list[str]:
    """How files of a release folder are named in reports."""
    return [source.where(folder, file) for file in files]


def missing_note(plan: ReleasePlan) -> str:
    """What the missing rows mean, where the release explains them: A3's absent reals.

    The official A3.zip holds A3's fakes only: its AudioCaps reals were not distributed
    (official issues #8 and #11), so a download of every archive still misses them.
    """
    if not plan.missing_a3_reals:
        return ""
    held = len(plan.parts.get(Part("A3", "test", ""), []))
    return (
        f". {plan.missing_a3_reals:,} of them are A3's real AudioCaps clips, which the official "
        "A3.zip does not hold (it has the AudioGen fakes only; the reals were not distributed): "
        f"the A3 configuration then holds its {held:,} fakes only, enough to score how often a "
        "detector calls them fake, not an EER"
    )


def _is_speech(group: str, conditions: Mapping[str, Condition]) -> bool:
    return group == codecfake.REAL_CONDITION or conditions[group].languages != ("",)


def _check_split(plan: ReleasePlan, first: PlannedClip, copy: PlannedClip) -> None:
    """A clip listed again must be listed in the same split: a real clip shared by the
    conditions of its split, or a fake that a train/dev label file repeats, would otherwise be
    trained on and tested on."""
    home_split = plan.index.sources[first.source].split
    split = plan.index.sources[copy.source].split
    if home_split != split:
        raise ReleaseError(
            plan.index.sources[copy.source].shown,
            f"{copy.label} clip {copy.file!r} is in the {split} split here but in the "
            f"{home_split} split at {plan.index.where(first)}; a clip belongs to one split",
            copy.line,
        )


def _place_shared_reals(
    plan: ReleasePlan, listings: Mapping[str, list[PlannedClip]], languages: Mapping[str, str]
) -> None:
    """Put each shared real clip in the shared part, or, per version, in a keyed part.

    A clip goes to the shared part when every extracted label file of its split and language
    lists it and all its copies are byte-identical; then any configuration that takes its
    language reads the same bytes. Otherwise each distinct version is stored once, keyed by the
    label files that list the clip and those that hold that version.
    """
    sources = plan.index.sources
    covering = _covering_sources(plan)
    repeated = [c for clips in listings.values() if len(clips) > 1 for c in clips]
    digests = _content_digests(plan, repeated)
    for file, clips in listings.items():
        first = clips[0]
        split, language = sources[first.source].split, languages[file]
        part = Part(codecfake.REAL_CONDITION, split, language)
        versions: dict[str, list[PlannedClip]] = {}
        for clip in clips:
            versions.setdefault(digests.get((clip.source, clip.file), ""), []).append(clip)
        listed_by = tuple(sources[c.source].stem for c in clips)
        if len(versions) == 1 and set(listed_by) == covering[split, language]:
            plan.parts.setdefault(part, []).append(first)
            continue
        if len(versions) > 1:
            folders = ", ".join(
                "=".join(sources[c.source].stem for c in holders) for holders in versions.values()
            )
            plan.differing.append(f"{file} ({len(versions)} versions: {folders})")
        for holders in versions.values():
            stems = tuple(sorted(sources[c.source].stem for c in holders))
            key = KeyedReals(tuple(sorted(listed_by)), stems)
            plan.keyed[key.group] = key
            plan.parts.setdefault(Part(key.group, split, language), []).append(holders[0])


def _covering_sources(plan: ReleasePlan) -> dict[tuple[str, str], set[str]]:
    """(split, language) -> the present label files that should list such a shared real clip."""
    covering: dict[tuple[str, str], set[str]] = {}
    for source in plan.index.sources:
        if source.stem not in plan.present:
            continue
        if source.split != "test":
            languages: tuple[str, ...] = (*codecfake.SPEECH_LANGUAGES, "")
        else:
            condition = plan.conditions.get(source.stem)
            if condition is None or condition.has_own_reals:
                continue
            languages = (*condition.languages, "")
        for language in languages:
            covering.setdefault((source.split, language), set()).add(source.stem)
    return covering


def _content_digests(plan: ReleasePlan, clips: list[PlannedClip]) -> dict[tuple[int, str], str]:
    """(source, file) -> content digest of each copy of a repeated shared real clip."""

    def digest(clip: PlannedClip) -> str:
        ref = plan.locate(clip)
        try:
            return plan.source.copy_digest(ref)
        except OSError as error:
            raise ReleaseError(
                plan.source.shown(ref),
                f"cannot be read ({error.strerror}) (named at {plan.index.where(clip)})",
            ) from error

    with ThreadPoolExecutor(max_workers=HASH_THREADS) as pool:
        return {
            (clip.source, clip.file): value
            for clip, value in zip(clips, pool.map(digest, clips), strict=True)
        }


def stored_sizes(plan: ReleasePlan) -> dict[Part, int]:
    """Clips per logical part: a keyed real clip counts once under its shared part."""
    sizes: dict[Part, int] = {}
    keyed_files: dict[Part, set[str]] = {}
    for part, clips in plan.parts.items():
        if part.group in plan.keyed:
            shared = Part(codecfake.REAL_CONDITION, part.split, part.language)
            keyed_files.setdefault(shared, set()).update(c.file for c in clips)
        else:
            sizes[part] = sizes.get(part, 0) + len(clips)
    for part, files in keyed_files.items():
        sizes[part] = sizes.get(part, 0) + len(files)
    return sizes


def check_complete_sizes(plan: ReleasePlan) -> None:
    """On a complete release (train, dev and C1..C7), every part must hold the paper's count.

    Parts that lost rows to ``--allow-missing`` (A3's real clips are often absent from a
    download) were reported already and are not checked again.
    """
    names = set(plan.present)
    if not {"train", "dev", *codecfake.CODEC_CONDITIONS} <= names:
        return
    sizes = stored_sizes(plan)
    expected_parts = {
        part
        for config in codecfake.CONFIGS.values()
        if set(config.conditions) <= names | {"train", "dev"}
        for parts in config.parts().values()
        for part in parts
        if codecfake.part_size(part)
    }
    wrong = []
    for part in sorted(expected_parts | set(sizes), key=lambda p: p.pattern):
        known = part.group == codecfake.REAL_CONDITION or part.group in codecfake.CONDITIONS
        if not known or part.group in plan.missing_groups:
            continue  # conditions beyond the paper have no expected size
        expected, found = codecfake.part_size(part), sizes.get(part, 0)
        if found != expected:
            wrong.append((part.pattern, expected, found))
    if wrong:
        table = "\n".join(
            f"  {pattern:<42} {expected:>10,} {found:>10,}" for pattern, expected, found in wrong
        )
        raise ReleaseError(
            plan.release_dir,
            "this release has every label file of the complete Codecfake release, but "
            f"{len(wrong)} parts differ from dataset_infos.json. Re-extract the archives, or pass "
            "--no-size-check for a release rebuilt at another scale:\n"
            f"  {'part':<42} {'expected':>10} {'found':>10}\n{table}",
        )
