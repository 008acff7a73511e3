"""Build a small Codecfake release tree in the official layout, quirks included, for tests.

``make_release(root, ...)`` writes ``label/*.txt``, ``train/``, ``dev/`` and ``test/<cond>/`` the
way the official archives extract, and returns a :class:`Release` that records every label row
it wrote. Tests compute what they expect from that record, never from the code under test.

Quirks reproduced: A-set label rows carry ``L1``/``L2``/``L3`` in the third column for real rows
too; reals are 32-bit float WAV while fakes are 16-bit PCM at their codec's rate (16, 24 or
44.1 kHz); every test condition's folder holds its own copy of the shared real test clips; C7
resynthesises every utterance, train and dev ones included; speaker p315 has no A1/A2 fake; A3
holds sound events, reals ``Y<youtube id>.wav`` and fakes ``<number>.wav``.

English clips are the real VCTK recordings of ``vctk_dir`` (the ``vctk_samples`` fixture) when it
is given, with real codec resyntheses as fakes; otherwise, and for Mandarin, the clips are
speech-like signals (a harmonic source shaped by moving formants, in syllables).
"""

from __future__ import annotations

import io
import json
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile
import soxr

import codecfake
from codecfake import Condition
from codecfake_core.labels import format_label_line

DEFAULT_CONDITIONS = ("C1", "C2", "C3", "C4", "C5", "C6", "C7", "C3-1", "C4-3", "A1", "A2", "A3")
REAL_RATE = 16_000

# The real VCTK utterances of shared/fixtures/vctk_codec_samples, split as a release would.
VCTK_SPLITS = {
    "train": ("p225_273", "p295_144"),
    "validation": ("p318_114",),
    "test": ("p343_296", "p351_402"),
}
# Which real codec resynthesis in the fixture stands in for each condition's fakes.
VCTK_FAKES = {
    "C1": "academicodec_hifi_16k_320d",
    "C2": "SpeechTokenizer",
    "C3": "funcodec-funcodec_en_libritts-16k-nq32ds320",
    "C4": "encodec_24khz",
    "C5": "audiodec_24k_320d",
    "C6": "academicodec_hifi_24k_320d",
    "C7": "descript-audio-codec-44khz",
    "C3-1": "funcodec-funcodec_en_libritts-16k-gr1nq32ds320",
    "C3-2": "funcodec-funcodec_en_libritts-16k-gr8nq32ds320",
    "C3-3": "funcodec-funcodec_en_libritts-16k-nq32ds640",
    "C3-4": "funcodec-funcodec_zh_en_general_16k_nq32ds320",
    "C4-1": "encodec_24khz",
    "C4-2": "encodec_24khz",
    "C4-3": "encodec_24khz",
    "A1": "descript-audio-codec-16khz",
    "A2": "descript-audio-codec-24khz",
}
USER_CONDITION_FAKES = "academicodec_hifi_16k_320d_large_uni"


@dataclass(frozen=True)
class FactoryClip:
    """One label row the factory wrote, with the columns the dataset should show for it."""

    split: str  # train / validation / test
    label_file: str  # e.g. "C1.txt"
    file: str
    label: str  # real / fake
    condition: str  # "real" for the shared speech reals, else C1, C3-1, A1, A3, C8...
    codec: str
    language: str  # en / zh / "" (A3)
    speaker: str
    utterance: str
    sample_rate: int
    path: Path

    def key(self) -> tuple[str, ...]:
        """The row's columns (audio aside), comparable with :func:`dataset_row_key`."""
        return (
            self.file,
            self.label,
            self.condition,
            self.codec,
            self.language,
            self.speaker,
            self.utterance,
        )


def dataset_row_key(row: dict) -> tuple[str, ...]:
    """A loaded dataset row in :meth:`FactoryClip.key`'s shape."""
    return (
        row["file"],
        codecfake.LABEL_NAMES[row["label"]],
        row["condition"],
        row["codec"],
        row["language"],
        row["speaker"],
        row["utterance"],
    )


@dataclass
class Release:
    root: Path
    rows: list[FactoryClip] = field(default_factory=list)

    def stored(self) -> list[FactoryClip]:
        """Each clip once: a shared real test clip is listed by every condition but stored once."""
        seen: dict[tuple[str, str], FactoryClip] = {}
        for row in self.rows:
            seen.setdefault((row.split, row.file), row)
        return list(seen.values())

    def label_path(self, label_file: str) -> Path:
        return self.root / "label" / label_file

    def expected_rows(
        self, conditions: set[str], languages: set[str]
    ) -> dict[str, list[tuple[str, ...]]]:
        """split -> sorted row keys of a configuration, by issue 2's rule: the conditions' fakes
        plus the shared real clips of those languages, in the splits where the fakes are."""
        speech = conditions != {"A3"}
        result: dict[str, list[tuple[str, ...]]] = {}
        fake_splits = set()
        for clip in self.stored():
            if clip.language not in languages:
                continue
            if clip.condition in conditions:
                fake_splits.add(clip.split)
            if clip.condition in conditions or (speech and clip.condition == "real"):
                result.setdefault(clip.split, []).append(clip.key())
        return {s: sorted(rows) for s, rows in result.items() if s in fake_splits}


CODECS = ("C1", "C2", "C3", "C4", "C5", "C6", "C7")


def spec_configs(conditions: Sequence[str]) -> dict[str, tuple[set[str], set[str]]]:
    """config name -> (conditions, languages) for a release of ``conditions``, as issue 2 names
    them: ``en_X``/``zh_X``/``X`` per codec, ``en_A1``, ``A3``, and ``en``/``zh``/``all`` over
    C1..C7. Conditions beyond the paper (C8, ...) join the aggregates only on request."""
    configs: dict[str, tuple[set[str], set[str]]] = {}
    for name in conditions:
        if name in ("A1", "A2"):
            configs[f"en_{name}"] = ({name}, {"en"})
        elif name == "A3":
            configs[name] = ({name}, {""})
        else:
            configs[f"en_{name}"] = ({name}, {"en"})
            configs[f"zh_{name}"] = ({name}, {"zh"})
            configs[name] = ({name}, {"en", "zh"})
    codecs = {c for c in conditions if c in CODECS}
    if codecs:
        configs["en"] = (codecs, {"en"})
        configs["zh"] = (codecs, {"zh"})
        configs["all"] = (codecs, {"en", "zh"})
    return configs


def make_release(
    root: Path,
    *,
    conditions: Sequence[str] = DEFAULT_CONDITIONS,
    user_conditions: Sequence[Condition] = (),
    n_en: int = 2,
    n_zh: int = 2,
    with_train: bool = True,
    with_dev: bool = True,
    vctk_dir: Path | None = None,
    seconds: float = 0.5,
    seed: int = 0,
) -> Release:
    """Write a release with ``n_en``/``n_zh`` real utterances per split (VCTK: its own five).

    ``user_conditions`` (e.g. ``codecfake.user_condition("C8", "Mimi", sample_rate=24_000)``)
    are declared in ``label/conditions.json``, as ``codecfake synthesize`` does.
    """
    specs = {**codecfake.CONDITIONS, **{c.name: c for c in user_conditions}}
    writer = _Writer(root, np.random.default_rng(seed), seconds, vctk_dir)
    splits = [s for s, keep in (("train", with_train), ("validation", with_dev)) if keep]
    utterances = {s: _utterances(s, n_en, n_zh, vctk_dir) for s in [*splits, "test"]}
    release = Release(root)
    for split in splits:
        label_file = f"{codecfake.RELEASE_SPLIT_DIR[split]}.txt"
        folder = root / codecfake.RELEASE_SPLIT_DIR[split]
        for utt in utterances[split]:
            release.rows.append(writer.real(split, label_file, folder, utt, "0"))
        for name in conditions:
            if split in specs[name].splits:
                for utt in utterances[split]:
                    release.rows.append(writer.fake(split, label_file, folder, specs[name], utt))
    for name in [*conditions, *(c.name for c in user_conditions)]:
        spec = specs[name]
        label_file, folder = f"{name}.txt", root / "test" / name
        if spec.has_own_reals:
            release.rows.extend(writer.sound_events(label_file, folder, spec, n_en + n_zh))
            continue
        speech = [u for u in utterances["test"] if _language(u) in spec.languages]
        idx = spec.label_idx if spec.kind == "alm" else "0"  # A sets: L1 on real rows too
        for utt in speech:
            release.rows.append(writer.real("test", label_file, folder, utt, idx))
        # C7 resynthesises every utterance into its test set, train and dev ones included.
        sources = [u for s in utterances.values() for u in s] if name == "C7" else speech
        for utt in sources:
            if spec.kind == "alm" and utt.startswith("p315_"):
                continue  # p315 has no transcripts, so the ALM sets have no fake of it
            release.rows.append(writer.fake("test", label_file, folder, spec, utt))
    writer.write_labels()
    if user_conditions:
        (root / "label" / codecfake.CONDITIONS_FILE).write_text(
            json.dumps([c.to_dict() for c in user_conditions], indent=2)
        )
    return release


def _utterances(split: str, n_en: int, n_zh: int, vctk_dir: Path | None) -> list[str]:
    offset = {"train": 0, "validation": 100, "test": 200}[split]
    if vctk_dir is not None:
        english = list(VCTK_SPLITS[split])
    else:
        speakers = ["p226", "p315"] if split == "test" else ["p227", "p228"]
        english = [f"{speakers[i % 2]}_{offset + i + 1:03d}" for i in range(n_en)]
    mandarin = [f"SSB{5 + i % 3:04d}{offset + i + 1:04d}" for i in range(n_zh)]
    return english + mandarin


def _language(utterance: str) -> str:
    return codecfake.utterance_language(utterance)[0]


def speech_like(rng: np.random.Generator, seconds: float, rate: int = REAL_RATE) -> np.ndarray:
    """Voiced syllables: harmonics of a gliding pitch, shaped by vowel formants that move."""
    n = int(seconds * rate)
    t = np.arange(n) / rate
    f0 = rng.uniform(100, 220) * (1 + 0.12 * np.sin(2 * np.pi * rng.uniform(0.5, 1.5) * t))
    phase = 2 * np.pi * np.cumsum(f0) / rate
    syllables = max(2, int(seconds * 4))
    knots = np.linspace(0, seconds, syllables)
    formants = [
        np.interp(t, knots, rng.uniform(low, high, syllables))
        for low, high in ((300, 850), (850, 2300), (2300, 3000))
    ]
    harmonics = np.arange(1, int(rate / 2 / f0.max()))[:, None]
    frequency = harmonics * f0[None, :]
    envelope = sum(
        np.exp(-0.5 * ((frequency - f) / (80 + 40 * i)) ** 2) / (i + 1)
        for i, f in enumerate(formants)
    )
    voiced = (envelope * np.sin(harmonics * phase[None, :]) / harmonics).sum(axis=0)
    syllable_rate = syllables / seconds
    loudness = np.clip(np.sin(np.pi * syllable_rate * t) ** 2 + 0.05, 0, 1)
    signal = voiced * loudness + 0.01 * rng.standard_normal(n)
    return (0.5 * signal / np.abs(signal).max()).astype(np.float32)


def codec_like(signal: np.ndarray, rate: int) -> np.ndarray:
    """A stand-in codec round trip: band-limited through 8 kHz, coarsely quantised, at ``rate``."""
    narrow = soxr.resample(soxr.resample(signal, REAL_RATE, 8_000), 8_000, rate)
    return (np.round(narrow * 64) / 64).astype(np.float32)


def wav_bytes(samples: np.ndarray, rate: int, subtype: str) -> bytes:
    buffer = io.BytesIO()
    soundfile.write(buffer, samples, rate, subtype=subtype, format="WAV")
    return buffer.getvalue()


class _Writer:
    """Writes each clip's audio once per folder and remembers the real signals it made."""

    def __init__(self, root: Path, rng: np.random.Generator, seconds: float, vctk_dir: Path | None):
        self.root, self.rng, self.seconds, self.vctk_dir = root, rng, seconds, vctk_dir
        self.signals: dict[str, np.ndarray] = {}
        self.real_wavs: dict[str, bytes] = {}
        self.lines: dict[str, list[str]] = {}

    def _label(self, label_file: str, name: str, label: str, idx: str) -> None:
        self.lines.setdefault(label_file, []).append(format_label_line(name, label, idx))

    def _real_signal(self, utt: str) -> np.ndarray:
        if utt not in self.signals:
            self.signals[utt] = speech_like(self.rng, self.seconds)
        return self.signals[utt]

    def _vctk(self, prefix: str, utt: str) -> Path | None:
        if self.vctk_dir is None or _language(utt) != "en":
            return None
        return self.vctk_dir / f"{prefix}+{utt}.wav"

    def _put(self, folder: Path, name: str, source: Path | bytes) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / name
        if isinstance(source, Path):
            shutil.copyfile(source, target)
        else:
            target.write_bytes(source)
        return target

    def real(self, split: str, label_file: str, folder: Path, utt: str, idx: str) -> FactoryClip:
        name = f"{utt}.wav"
        genuine = self._vctk("genuine", utt)
        if genuine is None and utt not in self.real_wavs:
            # Encoded once: libsndfile stamps float WAVs with the time (PEAK chunk), and every
            # copy of a shared real clip in a release is the same file.
            self.real_wavs[utt] = wav_bytes(self._real_signal(utt), REAL_RATE, "FLOAT")
        source = genuine or self.real_wavs[utt]
        path = self._put(folder, name, source)
        self._label(label_file, name, "real", idx)
        lang, speaker = codecfake.utterance_language(utt)
        return FactoryClip(
            split, label_file, name, "real", "real", "", lang, speaker, utt, REAL_RATE, path
        )

    def fake(
        self, split: str, label_file: str, folder: Path, spec: Condition, utt: str
    ) -> FactoryClip:
        name = codecfake.fake_file_name(spec, utt)
        rate = spec.sample_rate or REAL_RATE
        resynthesis = self._vctk(VCTK_FAKES.get(spec.name, USER_CONDITION_FAKES), utt)
        if resynthesis is not None:
            rate = soundfile.info(resynthesis).samplerate
            source: Path | bytes = resynthesis
        else:
            source = wav_bytes(codec_like(self._real_signal(utt), rate), rate, "PCM_16")
        path = self._put(folder, name, source)
        self._label(label_file, name, "fake", spec.label_idx)
        lang, speaker = codecfake.utterance_language(utt)
        return FactoryClip(
            split, label_file, name, "fake", spec.name, spec.codec, lang, speaker, utt, rate, path
        )

    def sound_events(
        self, label_file: str, folder: Path, spec: Condition, count: int
    ) -> list[FactoryClip]:
        """A3: AudioCaps-like reals ``Y<id>.wav`` and generated fakes ``<number>.wav``."""
        rows = []
        for i in range(count):
            for label, name in (("real", f"Y{i:02d}x-Ev3nt{i}.wav"), ("fake", f"{7000 + i}.wav")):
                n = int(self.seconds * REAL_RATE)
                bursts = np.repeat(self.rng.random(n // 800 + 1) > 0.6, 800)[:n]
                noise = self.rng.standard_normal(n).astype(np.float32) * 0.2 * bursts
                path = self._put(folder, name, wav_bytes(noise, REAL_RATE, "PCM_16"))
                self._label(label_file, name, label, spec.label_idx)
                codec = spec.codec if label == "fake" else ""
                stem = name.removesuffix(".wav")
                rows.append(
                    FactoryClip(
                        "test",
                        label_file,
                        name,
                        label,
                        spec.name,
                        codec,
                        "",
                        "",
                        stem,
                        REAL_RATE,
                        path,
                    )
                )
        return rows

    def write_labels(self) -> None:
        labels = self.root / "label"
        labels.mkdir(parents=True, exist_ok=True)
        for label_file, lines in self.lines.items():
            (labels / label_file).write_text("".join(lines), encoding="utf-8")


# --------------------------------------------------------------------------------------------
# What each configuration must hold, from the label files alone
# --------------------------------------------------------------------------------------------

_EN = re.compile(r"^(?:F\d\d_|C\d-\d_|L\d_)?p\d{3}_\d{3}\.wav$")
_ZH = re.compile(r"^(?:F\d\d_|C\d-\d_|L\d_)?SSB\d{8}\.wav$")
_SPLIT_OF_LABEL = {"train": "train", "dev": "validation"}


def _row_language(name: str, source: str) -> str:
    if source == "A3":
        return "-"  # sound events: no language, and not speech
    return "en" if _EN.match(name) else "zh" if _ZH.match(name) else ""


def labelled_files(root: Path, config: codecfake.CodecfakeConfig) -> dict[str, set[str]]:
    """split -> the files a configuration must hold, read from ``root/label/*.txt`` by the rules
    of DATASET.md (a test split is its conditions' label files; train/dev hold the reals and the
    fakes of every trained condition, each fake named by its ``F0k_`` prefix)."""
    result: dict[str, set[str]] = {}
    for label in sorted((root / "label").glob("*.txt")):
        source = label.stem
        split = _SPLIT_OF_LABEL.get(source, "test")
        audio = root / ("test/" + source if split == "test" else source)
        if not audio.is_dir() or (split == "test" and source not in config.conditions):
            continue
        for line in label.read_text(encoding="utf-8-sig").splitlines():
            if not line.strip():
                continue
            name, label_name, idx = line.split()
            if split != "test":
                condition = "real" if label_name == "real" else f"C{int(idx)}"
                if condition != "real" and condition not in config.conditions:
                    continue
                if condition == "real" and not any(
                    split in codecfake.CONDITIONS[c].splits for c in config.conditions
                ):
                    continue
            language = _row_language(name, source)
            if language == "-" or (language in config.languages if language else config.pooled):
                result.setdefault(split, set()).add(name)
    return result


def stored_files(folder: Path) -> dict[str, dict[str, list[str]]]:
    """config -> split -> the ``file`` column of the shards its card's data_files name."""
    import pyarrow.parquet as pq
    import yaml

    card = yaml.safe_load(folder.joinpath("README.md").read_text().split("---")[1])
    stored: dict[str, dict[str, list[str]]] = {}
    for entry in card["configs"]:
        for files in entry["data_files"]:
            names: list[str] = []
            for pattern in files["path"]:
                for shard in sorted(folder.glob(pattern)):
                    names.extend(pq.read_table(shard, columns=["file"]).column("file").to_pylist())
            stored.setdefault(entry["config_name"], {})[files["split"]] = names
    return stored


def assert_configs_match_labels(root: Path, folder: Path, configs=None) -> None:
    """Every configuration of ``folder`` holds exactly the files its label files list, once each,
    and no configuration with labelled rows is missing."""
    stored = stored_files(folder)
    for name, config in (configs or codecfake.CONFIGS).items():
        # as in the folder, a split whose label rows are all shared reals is not a split of it
        expected = {
            split: files
            for split, files in labelled_files(root, config).items()
            if not all(_is_real_name(f) for f in files)
        }
        got = stored.get(name, {})
        if not expected and not got:
            continue
        assert set(got) == set(expected), (name, sorted(got), sorted(expected))
        for split, files in expected.items():
            assert len(got[split]) == len(set(got[split])), (name, split, "duplicate rows")
            assert set(got[split]) == files, (name, split, sorted(set(got[split]) ^ files)[:5])


def _is_real_name(name: str) -> bool:
    return not re.match(r"^(F\d\d_|C\d-\d_|L\d_|\d+\.wav$)", name)
