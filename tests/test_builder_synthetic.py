"""The synthetic bilingual corpus: real layouts the real parsers read, deterministic, speech-like."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile

from codecfake_builder.sources.aishell3 import prepare_aishell3
from codecfake_builder.sources.formant import TONE_CONTOURS, mandarin_syllables
from codecfake_builder.sources.synthetic import (
    AISHELL3_RATE,
    VCTK_RATE,
    SyntheticCorpora,
    make_synthetic_corpora,
)
from codecfake_builder.sources.vctk import prepare_vctk

ENGINES = [
    "formant",
    pytest.param(
        "espeak-ng",
        marks=pytest.mark.skipif(not shutil.which("espeak-ng"), reason="espeak-ng not installed"),
    ),
]


def _corpus(root: Path, engine: str, seed: int = 0) -> SyntheticCorpora:
    return make_synthetic_corpora(
        root, speakers_per_language=2, utterances_per_speaker=2, seed=seed, engine=engine
    )


@pytest.fixture(scope="module", params=ENGINES)
def corpus(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    return _corpus(tmp_path_factory.mktemp(request.param), request.param)


def test_layouts_are_what_the_real_parsers_read(corpus: SyntheticCorpora) -> None:
    english = prepare_vctk(corpus.vctk)
    mandarin = prepare_aishell3(corpus.aishell3)
    assert [u.id for u in english] == ["p901_001", "p901_002", "p902_001", "p902_002"]
    assert [u.id for u in mandarin] == ["SSB90010001", "SSB90010002", "SSB90020001", "SSB90020002"]
    assert all(u.path.endswith("_mic1.flac") and u.text for u in english)
    assert {u.sample_rate for u in english} == {VCTK_RATE}
    assert {u.sample_rate for u in mandarin} == {AISHELL3_RATE}
    for u in mandarin:  # content.txt pairs one pinyin syllable with each character
        assert len(u.pinyin.split()) == len(u.text) > 0
    assert all(0.8 < u.duration < 8 for u in english + mandarin)


def _clips(corpora: SyntheticCorpora) -> dict[str, np.ndarray]:
    paths = sorted(corpora.vctk.rglob("*.flac")) + sorted(corpora.aishell3.rglob("*.wav"))
    return {p.name: soundfile.read(p, dtype="float32")[0] for p in paths}


def test_audio_is_loud_and_has_speech_structure(corpus: SyntheticCorpora) -> None:
    for name, audio in _clips(corpus).items():
        frames = audio[: len(audio) // 480 * 480].reshape(-1, 480)
        energy_db = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)
        assert np.max(np.abs(audio)) > 0.3, name
        # Syllables and pauses: loud frames and near-silent frames in the same clip.
        assert np.percentile(energy_db, 90) - np.percentile(energy_db, 10) > 25, name


def test_same_seed_same_bytes_other_seed_other_audio(tmp_path: Path) -> None:
    first = _clips(_corpus(tmp_path / "a", "formant"))
    again = _clips(_corpus(tmp_path / "b", "formant"))
    other = _clips(_corpus(tmp_path / "c", "formant", seed=1))
    assert first.keys() == again.keys() == other.keys()
    assert all(np.array_equal(first[k], again[k]) for k in first)
    assert not any(
        len(first[k]) == len(other[k]) and np.allclose(first[k], other[k]) for k in first
    )


def test_rerun_with_the_same_spec_reuses_the_folder(tmp_path: Path) -> None:
    corpora = _corpus(tmp_path, "formant")
    clip = next(corpora.vctk.rglob("*.flac"))
    before = clip.stat().st_mtime_ns
    _corpus(tmp_path, "formant")
    assert clip.stat().st_mtime_ns == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".corpus-")]


def _median_f0(audio: np.ndarray, rate: int) -> float:
    """Median autocorrelation pitch over the loudest frames, 70-400 Hz."""
    size = int(0.04 * rate)
    frames = audio[: len(audio) // size * size].reshape(-1, size)
    loud = frames[np.argsort((frames**2).sum(axis=1))[-20:]]
    lags = np.arange(rate // 400, rate // 70)
    pitches = []
    for frame in loud:
        ac = np.correlate(frame, frame, mode="full")[size - 1 :]
        pitches.append(rate / lags[np.argmax(ac[lags])])
    return float(np.median(pitches))


def test_speakers_have_distinct_voices(tmp_path: Path) -> None:
    corpora = make_synthetic_corpora(
        tmp_path, speakers_per_language=2, utterances_per_speaker=1, engine="formant"
    )
    clips = sorted(corpora.vctk.rglob("*.flac"))
    pitches = [_median_f0(*soundfile.read(p, dtype="float32")) for p in clips]
    assert abs(pitches[0] - pitches[1]) > 40  # a lower and a higher voice


def test_mandarin_tones_shape_the_pitch_contour() -> None:
    rising, falling = mandarin_syllables("ma2 ma4")
    assert rising.contour[-1] > rising.contour[0] and falling.contour[-1] < falling.contour[0]
    assert len(mandarin_syllables("ni3 hao3")[0].contour) == len(TONE_CONTOURS[3])


def test_unknown_engine_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown speech engine"):
        make_synthetic_corpora(tmp_path, engine="festival")
