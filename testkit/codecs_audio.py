"""Speech for codec tests: the real VCTK clips when ../shared is there, else speech-like audio."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile
import soxr
from scipy.signal import lfilter


def speech_like(rate: int, seconds: float, seed: int = 0) -> np.ndarray:
    """A voiced source (jittered 110-140 Hz pulses) through three formant resonators, with a
    syllable-rate envelope: the spectral shape codecs are built for, without any corpus."""
    rng = np.random.default_rng(seed)
    n = int(rate * seconds)
    t = np.arange(n) / rate
    f0 = 125 + 15 * np.sin(2 * np.pi * 0.7 * t)
    phase = np.cumsum(f0 / rate)
    source = (np.diff(np.floor(phase), prepend=0) > 0).astype(float) + 0.02 * rng.standard_normal(n)
    voice = source
    for formant, bandwidth in ((700, 110), (1220, 120), (2600, 160)):
        r = np.exp(-np.pi * bandwidth / rate)
        voice = lfilter([1 - r], [1, -2 * r * np.cos(2 * np.pi * formant / rate), r * r], voice)
    envelope = 0.5 - 0.5 * np.cos(2 * np.pi * 4 * t)
    wave = voice * envelope
    return (0.3 * wave / np.abs(wave).max()).astype(np.float32)


def speech_clips(request: pytest.FixtureRequest, rate: int, seconds: float) -> list[np.ndarray]:
    """Two clips of different lengths (neither a hop multiple) at ``rate``: the starts of real
    VCTK utterances, or speech-like ones when the shared fixtures are absent."""
    durations = (seconds, seconds * 0.63)
    folder: Path | None = request.getfixturevalue("vctk_samples_or_none")
    if folder is None:
        return [speech_like(rate, s, seed) for seed, s in enumerate(durations)]
    clips = []
    for name, s in zip(("genuine+p225_273.wav", "genuine+p318_114.wav"), durations, strict=True):
        wave, native = soundfile.read(folder / name, dtype="float32")
        clips.append(soxr.resample(wave[: int(native * s)], native, rate).astype(np.float32))
    return clips


def assert_resynthesis(clips: list[np.ndarray], outputs: list[np.ndarray]) -> None:
    """What every codec owes the pipeline: one float32, finite output per clip, of the clip's
    length, and not a copy of it."""
    assert [len(o) for o in outputs] == [len(c) for c in clips]
    for clip, out in zip(clips, outputs, strict=True):
        assert out.dtype == np.float32 and np.isfinite(out).all()
        assert not np.allclose(out, clip, atol=1e-3)
