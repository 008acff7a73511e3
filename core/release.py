"""Reading an extracted release: its conditions, its label files, and its clips' bytes.

The naming rules in :mod:`codecfake` say what each label row means; this module walks a release
folder with them. ``codecfake prepare``, the HF builder (:mod:`codecfake_builder.hf_builder`),
the evaluation of score files and the demo all read a release through here, so they agree on
every column and report a bad row the same way.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codecfake import (
    CONDITIONS,
    CONDITIONS_FILE,
    LABEL_NAMES,
    REAL_CONDITION,
    RELEASE_SPLIT_DIR,
    Condition,
    LabelRow,
    Part,
    ReleaseError,
    parse_file_name,
    read_label_file,
)


def release_conditions(release_dir: os.PathLike[str] | str) -> dict[str, Condition]:
    """The built-in conditions plus any a release declares in ``label/conditions.json``."""
    conditions = dict(CONDITIONS)
    extra = Path(release_dir) / "label" / CONDITIONS_FILE
    if extra.is_file():
        try:
            entries = json.loads(extra.read_text(encoding="utf-8"))
            for entry in entries:
                condition = Condition.from_dict(entry)
                conditions.setdefault(condition.name, condition)
        except (ValueError, TypeError, KeyError) as error:
            raise ReleaseError(extra, f"not a list of condition specs: {error}") from error
    return conditions


@dataclass(frozen=True)
class ReleaseClip:
    """A clip of an extracted release, with the columns it will have in the dataset."""

    path: Path
    file: str
    label: str
    condition: str
    codec: str
    language: str
    speaker: str
    utterance: str

    def part(self, split: str) -> Part:
        return Part(self.condition, split, self.language)

    def row(self, audio_bytes: bytes) -> dict[str, Any]:
        return {
            "audio": {"bytes": audio_bytes, "path": self.file},
            "file": self.file,
            "label": LABEL_NAMES.index(self.label),
            "condition": self.condition,
            "codec": self.codec,
            "language": self.language,
            "speaker": self.speaker,
            "utterance": self.utterance,
        }


def _label_condition(
    path: Path, row: LabelRow, file_condition: str | None, conditions: Mapping[str, Condition]
) -> str:
    """The condition a label row names, checked against its file name prefix.

    Real rows belong to the shared real speech, except in a set with reals of its own (A3).
    """
    if row.idx.startswith("L"):
        name = f"A{row.idx[1:]}"
    elif row.label == "real":
        return REAL_CONDITION
    elif file_condition and "-" in file_condition:
        name = file_condition  # sub-configurations carry their parent's index
    else:
        name = f"C{int(row.idx)}"
    if name not in conditions:
        raise ReleaseError(
            path, f"label index {row.idx!r} names unknown condition {name}", row.line
        )
    if row.label == "real":
        return name if conditions[name].has_own_reals else REAL_CONDITION
    if file_condition is not None and file_condition != name:
        raise ReleaseError(
            path, f"file {row.file!r} has the {file_condition} prefix but idx {row.idx!r}", row.line
        )
    return name


def clip_from_label(
    label_path: Path, row: LabelRow, audio_dir: Path, conditions: Mapping[str, Condition]
) -> ReleaseClip:
    """Turn a label row into a clip, deriving every column from the naming rules."""
    parsed = parse_file_name(row.file)
    condition = _label_condition(label_path, row, parsed.condition, conditions)
    spec = conditions.get(condition)
    speech = spec is None or spec.languages != ("",)
    return ReleaseClip(
        path=audio_dir / row.file,
        file=row.file,
        label=row.label,
        condition=condition,
        codec=spec.codec if spec is not None and row.label == "fake" else "",
        language=parsed.language if speech else "",
        speaker=parsed.speaker if speech else "",
        utterance=parsed.utterance,
    )


def label_sources(release_dir: os.PathLike[str] | str) -> list[tuple[str, Path, Path]]:
    """(split, label file, audio folder) for every label file the release has."""
    root = Path(release_dir)
    label_dir = root / "label"
    sources: list[tuple[str, Path, Path]] = []
    for split in ("train", "validation"):
        label = label_dir / f"{RELEASE_SPLIT_DIR[split]}.txt"
        if label.is_file():
            sources.append((split, label, root / RELEASE_SPLIT_DIR[split]))
    for label in sorted(label_dir.glob("*.txt")):
        name = label.stem
        if name in {"train", "dev"}:
            continue
        sources.append(("test", label, root / "test" / name))
    return sources


def iter_release_clips(
    release_dir: os.PathLike[str] | str, conditions: Mapping[str, Condition] | None = None
) -> Iterator[tuple[str, ReleaseClip]]:
    """(split, clip) for every label row of a release, in label-file order."""
    conditions = conditions or release_conditions(release_dir)
    for split, label_path, audio_dir in label_sources(release_dir):
        for row in read_label_file(label_path):
            yield split, clip_from_label(label_path, row, audio_dir, conditions)


def read_clip_bytes(path: Path) -> bytes:
    """A clip's bytes, untouched, after checking that they decode as audio.

    A plain PCM or float WAV whose header is sound is accepted from its header alone; anything
    else goes to libsndfile, which decides (and names the problem). Reading a million headers
    through libsndfile's Python callbacks was most of ``prepare``'s time.
    """
    import soundfile

    try:
        data = path.read_bytes()
    except FileNotFoundError as error:
        raise ReleaseError(path, "file named in a label file is missing") from error
    if _plain_wav(data):
        return data
    try:
        soundfile.info(io.BytesIO(data))
    except (RuntimeError, soundfile.LibsndfileError) as error:
        raise ReleaseError(path, f"does not decode as audio ({error})") from error
    return data


_WAV_FORMATS = {1: (8, 16, 24, 32), 3: (32, 64)}
"""WAVE format tag -> sample widths libsndfile reads: integer PCM and IEEE float."""


def _plain_wav(data: bytes) -> bool:
    """Whether ``data`` is a RIFF/WAVE file with a sane ``fmt `` chunk and all its samples.

    Only a yes is trusted: any doubt (other formats, extensible headers, odd chunk layouts, a
    truncated data chunk) answers no, and libsndfile then checks the file.
    """
    if len(data) < 44 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return False
    offset, fmt_ok = 12, False
    while offset + 8 <= len(data):
        chunk, size = (
            data[offset : offset + 4],
            int.from_bytes(data[offset + 4 : offset + 8], "little"),
        )
        body = offset + 8
        if chunk == b"fmt ":
            if size < 16 or body + 16 > len(data):
                return False
            tag, channels, rate = (
                int.from_bytes(data[body : body + 2], "little"),
                int.from_bytes(data[body + 2 : body + 4], "little"),
                int.from_bytes(data[body + 4 : body + 8], "little"),
            )
            bits = int.from_bytes(data[body + 14 : body + 16], "little")
            fmt_ok = (
                bits in _WAV_FORMATS.get(tag, ()) and 0 < channels <= 64 and 0 < rate <= 768_000
            )
            if not fmt_ok:
                return False
        elif chunk == b"data":
            frame = channels * bits // 8 if fmt_ok else 0
            return fmt_ok and body + size <= len(data) and size % frame == 0
        offset = body + size + (size & 1)
    return False
