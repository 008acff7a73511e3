"""A small source-filter speech synthesiser, so the demo corpus needs no TTS package and no download.

It is deliberately crude but speech-shaped where a detector looks: a glottal pulse train with a
moving f0 (jitter, declination, Mandarin lexical tones), vowel formants through cascaded
resonators, noise bursts for fricatives and plosives, nasal murmurs, syllable envelopes and a
recording noise floor. Codecs then meet harmonics, formants and transients as in real speech,
which pure tones would not exercise. ``espeak-ng`` is used instead when installed (see
:mod:`codecfake_builder.sources.synthetic`); this is the fallback that always works.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from scipy.signal import butter, lfilter, sosfilt

# F1, F2, F3 (Hz) of an adult male voice; a speaker's formant scale shifts them all.
VOWEL_FORMANTS = {
    "a": (730, 1090, 2440),
    "e": (530, 1840, 2480),
    "i": (270, 2290, 3010),
    "o": (570, 840, 2410),
    "u": (300, 870, 2240),
    "v": (300, 1800, 2200),  # pinyin v = ü
    "y": (400, 1900, 2600),
}
NASAL_FORMANTS = (250, 1200, 2500)
BANDWIDTHS = (80, 100, 140)
# Chao tone letters (1 low .. 5 high) per Mandarin tone; 5 is the neutral tone.
TONE_CONTOURS = {1: (5, 5), 2: (3, 5), 3: (2, 1, 3), 4: (5, 1), 5: (3, 3)}
# Pinyin initials, two-letter ones first so "zh" is not read as "z".
_INITIALS = ("zh", "ch", "sh", *"bpmfdtnlgkhjqxrzcsyw")
_FRICATIVES = {"f", "s", "sh", "x", "h", "z", "zh", "c", "ch", "j", "q"}
_PLOSIVES = set("bpdtgk")
_NASALS = set("mnlr")


@dataclass(frozen=True)
class SpeakerVoice:
    """What makes speakers differ: pitch, vocal-tract length, speaking rate, breathiness."""

    f0: float  # Hz, the speaker's median pitch
    formant_scale: float  # >1 for a shorter vocal tract (higher formants)
    syllables_per_second: float
    breathiness: float = 0.03


@dataclass(frozen=True)
class Syllable:
    onset: str  # "", "fricative", "plosive" or "nasal"
    vowel: str  # a key of VOWEL_FORMANTS
    nasal_coda: bool
    contour: tuple[float, ...]  # f0 targets as multiples of the speaker's f0
    length: float = 1.0  # relative duration
    word_end: bool = False


def _onset_class(consonants: str) -> str:
    for name, members in (
        ("fricative", _FRICATIVES),
        ("plosive", _PLOSIVES),
        ("nasal", _NASALS),
    ):
        if consonants in members or consonants[:1] in members:
            return name
    return ""


def english_syllables(text: str, rng: np.random.Generator) -> list[Syllable]:
    """Letter-based syllables with a falling sentence intonation and random word accents."""
    words = re.findall(r"[a-z]+", text.lower())
    groups = [re.findall(r"[^aeiouy]*[aeiouy]+(?:[^aeiouy]+$)?", w) or [w + "a"] for w in words]
    total = sum(len(g) for g in groups)
    syllables: list[Syllable] = []
    for word in groups:
        accent = 1.0 + (0.18 if rng.random() < 0.45 else 0.0)
        for index, chunk in enumerate(word):
            onset = re.match(r"[^aeiouy]*", chunk).group(0)
            vowel = re.search(r"[aeiouy]", chunk).group(0)
            position = len(syllables) / max(total - 1, 1)
            level = 1.12 - 0.27 * position  # declination across the sentence
            peak = level * (accent if index == 0 else 1.0)
            syllables.append(
                Syllable(
                    onset=_onset_class(onset),
                    vowel=vowel,
                    nasal_coda=bool(re.search(r"n|m|ng$", chunk[-2:])),
                    contour=(peak, level * 0.97),
                    word_end=index == len(word) - 1,
                )
            )
    return syllables


def mandarin_syllables(pinyin: str, semitones_per_step: float = 2.2) -> list[Syllable]:
    """One syllable per ``guang3``-style token; its tone number picks the f0 contour."""
    syllables: list[Syllable] = []
    for token in pinyin.lower().split():
        match = re.fullmatch(r"([a-zü]+?)([1-5])?", token)
        if not match:
            continue
        letters, tone = match.group(1).replace("ü", "v"), int(match.group(2) or 5)
        initial = next((i for i in _INITIALS if letters.startswith(i)), "")
        final = letters[len(initial) :] or "i"
        vowel = next((v for v in "aoeivu" if v in final), "e")
        contour = tuple(
            2 ** ((level - 3) * semitones_per_step / 12) for level in TONE_CONTOURS[tone]
        )
        syllables.append(
            Syllable(
                onset=_onset_class(initial),
                vowel=vowel,
                nasal_coda=final.endswith(("n", "ng")),
                contour=contour,
                length=0.6 if tone == 5 else 1.0,
                word_end=True,
            )
        )
    return syllables


def _resonate(signal: np.ndarray, frequency: float, bandwidth: float, rate: int) -> np.ndarray:
    """A two-pole resonator with unit gain at 0 Hz (Klatt's formant filter)."""
    r = np.exp(-np.pi * bandwidth / rate)
    a1, a2 = -2 * r * np.cos(2 * np.pi * frequency / rate), r * r
    return lfilter([1 + a1 + a2], [1, a1, a2], signal)


def _formant_filter(
    source: np.ndarray, formants: tuple[float, ...], scale: float, rate: int
) -> np.ndarray:
    out = source
    for frequency, bandwidth in zip(formants, BANDWIDTHS, strict=True):
        out = _resonate(out, min(frequency * scale, 0.45 * rate), bandwidth, rate)
    return out


def _glottal_source(f0: np.ndarray, rate: int, rng: np.random.Generator) -> np.ndarray:
    """Differentiated raised-cosine glottal pulses (open quotient 0.6) following ``f0``."""
    jittered = f0 * (1 + 0.01 * rng.standard_normal(len(f0)).cumsum() / np.sqrt(len(f0) + 1))
    phase = np.cumsum(jittered / rate) % 1.0
    open_quotient = 0.6
    flow = np.where(phase < open_quotient, 0.5 * (1 - np.cos(2 * np.pi * phase / open_quotient)), 0)
    return np.diff(flow, prepend=0.0) * rate / 100.0


def _band_noise(
    length: int, low: float, high: float, rate: int, rng: np.random.Generator
) -> np.ndarray:
    sos = butter(4, [low, min(high, 0.45 * rate)], btype="band", fs=rate, output="sos")
    return sosfilt(sos, rng.standard_normal(length))


def _envelope(length: int, rate: int, attack: float = 0.015, release: float = 0.03) -> np.ndarray:
    env = np.ones(length)
    for ramp, sl in (
        (int(attack * rate), slice(None)),
        (int(release * rate), slice(None, None, -1)),
    ):
        ramp = min(ramp, length // 2)
        if ramp:
            env[sl][:ramp] = 0.5 * (1 - np.cos(np.linspace(0, np.pi, ramp)))
    return env


def _render_syllable(
    syllable: Syllable, voice: SpeakerVoice, rate: int, rng: np.random.Generator
) -> np.ndarray:
    seconds = syllable.length * rng.uniform(0.85, 1.15) / voice.syllables_per_second
    total = int(seconds * rate)
    onset_len = {"fricative": 0.09, "plosive": 0.04, "nasal": 0.05, "": 0.0}[syllable.onset]
    onset = int(min(onset_len, 0.4 * seconds) * rate)
    voiced = total - onset
    points = np.linspace(0, 1, len(syllable.contour))
    f0 = voice.f0 * np.interp(np.linspace(0, 1, voiced), points, syllable.contour)
    source = _glottal_source(f0, rate, rng)
    source += voice.breathiness * _band_noise(voiced, 500, 6000, rate, rng)
    vowel = _formant_filter(source, VOWEL_FORMANTS[syllable.vowel], voice.formant_scale, rate)
    if syllable.nasal_coda:
        nasal = 0.5 * _formant_filter(source, NASAL_FORMANTS, voice.formant_scale, rate)
        fade = np.clip((np.linspace(0, 1, voiced) - 0.65) / 0.15, 0, 1)
        vowel = (1 - fade) * vowel + fade * nasal
    vowel *= _envelope(voiced, rate)
    if syllable.onset == "fricative":
        head = 0.25 * _band_noise(onset, 2500, 8000, rate, rng) * _envelope(onset, rate, 0.02, 0.02)
    elif syllable.onset == "plosive":
        burst = int(0.012 * rate)
        head = np.zeros(onset)
        head[-burst:] = 0.4 * _band_noise(burst, 1000, 7000, rate, rng) * np.hanning(burst)
    elif syllable.onset == "nasal":
        murmur = _formant_filter(
            _glottal_source(f0[:1].repeat(onset), rate, rng),
            NASAL_FORMANTS,
            voice.formant_scale,
            rate,
        )
        head = 0.4 * murmur * _envelope(onset, rate)
    else:
        head = np.zeros(onset)
    return np.concatenate([head, vowel])


def synthesize(
    syllables: list[Syllable], voice: SpeakerVoice, rate: int, rng: np.random.Generator
) -> np.ndarray:
    """float32 audio at ``rate``: the syllables with word gaps, leading/trailing silence, noise floor."""
    pieces = [np.zeros(int(0.12 * rate))]
    for syllable in syllables:
        pieces.append(_render_syllable(syllable, voice, rate, rng))
        if syllable.word_end:
            pieces.append(np.zeros(int(rng.uniform(0.02, 0.07) * rate)))
    pieces.append(np.zeros(int(0.15 * rate)))
    audio = lfilter([1.0, -0.95], [1.0], np.concatenate(pieces))  # lip radiation, +6 dB/octave
    audio = 0.6 * audio / (np.max(np.abs(audio)) + 1e-9)
    audio += 10 ** (-58 / 20) * rng.standard_normal(len(audio))  # a quiet room, as in a recording
    return audio.astype(np.float32)
