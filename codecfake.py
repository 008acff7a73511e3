"""What the Codecfake benchmark *is*: conditions, file naming, labels, features, configurations.

Every other module imports these facts from here and never restates them. The numbers come from
the paper (Xie et al., arXiv 2405.04880) and the official release.

This is the ground floor: it imports no other part of the package, and importing it costs the
standard library only, because ``codecfake --help`` and the EER core start from it
(:data:`FEATURES` imports ``datasets`` on first use). What users run lives in the packages
above it: ``codecfake_core`` (reading a release, fast audio), ``codecfake_builder`` (download,
prepare, codecs, publish), ``codecfake_evaluation`` (the metric) and ``codecfake_detectors``
(the paper's models).
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import datasets

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


CONDITIONS_FILE = "conditions.json"
"""A release made by ``codecfake synthesize`` may add conditions (C8+): their specs live in
``label/conditions.json``."""


# --------------------------------------------------------------------------------------------
# Features, configurations, expected sizes
# --------------------------------------------------------------------------------------------

COLUMNS = ("audio", "file", "label", "condition", "codec", "language", "speaker", "utterance")
"""The columns of every configuration, in order. ``condition`` is the fake's condition (``C3``,
``C3-1``, ``A1``) and ``real`` for the shared real speech clips; A3's own AudioCaps reals carry
``A3``. ``codec`` is empty for real clips. ``audio`` and ``label`` are typed in :func:`features`;
every other column is a string."""


@functools.cache
def features() -> datasets.Features:
    """The ``datasets`` features of :data:`COLUMNS` (also ``codecfake.FEATURES``).

    Built on first use, so that only what needs ``datasets`` imports it.
    """
    import datasets

    typed = {
        "audio": datasets.Audio(sampling_rate=SAMPLING_RATE),
        "label": datasets.ClassLabel(names=list(LABEL_NAMES)),
    }
    return datasets.Features({name: typed.get(name, datasets.Value("string")) for name in COLUMNS})


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


@dataclass(frozen=True)
class CodecfakeConfig:
    """A configuration is a language filter over a set of conditions, plus the real clips they share.

    ``languages`` empty means "whatever the conditions cover" (A3 has no language). A ``pooled``
    configuration (``C1``, ``en_A1``, ``A3``, ``all``) is the union of its conditions' rows
    whatever their language, so it also takes clips whose language no name rule tells. It is a
    plain value: :class:`codecfake_builder.hf_builder.CodecfakeBuilderConfig` wraps it for
    ``datasets``.
    """

    name: str
    description: str = ""
    conditions: tuple[str, ...] = ()
    languages: tuple[str, ...] = SPEECH_LANGUAGES
    pooled: bool = False

    def takes(self, language: str) -> bool:
        """Whether a clip of ``language`` (``""``: not told by its name) belongs here."""
        return language in self.languages if language else self.pooled

    def includes(self, condition: str, language: str) -> bool:
        """Whether a clip of ``condition`` (``real`` for the shared reals) and ``language``, read
        from one of :meth:`label_sources`, belongs to this configuration."""
        own = condition == REAL_CONDITION or condition in self.conditions
        return own and self.takes(language)

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


def __getattr__(name: str) -> Any:
    if name == "FEATURES":  # built on first use: only what needs ``datasets`` imports it
        return features()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), "FEATURES"])
