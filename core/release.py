"""Reading a release: its conditions, its label rows as clips, and its clips' checked bytes.

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
    Part,
    ReleaseError,
    parse_file_name,
)

from .labels import LabelRow, read_label_file


def release_conditions(release_dir: os.PathLike[str] | str) -> dict[str, Condition]:
    """The built-in conditions plus any a release declares in ``label/conditions.json``."""
    extra = Path(release_dir) / "label" / CONDITIONS_FILE
    return declared_conditions(extra.read_bytes() if extra.is_file() else None, str(extra))


def declared_conditions(text: bytes | None, shown: str) -> dict[str, Condition]:
    """The built-in conditions plus those of a ``conditions.json``'s ``text`` (from a folder or
    an archive; ``shown`` says where, for errors)."""
    conditions = dict(CONDITIONS)
    if text is None:
        return conditions
    try:
        for entry in json.loads(text.decode("utf-8")):
            condition = Condition.from_dict(entry)
            conditions.setdefault(condition.name, condition)
    except (ValueError, TypeError, KeyError) as error:
        raise ReleaseError(shown, f"not a list of condition specs: {error}") from error
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
    """A clip file's bytes, untouched, after :func:`check_clip_bytes`."""
    try:
        data = path.read_bytes()
    except FileNotFoundError as error:
        raise ReleaseError(path, "file named in a label file is missing") from error
    return check_clip_bytes(data, str(path))


def check_clip_bytes(data: bytes, shown: str) -> bytes:
    """``data`` (a clip's bytes, from a file or an archive) once they are known to decode to
    all the audio they promise; :class:`DamagedAudioError` names ``shown`` otherwise.

    A plain PCM or float WAV is judged from its header alone: a data chunk that promises more
    frames than the file holds (a truncated download or extraction), or no frames at all (a
    header-only file), is refused, where libsndfile would quietly report the shorter length.
    Anything else goes to libsndfile, which decides (and names the problem). Reading a million
    headers through libsndfile's Python callbacks was most of ``prepare``'s time.
    """
    import soundfile

    layout = wav_layout(data)
    if layout is not None:
        problem = layout.problem()
        if problem:
            raise DamagedAudioError(shown, problem)
        if layout.plain:
            return data
    try:
        info = soundfile.info(io.BytesIO(data))
    except (RuntimeError, soundfile.LibsndfileError) as error:
        raise DamagedAudioError(shown, f"does not decode as audio ({error})") from error
    if info.frames <= 0:
        raise DamagedAudioError(shown, "holds no samples (an empty or header-only file)")
    return data


class DamagedAudioError(ReleaseError):
    """A clip whose bytes are not the whole recording: truncated, empty, or undecodable.

    Its remedy is the archive it came from, not the label files: re-extract or re-download it.
    """

    def __init__(self, path: os.PathLike[str] | str, reason: str, line: int | None = None):
        super().__init__(path, reason, line)


_WAV_FORMATS = {1: (8, 16, 24, 32), 3: (32, 64)}
"""WAVE format tag -> sample widths libsndfile reads: integer PCM and IEEE float."""
_STREAMED_SIZES = (0, 0xFFFFFFFF)
"""Data-chunk sizes that writers streaming to a pipe leave in place of the real one: they
promise nothing, and libsndfile reads such a file to its end."""


@dataclass(frozen=True)
class WavLayout:
    """What a RIFF/WAVE header says about its samples, and what the bytes after it hold.

    ``plain`` is a PCM/float format with a sane ``fmt `` chunk (the header alone can vouch for
    the file); ``promised`` and ``held`` count bytes of the ``data`` chunk.
    """

    plain: bool
    frame_bytes: int
    promised: int | None  # None: a streamed size that promises nothing
    held: int

    def problem(self) -> str:
        """Why the samples are not all there, or ``""``."""
        frame = max(self.frame_bytes, 1)
        if self.held == 0:
            return "holds no samples (an empty or header-only file)"
        if self.promised is not None and self.held < self.promised:
            return (
                f"is truncated: its header promises {self.promised // frame:,} frames, the "
                f"file holds {self.held // frame:,}"
            )
        return ""

    def frames(self) -> int | None:
        """Frames the header promises (those held, for a streamed size); None if not plain."""
        if not self.plain:
            return None
        size = self.held if self.promised is None else self.promised
        return size // self.frame_bytes


def wav_layout(data: bytes) -> WavLayout | None:
    """The layout of RIFF/WAVE ``data``; ``None`` when it is not a WAV file with a data chunk.

    Only the chunk list is read, never the samples, so this is cheap for any size.
    """
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return None
    offset, plain, frame_bytes = 12, False, 0
    while offset + 8 <= len(data):
        chunk = data[offset : offset + 4]
        size = int.from_bytes(data[offset + 4 : offset + 8], "little")
        body = offset + 8
        if chunk == b"fmt " and size >= 16 and body + 16 <= len(data):
            tag, channels, rate = (
                int.from_bytes(data[body : body + 2], "little"),
                int.from_bytes(data[body + 2 : body + 4], "little"),
                int.from_bytes(data[body + 4 : body + 8], "little"),
            )
            bits = int.from_bytes(data[body + 14 : body + 16], "little")
            plain = bits in _WAV_FORMATS.get(tag, ()) and 0 < channels <= 64 and 0 < rate <= 768_000
            frame_bytes = channels * bits // 8 if plain else 0
        elif chunk == b"data":
            held = len(data) - body
            promised = None if size in _STREAMED_SIZES else size
            whole = promised is None or promised % max(frame_bytes, 1) == 0
            return WavLayout(plain and whole, frame_bytes, promised, held)
        offset = body + size + (size & 1)
    return None
