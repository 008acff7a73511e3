"""Small source corpora in their real layouts, and a real (weight-free) codec, for builder tests.

English clips are cut from the real VCTK recordings in the shared fixtures when present (written
as 48 kHz FLAC, as VCTK 0.92 ships them); Mandarin clips are speech-like signals at 44.1 kHz:
a glottal-like harmonic source whose pitch follows Mandarin-like tone contours, shaped by moving
formants and a syllable-rate amplitude envelope.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import soundfile
import soxr

from builder.codecs.base import CodecSpec
from codecfake import CONDITIONS

VCTK_RATE = 48_000
AISHELL3_RATE = 44_100

# (speaker, utterance number, text); p315 has no text in VCTK, as in the real corpus.
VCTK_UTTERANCES = [
    ("p225", 1, "Please call Stella."),
    ("p225", 2, "Ask her to bring these things with her from the store."),
    ("p225", 3, "Six spoons of fresh snow peas."),
    ("p295", 1, "Five thick slabs of blue cheese."),
    ("p295", 2, "And maybe a snack for her brother Bob."),
    ("p315", 1, None),
    ("p315", 2, None),
    ("p318", 1, "We also need a small plastic snake."),
    ("p318", 2, "And a big toy frog for the kids."),
    ("p343", 1, "She can scoop these things into three red bags."),
    ("p351", 1, "And we will go meet her Wednesday."),
    ("p351", 2, "At the train station."),
]

# (speaker, utterance number, characters with pinyin)
AISHELL3_UTTERANCES = [
    (
        "SSB0005",
        1,
        [
            ("广", "guang3"),
            ("州", "zhou1"),
            ("女", "nv3"),
            ("大", "da4"),
            ("学", "xue2"),
            ("生", "sheng1"),
        ],
    ),
    ("SSB0005", 2, [("登", "deng1"), ("山", "shan1"), ("失", "shi1"), ("联", "lian2")]),
    ("SSB0005", 3, [("你", "ni3"), ("好", "hao3")]),
    (
        "SSB0009",
        1,
        [
            ("今", "jin1"),
            ("天", "tian1"),
            ("天", "tian1"),
            ("气", "qi4"),
            ("很", "hen3"),
            ("好", "hao3"),
        ],
    ),
    ("SSB0009", 2, [("我", "wo3"), ("们", "men5"), ("走", "zou3"), ("吧", "ba5")]),
    ("SSB0009", 3, [("绿", "lv4"), ("色", "se4")]),
    ("SSB1365", 58, [("打", "da3"), ("开", "kai1"), ("音", "yin1"), ("乐", "yue4")]),
    ("SSB1365", 59, [("儿", "er2"), ("童", "tong2"), ("节", "jie2")]),
    ("SSB1365", 60, [("北", "bei3"), ("京", "jing1")]),
    ("SSB1831", 1, [("上", "shang4"), ("海", "hai3"), ("的", "de5"), ("雨", "yu3")]),
]
AISHELL3_TEST_SPEAKERS = {"SSB1365"}  # AISHELL-3's own split, which Codecfake ignores

_TONE_CONTOURS = {
    "1": (1.0, 1.0),
    "2": (0.8, 1.15),
    "3": (0.8, 0.7),
    "4": (1.2, 0.75),
    "5": (0.9, 0.9),
}


def speech_like(syllables: Sequence[str], rate: int, seed: int) -> np.ndarray:
    """One voiced syllable per pinyin token: tone-shaped pitch, moving formants, onset/decay."""
    rng = np.random.default_rng(seed)
    base_f0 = rng.uniform(110, 220)
    pieces = []
    for syllable in syllables:
        n = int(rate * rng.uniform(0.18, 0.3))
        t = np.arange(n) / rate
        start, end = _TONE_CONTOURS[syllable[-1]]
        f0 = base_f0 * np.linspace(start, end, n)
        phase = 2 * np.pi * np.cumsum(f0) / rate
        formants = rng.uniform([350, 900, 2300], [850, 1900, 3000])
        wave = np.zeros(n)
        for k in range(1, int(4000 / f0.max())):
            freq = k * f0
            gain = sum(np.exp(-(((freq - f) / 120.0) ** 2)) for f in formants) + 0.02 / k
            wave += gain * np.sin(k * phase)
        envelope = np.minimum(1.0, t / 0.03) * np.exp(-3.0 * t)
        pieces += [wave * envelope, 0.003 * rng.standard_normal(int(rate * 0.04))]
    audio = np.concatenate(pieces)
    return (0.5 * audio / np.abs(audio).max()).astype(np.float32)


def real_vctk_segments(vctk_samples: Path | None, count: int) -> list[np.ndarray]:
    """``count`` speech segments at 48 kHz: pieces of the real VCTK clips, or speech-like audio."""
    if vctk_samples is None:
        return [
            soxr.resample(speech_like(["a1", "b4", "c3", "d2"], 16_000, i), 16_000, VCTK_RATE)
            for i in range(count)
        ]
    clips = []
    for path in sorted(vctk_samples.glob("genuine+*.wav")):
        audio, rate = soundfile.read(path, dtype="float32")
        clips.append(soxr.resample(audio, rate, VCTK_RATE))
    segments = []
    for i in range(count):
        clip = clips[i % len(clips)]
        piece = i // len(clips)
        length = int(1.2 * VCTK_RATE)
        segments.append(clip[piece * length : (piece + 1) * length])
    return segments


def make_vctk_092(
    root: Path, vctk_samples: Path | None, *, mic2_missing: Sequence[str] = ()
) -> Path:
    """VCTK 0.92: FLAC for mic1 and mic2, transcripts in txt/, none for p315."""
    segments = real_vctk_segments(vctk_samples, len(VCTK_UTTERANCES))
    for (speaker, number, text), audio in zip(VCTK_UTTERANCES, segments, strict=True):
        utterance = f"{speaker}_{number:03d}"
        folder = root / "wav48_silence_trimmed" / speaker
        folder.mkdir(parents=True, exist_ok=True)
        soundfile.write(folder / f"{utterance}_mic1.flac", audio, VCTK_RATE)
        if utterance not in mic2_missing:
            soundfile.write(folder / f"{utterance}_mic2.flac", 0.8 * audio, VCTK_RATE)
        if text is not None:
            (root / "txt" / speaker).mkdir(parents=True, exist_ok=True)
            (root / "txt" / speaker / f"{utterance}.txt").write_text(text + "\n")
    return root


def make_aishell3(root: Path) -> Path:
    """AISHELL-3: train/ and test/, each with wav/<speaker>/ and content.txt."""
    lines: dict[str, list[str]] = {"train": [], "test": []}
    for i, (speaker, number, pairs) in enumerate(AISHELL3_UTTERANCES):
        part = "test" if speaker in AISHELL3_TEST_SPEAKERS else "train"
        name = f"{speaker}{number:04d}.wav"
        folder = root / part / "wav" / speaker
        folder.mkdir(parents=True, exist_ok=True)
        audio = speech_like([p for _, p in pairs], AISHELL3_RATE, seed=100 + i)
        soundfile.write(folder / name, audio, AISHELL3_RATE, subtype="PCM_16")
        lines[part].append(name + "\t" + " ".join(f"{c} {p}" for c, p in pairs))
    for part, rows in lines.items():
        (root / part / "content.txt").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return root


class MuLawCodec:
    """A real lossy codec without weights: 8-bit mu-law quantisation at the condition's rate."""

    def __init__(self, condition: str, sample_rate: int | None = None):
        known = CONDITIONS.get(condition)
        rate = sample_rate or (known.sample_rate if known else None) or 16_000
        self.spec = CodecSpec(condition, "mulaw", rate, bitrate_kbps=rate * 8 / 1000, quantizers=1)
        self.sample_rate = rate
        self.provenance = {"checkpoint": None, "sha256": None, "random_weights": False}

    def resynthesize(self, waveforms: Sequence[np.ndarray]) -> list[np.ndarray]:
        mu = 255.0
        results = []
        for wave in waveforms:
            x = np.clip(wave, -1.0, 1.0)
            y = np.sign(x) * np.log1p(mu * np.abs(x)) / np.log1p(mu)
            q = np.round((y + 1) / 2 * mu) / mu * 2 - 1
            results.append(
                (np.sign(q) * np.expm1(np.abs(q) * np.log1p(mu)) / mu).astype(np.float32)
            )
        return results


def load_mulaw(condition: str, **_: object) -> MuLawCodec:
    """A ``load_codec``-shaped loader for conditions served by :class:`MuLawCodec`."""
    return MuLawCodec(condition)
