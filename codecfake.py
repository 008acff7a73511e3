"""What the Codecfake benchmark *is*: conditions, file naming, labels, features, configurations.

Every other module imports these facts from here and never restates them. The numbers come from
the paper (Xie et al., arXiv 2405.04880) and the official release; see ``shared/docs/DATASET.md``.

This module is also a ``datasets`` builder (:class:`Codecfake`) that reads an *extracted official
release* directly. It is our own code, used as a class; it is never uploaded as a Hub loading
script, because ``datasets`` >= 4.0 refuses folders that contain one. What users load from the
Hub or from disk is the Parquet folder that ``codecfake prepare`` writes from this definition.
"""

from __future__ import annotations

import importlib
import io
import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import datasets
import pyarrow as pa

__version__ = "0.1.0"

SAMPLING_RATE = 16_000
"""Every official loader resamples to 16 kHz, so decoded audio is always at this rate."""

LICENSE = "cc-by-nc-nd-4.0"
HOMEPAGE = "https://github.com/xieyuankun/Codecfake"
CITATION = """\
@article{xie2024codecfake,
  title   = {The Codecfake Dataset and Countermeasures for the Universally Detection of Deepfake Audio},
  author  = {Xie, Yuankun and Lu, Yi and Fu, Ruibo and Wen, Zhengqi and Wang, Zhiyong and Tao, Jianhua
             and Qi, Xin and Wang, Xiaopeng and Liu, Yukun and Cheng, Haonan and Ye, Long and Sun, Yi},
  journal = {arXiv preprint arXiv:2405.04880},
  year    = {2024}
}"""

# Release splits are named after their folders; `datasets` splits after the library's convention.
SPLITS = ("train", "validation", "test")
RELEASE_SPLIT_DIR = {"train": "train", "validation": "dev", "test": "test"}
LABEL_NAMES = ("real", "fake")
LANGUAGES = {"en": "English (VCTK)", "zh": "Mandarin (AISHELL-3)"}
SPEECH_LANGUAGES = tuple(LANGUAGES)

# Real utterances per split and language (DATASET.md, "Counts"): 132,277 in all.
REAL_UTTERANCES: dict[str, dict[str, int]] = {
    "train": {"en": 35_433, "zh": 70_388},
    "validation": {"en": 4_358, "zh": 8_870},
    "test": {"en": 4_451, "zh": 8_777},
}
TOTAL_CLIPS = 1_058_216


@dataclass(frozen=True)
class Condition:
    """One test condition of the benchmark: a codec, a codec sub-configuration, or an ALM set.

    ``label_idx`` is what the third column of a label row holds for this condition's fakes
    (``"3"`` for F03, ``"L1"`` for A1). ``fake_counts`` gives, per split and language, how many
    fakes the complete release holds; it is ``None`` for conditions added by users, whose size is
    whatever their release holds.
    """

    name: str
    kind: str  # "codec" (C1..C7 and user codecs C8+), "codec-sub" (C3-1..), "alm" (A1..A3)
    codec: str
    prefix: str
    label_idx: str
    sample_rate: int | None = None
    bitrate_kbps: float | None = None
    quantizers: int | None = None
    description: str = ""
    languages: tuple[str, ...] = SPEECH_LANGUAGES
    splits: tuple[str, ...] = ("test",)
    in_training: bool = False
    fake_counts: Mapping[str, Mapping[str, int]] | None = field(default=None, compare=False)
    real_counts: Mapping[str, int] | None = field(default=None, compare=False)
    """For sets whose real clips are their own (A3's AudioCaps clips), not the shared speech."""

    @property
    def parent(self) -> str:
        """``C3`` for ``C3-1``: the codec family condition a sub-configuration belongs to."""
        return self.name.split("-")[0]

    @property
    def has_own_reals(self) -> bool:
        return self.real_counts is not None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["languages"] = list(self.languages)
        data["splits"] = list(self.splits)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Condition:
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown condition fields {sorted(unknown)}")
        values = dict(data)
        values["languages"] = tuple(values.get("languages", SPEECH_LANGUAGES))
        values["splits"] = tuple(values.get("splits", ("test",)))
        return cls(**values)


def _per_split(splits: Iterable[str]) -> dict[str, dict[str, int]]:
    return {split: dict(REAL_UTTERANCES[split]) for split in splits}


_ALL_UTTERANCES = {lang: sum(REAL_UTTERANCES[s][lang] for s in SPLITS) for lang in SPEECH_LANGUAGES}
_TEST_ONLY = _per_split(["test"])


def _codec(k: int, codec: str, rate: int, kbps: float, q: int, note: str = "") -> Condition:
    unseen = k == 7
    return Condition(
        name=f"C{k}",
        kind="codec",
        codec=codec,
        prefix=f"F{k:02d}_",
        label_idx=str(k),
        sample_rate=rate,
        bitrate_kbps=kbps,
        quantizers=q,
        description=note,
        splits=("test",) if unseen else SPLITS,
        in_training=not unseen,
        # C7 (DAC) resynthesises every real utterance, train and dev included, into its test set.
        fake_counts={"test": dict(_ALL_UTTERANCES)} if unseen else _per_split(SPLITS),
    )


def _sub(name: str, codec: str, rate: int, kbps: float, q: int) -> Condition:
    return Condition(
        name=name,
        kind="codec-sub",
        codec=codec,
        prefix=f"{name}_",
        label_idx=name.split("-")[0][1:],
        sample_rate=rate,
        bitrate_kbps=kbps,
        quantizers=q,
        description=f"{codec} at {kbps:g} kbps, test only",
        fake_counts=_TEST_ONLY,
    )


def _alm(k: int, system: str, note: str, **extra: Any) -> Condition:
    values: dict[str, Any] = {"prefix": f"L{k}_", **extra}
    return Condition(
        name=f"A{k}", kind="alm", codec=system, label_idx=f"L{k}", description=note, **values
    )


# fmt: off
CONDITIONS: dict[str, Condition] = {c.name: c for c in (
    _codec(1, "SoundStream", 16_000, 4.0, 8),
    _codec(2, "SpeechTokenizer", 16_000, 4.0, 8),
    _codec(3, "FunCodec", 16_000, 16.0, 32),
    _codec(4, "EnCodec", 24_000, 6.0, 8),
    _codec(5, "AudioDec", 24_000, 6.4, 8),
    _codec(6, "AcademiCodec", 24_000, 3.0, 4, "HiFi-Codec with group-residual VQ"),
    _codec(7, "DAC", 44_100, 8.0, 9, "unseen in training; every utterance resynthesised"),
    _sub("C3-1", "FunCodec", 16_000, 3.0, 12),
    _sub("C3-2", "FunCodec", 16_000, 6.0, 24),
    _sub("C3-3", "FunCodec", 16_000, 12.0, 32),
    _sub("C3-4", "FunCodec", 16_000, 24.0, 32),
    _sub("C4-1", "EnCodec", 24_000, 3.0, 4),
    _sub("C4-2", "EnCodec", 24_000, 12.0, 16),
    _sub("C4-3", "EnCodec", 24_000, 24.0, 32),
    # p315 has no transcripts, so A1/A2 have 4,436 fakes for the 4,451 English test reals.
    _alm(1, "VALL-E", "zero-shot TTS by an audio language model", languages=("en",),
         fake_counts={"test": {"en": 4_436}}),
    _alm(2, "VALL-E X", "cross-lingual TTS by an audio language model", languages=("en",),
         fake_counts={"test": {"en": 4_436}}),
    # A3 is sound events (AudioGen on AudioCaps), not speech: it claims no language and its
    # reals are its own AudioCaps clips, named `Y<youtube id>.wav`; its fakes are `<number>.wav`.
    _alm(3, "AudioGen", "text-to-audio sound events; reals are AudioCaps clips", languages=("",),
         prefix="", fake_counts={"test": {"": 49_838}}, real_counts={"": 49_274}),
)}
# fmt: on
CODEC_CONDITIONS = tuple(n for n, c in CONDITIONS.items() if c.kind == "codec")
"""C1..C7: what the aggregate configurations (`en`, `zh`, `all`) contain."""

_USER_CODEC = re.compile(r"^C([89]|[1-9]\d+)$")


def user_condition(
    name: str,
    codec: str,
    *,
    sample_rate: int | None = None,
    bitrate_kbps: float | None = None,
    quantizers: int | None = None,
    description: str = "",
    splits: tuple[str, ...] = ("test",),
) -> Condition:
    """A codec condition beyond the paper (C8 and up), named and numbered like C1..C7."""
    match = _USER_CODEC.match(name)
    if not match:
        raise ValueError(f"new codec conditions are named C8, C9, ...; got {name!r}")
    k = int(match.group(1))
    return Condition(
        name=name,
        kind="codec",
        codec=codec,
        prefix=f"F{k:02d}_",
        label_idx=str(k),
        sample_rate=sample_rate,
        bitrate_kbps=bitrate_kbps,
        quantizers=quantizers,
        description=description,
        splits=splits,
    )


# --------------------------------------------------------------------------------------------
# File naming and utterances
# --------------------------------------------------------------------------------------------

_VCTK_UTT = re.compile(r"^(p\d{3}|s\d+)_\d{3}$")
_AISHELL3_UTT = re.compile(r"^(SSB\d{4})\d{4}$")
_PREFIX = re.compile(r"^(?:F(?P<k>\d{2})|(?P<sub>C\d+-\d+)|L(?P<alm>\d+))_(?P<rest>.+)$")


@dataclass(frozen=True)
class ParsedName:
    """What a release file name says: the condition its prefix names, and its source utterance."""

    condition: str | None
    utterance: str
    language: str
    speaker: str


def utterance_language(utterance: str) -> tuple[str, str]:
    """(language, speaker) of a source utterance id; ("", "") for non-speech (A3) clips."""
    if m := _VCTK_UTT.match(utterance):
        return "en", m.group(1)
    if m := _AISHELL3_UTT.match(utterance):
        return "zh", m.group(1)
    return "", ""


def parse_file_name(name: str) -> ParsedName:
    """Split ``F03_p225_001.wav`` into condition ``C3`` and utterance ``p225_001``.

    ``F0k_`` is codec Ck, ``C3-1_`` a codec sub-configuration, ``Lk_`` the ALM set Ak. A name
    without a prefix is a real clip, or an A3 clip whose condition only its label file knows.
    """
    stem = name.rsplit("/", 1)[-1]  # a plain split: this runs once per trial when reading scores
    stem = stem.rsplit(".", 1)[0] if "." in stem else stem
    condition = None
    if m := _PREFIX.match(stem):
        if m.group("k"):
            condition = f"C{int(m.group('k'))}"
        elif m.group("sub"):
            condition = m.group("sub")
        else:
            condition = f"A{int(m.group('alm'))}"
        stem = m.group("rest")
    language, speaker = utterance_language(stem)
    return ParsedName(condition, stem, language, speaker)


def fake_file_name(condition: Condition, utterance: str) -> str:
    """The release name of ``utterance`` resynthesised under ``condition``."""
    return f"{condition.prefix}{utterance}.wav"


# --------------------------------------------------------------------------------------------
# Label files
# --------------------------------------------------------------------------------------------


class CodecfakeError(Exception):
    """An error in what the user gave us. The CLI prints its message alone, without a traceback."""


class ReleaseError(CodecfakeError, ValueError):
    """A problem with release content, located at ``path`` (and ``line`` when it is a label row)."""

    def __init__(self, path: os.PathLike[str] | str, reason: str, line: int | None = None):
        self.path = str(path)
        self.line = line
        self.reason = reason
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {reason}")

    def __reduce__(self) -> tuple[Any, ...]:
        # Rebuilt from its parts, so the error survives the trip back from a worker process.
        return (type(self), (self.path, self.reason, self.line))


@dataclass(frozen=True)
class LabelRow:
    file: str
    label: str
    idx: str
    line: int


_SAFE_NAME = re.compile(r"^[^/\\\x00]+$")


def parse_label_line(text: str, path: os.PathLike[str] | str, line: int) -> LabelRow | None:
    """One ``filename label idx`` row; ``None`` for a blank line. Raises :class:`ReleaseError`."""
    stripped = text.strip()
    if not stripped:
        return None
    parts = stripped.split()
    if len(parts) != 3:
        raise ReleaseError(path, f"expected 3 columns 'filename label idx', got {len(parts)}", line)
    name, label, idx = parts
    if label not in LABEL_NAMES:
        raise ReleaseError(path, f"unknown label {label!r} (expected 'real' or 'fake')", line)
    if not _SAFE_NAME.match(name) or name in {".", ".."} or name.startswith("~"):
        raise ReleaseError(path, f"file name {name!r} escapes its folder", line)
    if label == "real" and idx not in {"0"} and not idx.startswith("L"):
        raise ReleaseError(
            path, f"real row has idx {idx!r} (expected 0, or L1..L3 in A sets)", line
        )
    if label == "fake" and (idx == "0" or not re.fullmatch(r"\d+|L\d+", idx)):
        raise ReleaseError(path, f"fake row has idx {idx!r} (expected 1..7, or L1..L3)", line)
    return LabelRow(name, label, idx, line)


def read_label_file(path: os.PathLike[str] | str) -> list[LabelRow]:
    """All rows of a label file, with duplicate names reported at their second line."""
    rows: list[LabelRow] = []
    first_seen: dict[str, int] = {}
    with open(path, encoding="utf-8") as handle:
        for number, text in enumerate(handle, start=1):
            row = parse_label_line(text, path, number)
            if row is None:
                continue
            if row.file in first_seen:
                raise ReleaseError(
                    path,
                    f"duplicate file {row.file!r} (first at line {first_seen[row.file]})",
                    number,
                )
            first_seen[row.file] = number
            rows.append(row)
    return rows


def format_label_line(file: str, label: str, idx: str) -> str:
    return f"{file} {label} {idx}\n"


# --------------------------------------------------------------------------------------------
# Features, configurations, expected sizes
# --------------------------------------------------------------------------------------------

FEATURES = datasets.Features(
    {
        "audio": datasets.Audio(sampling_rate=SAMPLING_RATE),
        "file": datasets.Value("string"),
        "label": datasets.ClassLabel(names=list(LABEL_NAMES)),
        "condition": datasets.Value("string"),
        "codec": datasets.Value("string"),
        "language": datasets.Value("string"),
        "speaker": datasets.Value("string"),
        "utterance": datasets.Value("string"),
    }
)
"""``condition`` is the fake's condition (``C3``, ``C3-1``, ``A1``) and ``real`` for the shared
real speech clips; A3's own AudioCaps reals carry ``A3``. ``codec`` is empty for real clips."""

REAL_CONDITION = "real"
DEFAULT_CONFIG = "all"


@dataclass(frozen=True)
class Part:
    """A group of clips that is stored once and shared by every configuration that needs it.

    ``group`` is ``real`` for the shared real speech, otherwise a condition name. A prepared
    dataset folder stores a part as the shards ``data/<group>/<split>/<language>-*.parquet``.
    """

    group: str
    split: str
    language: str

    @property
    def pattern(self) -> str:
        return f"data/{self.group}/{self.split}/{self.language or 'audio'}-*.parquet"

    def shard_name(self, index: int, count: int) -> str:
        return self.pattern.replace("*", f"{index:05d}-of-{count:05d}")


@dataclass
class CodecfakeConfig(datasets.BuilderConfig):
    """A configuration is a language filter over a set of conditions, plus the real clips they share.

    ``languages`` empty means "whatever the conditions cover" (A3 has no language). A ``pooled``
    configuration (``C1``, ``en_A1``, ``A3``, ``all``) is the union of its conditions' rows
    whatever their language, so it also takes clips whose language no name rule tells.
    """

    conditions: tuple[str, ...] = ()
    languages: tuple[str, ...] = SPEECH_LANGUAGES
    pooled: bool = False

    def takes(self, language: str) -> bool:
        """Whether a clip of ``language`` (``""``: not told by its name) belongs here."""
        return language in self.languages if language else self.pooled

    def includes(self, clip: ReleaseClip) -> bool:
        """Whether a clip read from one of :meth:`label_sources` belongs to this configuration."""
        own = clip.condition == REAL_CONDITION or clip.condition in self.conditions
        return own and self.takes(clip.language)

    def splits_of(self, conditions: Mapping[str, Condition]) -> tuple[str, ...]:
        present = {s for name in self.conditions for s in conditions[name].splits}
        return tuple(s for s in SPLITS if s in present)

    def label_sources(self, split: str, conditions: Mapping[str, Condition]) -> list[str]:
        """The label files (by stem, in this configuration's order) a split's rows come from.

        A test split reads each condition's own label file; train and validation read the one
        label file of that split, which lists every condition's fakes.
        """
        if split != "test":
            trained = any(split in conditions[name].splits for name in self.conditions)
            return [RELEASE_SPLIT_DIR[split]] if trained else []
        return [name for name in self.conditions if split in conditions[name].splits]

    def parts(self, conditions: Mapping[str, Condition] = CONDITIONS) -> dict[str, list[Part]]:
        """The stored parts each split of this configuration is the union of: reals first."""
        result: dict[str, list[Part]] = {}
        for split in self.splits_of(conditions):
            reals: list[Part] = []
            fakes: list[Part] = []
            for name in self.conditions:
                condition = conditions[name]
                if split not in condition.splits:
                    continue
                speech = condition.languages != ("",)
                for language in (*condition.languages, "") if speech else condition.languages:
                    if not self.takes(language):
                        continue
                    # A set with its own reals stores them with its fakes, in one part.
                    fakes.append(Part(name, split, language))
                    shared = Part(REAL_CONDITION, split, language)
                    if not condition.has_own_reals and shared not in reals:
                        reals.append(shared)
            result[split] = reals + fakes
        return result

    def expected_sizes(self, conditions: Mapping[str, Condition] = CONDITIONS) -> dict[str, int]:
        """Rows per split on the complete release (what ``dataset_infos.json`` records)."""
        return {
            split: sum(part_size(p, conditions) for p in parts)
            for split, parts in self.parts(conditions).items()
        }


def part_size(part: Part, conditions: Mapping[str, Condition] = CONDITIONS) -> int:
    """Clips in one stored part of the complete release (none of a language no name tells)."""
    if part.group == REAL_CONDITION:
        return REAL_UTTERANCES[part.split].get(part.language, 0)
    condition = conditions[part.group]
    fakes = (condition.fake_counts or {}).get(part.split, {}).get(part.language, 0)
    own_reals = (condition.real_counts or {}).get(part.language, 0)
    return fakes + own_reals


def _language_prefixed(name: str, language: str) -> str:
    return f"{language}_{name}" if language else name


def build_configs(conditions: Mapping[str, Condition] = CONDITIONS) -> list[CodecfakeConfig]:
    """Every configuration, in the order users see them. Names are the public API: keep them."""
    configs: list[CodecfakeConfig] = []
    for name, condition in conditions.items():
        speech = [lang for lang in condition.languages if lang]
        for language in speech if len(speech) > 1 else []:
            configs.append(
                CodecfakeConfig(
                    name=_language_prefixed(name, language),
                    description=f"{LANGUAGES[language]} real clips + {name} ({condition.codec}) fakes",
                    conditions=(name,),
                    languages=(language,),
                )
            )
        # ALM sets with one language are named by it (en_A1); A3 claims none; codecs pool both.
        pooled = _language_prefixed(name, speech[0]) if len(speech) == 1 else name
        configs.append(
            CodecfakeConfig(
                name=pooled,
                description=f"real clips + {name} ({condition.codec}) fakes",
                conditions=(name,),
                languages=tuple(speech) or SPEECH_LANGUAGES,
                pooled=True,
            )
        )
    codecs = tuple(n for n, c in conditions.items() if c.kind == "codec")
    for language in SPEECH_LANGUAGES:
        configs.append(
            CodecfakeConfig(
                name=language,
                description=f"{LANGUAGES[language]}: real clips + every codec condition",
                conditions=codecs,
                languages=(language,),
            )
        )
    configs.append(
        CodecfakeConfig(
            name=DEFAULT_CONFIG,
            description="both languages: real clips + every codec condition (the benchmark)",
            conditions=codecs,
            pooled=True,
        )
    )
    return configs


CONFIGS: dict[str, CodecfakeConfig] = {c.name: c for c in build_configs()}


def dataset_infos(conditions: Mapping[str, Condition] = CONDITIONS) -> dict[str, Any]:
    """The content of ``dataset_infos.json``: features and split sizes of the complete release."""
    infos: dict[str, Any] = {}
    for config in build_configs(conditions):
        sizes = config.expected_sizes(conditions)
        info = datasets.DatasetInfo(
            description=config.description,
            citation=CITATION,
            homepage=HOMEPAGE,
            license=LICENSE,
            features=FEATURES,
            config_name=config.name,
            splits=datasets.SplitDict(
                {s: datasets.SplitInfo(name=s, num_examples=n) for s, n in sizes.items()}
            ),
        )
        infos[config.name] = info._to_yaml_dict()
    return infos


# --------------------------------------------------------------------------------------------
# Reading an extracted release
# --------------------------------------------------------------------------------------------

CONDITIONS_FILE = "conditions.json"
"""A release made by ``codecfake synthesize`` may add conditions (C8+): their specs live here."""


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


def _arrow_schema() -> pa.Schema:
    return FEATURES.arrow_schema


class Codecfake(datasets.ArrowBasedBuilder):
    """Reads an extracted official release (``data_dir``) into one configuration.

    Use it as a class, e.g. ``Codecfake(config_name="en_C3", data_dir=release).download_and_prepare()``;
    for a publishable folder where shared clips are stored once, use ``codecfake prepare``.
    """

    BUILDER_CONFIG_CLASS = CodecfakeConfig
    BUILDER_CONFIGS: ClassVar[list[CodecfakeConfig]] = list(CONFIGS.values())
    DEFAULT_CONFIG_NAME = DEFAULT_CONFIG

    def _info(self) -> datasets.DatasetInfo:
        return datasets.DatasetInfo(
            description=self.config.description,
            features=FEATURES,
            homepage=HOMEPAGE,
            license=LICENSE,
            citation=CITATION,
        )

    def _split_generators(self, dl_manager: Any) -> list[datasets.SplitGenerator]:
        if not self.config.data_dir:
            raise ValueError("pass data_dir=<extracted Codecfake release>")
        conditions = release_conditions(self.config.data_dir)
        sources = {
            Path(label).stem: (split, Path(label), Path(audio))
            for split, label, audio in label_sources(self.config.data_dir)
        }
        generators = []
        for split in self.config.splits_of(conditions):
            clips: dict[str, ReleaseClip] = {}
            for stem in self.config.label_sources(split, conditions):
                if stem not in sources:
                    continue
                _, label_path, audio_dir = sources[stem]
                for row in read_label_file(label_path):
                    clip = clip_from_label(label_path, row, audio_dir, conditions)
                    if self.config.includes(clip):
                        # A shared real test clip is listed by every condition: the first wins.
                        clips.setdefault(clip.file, clip)
            if clips:
                generators.append(
                    datasets.SplitGenerator(name=split, gen_kwargs={"clips": list(clips.values())})
                )
        return generators

    def _generate_tables(
        self, clips: list[ReleaseClip]
    ) -> Iterator[tuple[tuple[int, int], pa.Table]]:
        batch: list[dict[str, Any]] = []
        index = 0
        for clip in clips:
            batch.append(clip.row(read_clip_bytes(clip.path)))
            if len(batch) == 256:
                yield (0, index), pa.Table.from_pylist(batch, schema=_arrow_schema())
                batch, index = [], index + 1
        if batch:
            yield (0, index), pa.Table.from_pylist(batch, schema=_arrow_schema())


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


# --------------------------------------------------------------------------------------------
# Fast audio access: soundfile + soxr, no torch
# --------------------------------------------------------------------------------------------


def decode_audio_bytes(data: bytes, sampling_rate: int = SAMPLING_RATE) -> Any:
    """Mono float32 samples at ``sampling_rate`` from WAV/FLAC bytes, without torch."""
    import numpy as np
    import soundfile
    import soxr

    samples, rate = soundfile.read(io.BytesIO(data), dtype="float32", always_2d=True)
    mono = samples.mean(axis=1) if samples.shape[1] > 1 else samples[:, 0]
    if rate != sampling_rate:
        mono = soxr.resample(mono, rate, sampling_rate)
    return np.ascontiguousarray(mono, dtype=np.float32)


def _fast_decode_batch(batch: dict[str, list[Any]], sampling_rate: int) -> dict[str, list[Any]]:
    batch["audio"] = [
        {
            "array": decode_audio_bytes(a["bytes"], sampling_rate),
            "sampling_rate": sampling_rate,
            "path": a["path"],
        }
        for a in batch["audio"]
    ]
    return batch


def with_fast_audio(dataset: Any, sampling_rate: int = SAMPLING_RATE) -> Any:
    """The same split, with ``audio`` decoded by soundfile + soxr into ``{"array", "sampling_rate"}``.

    One call for a ``Dataset``/``IterableDataset`` (or a dict of them). It decodes lazily, as the
    default does, but skips torch and torchcodec, which is several times faster per clip.
    """
    if isinstance(dataset, (datasets.DatasetDict, datasets.IterableDatasetDict)):
        return type(dataset)({k: with_fast_audio(v, sampling_rate) for k, v in dataset.items()})
    raw = dataset.cast_column("audio", datasets.Audio(decode=False))
    if isinstance(raw, datasets.IterableDataset):
        return raw.map(_fast_decode_batch, batched=True, fn_kwargs={"sampling_rate": sampling_rate})
    return raw.with_transform(lambda batch: _fast_decode_batch(batch, sampling_rate))


_LAZY_EXPORTS: dict[str, str] = {
    "evaluate": "codecfake_evaluation.api",
    "EvaluationTable": "codecfake_evaluation.api",
    "eer": "codecfake_evaluation.eer",
    "EERResult": "codecfake_evaluation.eer",
    "prepare": "codecfake_builder.folder.prepare",
    "load_codec": "codecfake_builder.codecs.loading",
    "build_detector": "codecfake_detectors.models.detector",
    "load_official_checkpoint": "codecfake_detectors.official",
}
"""The public API of the other rooms, as ``codecfake.NAME``: imported on first use, so
``import codecfake`` does not pay for them and they cannot import it in a cycle."""


def __getattr__(name: str) -> Any:
    module = _LAZY_EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY_EXPORTS])
