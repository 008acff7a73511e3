"""A small synthetic bilingual corpus in the real VCTK 0.92 and AISHELL-3 layouts, with no download.

The demo and tests need source speech that the real parsers (:mod:`codecfake_builder.sources.vctk`,
:mod:`codecfake_builder.sources.aishell3`) read unchanged, so the synthetic corpus copies the real layouts:

- ``vctk/wav48_silence_trimmed/pNNN/pNNN_NNN_mic1.flac`` (48 kHz) and ``vctk/txt/pNNN/pNNN_NNN.txt``
- ``aishell3/train/wav/SSBNNNN/SSBNNNNNNNN.wav`` (44.1 kHz) and ``aishell3/train/content.txt``
  with ``<file><TAB>字 zi4 ...`` character/pinyin pairs.

Speaker ids (p9NN, SSB9NNN) lie outside the real corpora's ranges, so no synthetic clip can be
mistaken for a real one. Voices come from espeak-ng when installed (English voices, Mandarin
read from pinyin), else from our own formant synthesiser; either way the output is the same
for the same seed and engine.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import soundfile
import soxr

from codecfake_core.io import atomic_write_text

from .formant import SpeakerVoice, english_syllables, mandarin_syllables, synthesize

VCTK_RATE = 48_000
AISHELL3_RATE = 44_100
ENGINES = ("auto", "espeak-ng", "formant")
STAMP = ".synthetic-corpus.json"

ENGLISH_SENTENCES = (
    "Please call the office before noon.",
    "The river runs quietly past the old mill.",
    "We planted seven trees along the northern fence.",
    "She asked for a cup of strong black coffee.",
    "The train to the city leaves at nine.",
    "Bright colours make the small room feel larger.",
    "He found the keys under a pile of letters.",
    "Our neighbours are painting their house blue.",
    "The children sang loudly in the school hall.",
    "A cold wind blew across the empty field.",
    "Take the second turning on the left.",
    "Fresh bread smells wonderful in the morning.",
    "The museum opens again next Thursday.",
    "Nobody expected the match to end so early.",
    "Keep the receipt in case the shoes do not fit.",
    "Thick fog covered the harbour all afternoon.",
)
# (characters, pinyin): one tone-numbered syllable per character, as AISHELL-3 writes them.
MANDARIN_SENTENCES = (
    ("今天天气很好", "jin1 tian1 tian1 qi4 hen3 hao3"),
    ("我们一起去学校", "wo3 men5 yi4 qi3 qu4 xue2 xiao4"),
    ("他喜欢喝绿茶", "ta1 xi3 huan5 he1 lv4 cha2"),
    ("请把门关上", "qing3 ba3 men2 guan1 shang4"),
    ("这本书非常有意思", "zhe4 ben3 shu1 fei1 chang2 you3 yi4 si5"),
    ("明天早上八点开会", "ming2 tian1 zao3 shang4 ba1 dian3 kai1 hui4"),
    ("妈妈在厨房做饭", "ma1 ma5 zai4 chu2 fang2 zuo4 fan4"),
    ("火车站离这里不远", "huo3 che1 zhan4 li2 zhe4 li3 bu4 yuan3"),
    ("小猫在沙发上睡觉", "xiao3 mao1 zai4 sha1 fa1 shang4 shui4 jiao4"),
    ("我想买一杯咖啡", "wo3 xiang3 mai3 yi4 bei1 ka1 fei1"),
    ("春天的花开得很美", "chun1 tian1 de5 hua1 kai1 de5 hen3 mei3"),
    ("你的电话号码是多少", "ni3 de5 dian4 hua4 hao4 ma3 shi4 duo1 shao3"),
    ("图书馆周末也开门", "tu2 shu1 guan3 zhou1 mo4 ye3 kai1 men2"),
    ("外面下着小雨", "wai4 mian4 xia4 zhe5 xiao3 yu3"),
    ("我们晚上吃面条", "wo3 men5 wan3 shang4 chi1 mian4 tiao2"),
    ("公园里有很多人", "gong1 yuan2 li3 you3 hen3 duo1 ren2"),
)
ESPEAK_VOICES = {
    "en": ("en-gb", "en-us", "en-gb-scotland", "en-gb-x-rp"),
    "zh": ("cmn-latn-pinyin",),
}
ESPEAK_VARIANTS = ("m1", "f2", "m3", "f4", "m2", "f1", "m4", "f3")


@dataclass(frozen=True)
class CorpusSpec:
    """Everything the corpus depends on; a matching stamp lets a rerun reuse the folder."""

    speakers_per_language: int = 4
    utterances_per_speaker: int = 8
    seed: int = 0
    engine: str = "formant"


@dataclass(frozen=True)
class SyntheticCorpora:
    vctk: Path
    aishell3: Path
    engine: str


def resolve_engine(engine: str) -> str:
    """``auto`` is espeak-ng when its binary is on PATH, else the built-in formant synthesiser."""
    if engine not in ENGINES:
        raise ValueError(f"unknown speech engine {engine!r} (expected one of {ENGINES})")
    if engine == "auto":
        return "espeak-ng" if shutil.which("espeak-ng") else "formant"
    if engine == "espeak-ng" and not shutil.which("espeak-ng"):
        raise FileNotFoundError("espeak-ng is not installed (apt-get install espeak-ng)")
    return engine


def formant_voice(language: str, speaker: int, rng: np.random.Generator) -> SpeakerVoice:
    """Alternating male/female voices, each with its own pitch, tract length and tempo."""
    female = speaker % 2 == 1
    return SpeakerVoice(
        f0=(205.0 if female else 112.0) * rng.uniform(0.88, 1.12),
        formant_scale=(1.14 if female else 1.0) * rng.uniform(0.95, 1.05),
        syllables_per_second=rng.uniform(3.6, 5.0) * (1.15 if language == "zh" else 1.0),
        breathiness=rng.uniform(0.02, 0.06),
    )


def _espeak(text: str, voice: str, pitch: int, speed: int) -> tuple[np.ndarray, int]:
    with tempfile.TemporaryDirectory() as scratch:
        wav = Path(scratch) / "speech.wav"
        subprocess.run(
            ["espeak-ng", "-v", voice, "-p", str(pitch), "-s", str(speed), "-w", str(wav), text],
            check=True,
            capture_output=True,
        )
        audio, rate = soundfile.read(wav, dtype="float64")
    return audio, rate


def render(
    language: str, speaker: int, text: str, pinyin: str, rate: int, spec: CorpusSpec
) -> np.ndarray:
    """One utterance as float32 at ``rate``; the seed, language and speaker fix every choice."""
    speaker_rng = np.random.default_rng([spec.seed, ord(language[0]), speaker])
    utterance_rng = np.random.default_rng(
        [spec.seed, ord(language[0]), speaker, len(text), *text.encode()]
    )
    if spec.engine == "espeak-ng":
        voices = ESPEAK_VOICES[language]
        voice = f"{voices[speaker % len(voices)]}+{ESPEAK_VARIANTS[speaker % len(ESPEAK_VARIANTS)]}"
        pitch = int(speaker_rng.integers(25, 75))
        speed = int(speaker_rng.integers(135, 175))
        audio, native = _espeak(pinyin if language == "zh" else text, voice, pitch, speed)
        audio = soxr.resample(audio, native, rate)
        audio = 0.6 * audio / (np.max(np.abs(audio)) + 1e-9)
        audio += 10 ** (-58 / 20) * utterance_rng.standard_normal(len(audio))  # a room's floor
        return audio.astype(np.float32)
    voice = formant_voice(language, speaker, speaker_rng)
    syllables = (
        mandarin_syllables(pinyin) if language == "zh" else english_syllables(text, utterance_rng)
    )
    return synthesize(syllables, voice, rate, utterance_rng)


def _write_vctk(root: Path, spec: CorpusSpec) -> None:
    for s in range(spec.speakers_per_language):
        speaker = f"p{901 + s}"
        audio_dir = root / "wav48_silence_trimmed" / speaker
        text_dir = root / "txt" / speaker
        audio_dir.mkdir(parents=True)
        text_dir.mkdir(parents=True)
        for u in range(spec.utterances_per_speaker):
            text = ENGLISH_SENTENCES[(u + 3 * s) % len(ENGLISH_SENTENCES)]
            utterance = f"{speaker}_{u + 1:03d}"
            audio = render("en", s, text, "", VCTK_RATE, spec)
            soundfile.write(
                audio_dir / f"{utterance}_mic1.flac", audio, VCTK_RATE, subtype="PCM_16"
            )
            (text_dir / f"{utterance}.txt").write_text(text + "\n", encoding="utf-8")


def _write_aishell3(root: Path, spec: CorpusSpec) -> None:
    lines: list[str] = []
    for s in range(spec.speakers_per_language):
        speaker = f"SSB{9001 + s:04d}"
        audio_dir = root / "train" / "wav" / speaker
        audio_dir.mkdir(parents=True)
        for u in range(spec.utterances_per_speaker):
            characters, pinyin = MANDARIN_SENTENCES[(u + 3 * s) % len(MANDARIN_SENTENCES)]
            name = f"{speaker}{u + 1:04d}.wav"
            audio = render("zh", s, characters, pinyin, AISHELL3_RATE, spec)
            soundfile.write(audio_dir / name, audio, AISHELL3_RATE, subtype="PCM_16")
            pairs = " ".join(f"{c} {p}" for c, p in zip(characters, pinyin.split(), strict=True))
            lines.append(f"{name}\t{pairs}\n")
    (root / "train" / "content.txt").write_text("".join(lines), encoding="utf-8")


def make_synthetic_corpora(
    out_dir: os.PathLike[str] | str,
    *,
    speakers_per_language: int = 4,
    utterances_per_speaker: int = 8,
    seed: int = 0,
    engine: str = "auto",
) -> SyntheticCorpora:
    """Write (or reuse) ``out_dir/vctk`` and ``out_dir/aishell3``; returns their paths.

    The corpus is written into a temporary sibling and renamed into place, so a crash never
    leaves a half corpus that a rerun would take for a finished one.
    """
    if speakers_per_language < 1 or utterances_per_speaker < 1:
        raise ValueError("need at least one speaker and one utterance per language")
    spec = CorpusSpec(speakers_per_language, utterances_per_speaker, seed, resolve_engine(engine))
    out = Path(out_dir)
    record = json.dumps(asdict(spec), sort_keys=True)
    stamp = out / STAMP
    corpora = SyntheticCorpora(out / "vctk", out / "aishell3", spec.engine)
    if stamp.is_file() and stamp.read_text(encoding="utf-8") == record:
        return corpora
    out.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(record.encode()).hexdigest()[:8]
    with tempfile.TemporaryDirectory(dir=out, prefix=f".corpus-{digest}-") as scratch:
        staged = Path(scratch)
        _write_vctk(staged / "vctk", spec)
        _write_aishell3(staged / "aishell3", spec)
        stamp.unlink(missing_ok=True)
        for name in ("vctk", "aishell3"):
            shutil.rmtree(out / name, ignore_errors=True)
            os.replace(staged / name, out / name)
    atomic_write_text(stamp, record)
    return corpora
