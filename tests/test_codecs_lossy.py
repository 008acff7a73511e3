"""Weight-free lossy codecs (Opus, MP3 through libsndfile) and the identity codec."""

from __future__ import annotations

import numpy as np
import pytest

from codecfake_builder.codecs import load_codec, lossy_condition
from testkit.codecs_audio import assert_resynthesis, speech_clips

LOSSY = {
    name: lossy_condition(codec, kbps=kbps, name=name)
    for name, codec, kbps in (
        ("C8", "opus", 8),
        ("C9", "opus", 32),
        ("C10", "mp3", 16),
        ("C11", "mp3", 64),
    )
}


def _error(reference: np.ndarray, decoded: np.ndarray) -> float:
    return float(np.mean((reference - decoded) ** 2) / np.mean(reference**2))


@pytest.mark.parametrize(("low", "high"), [("C8", "C9"), ("C10", "C11")])
def test_lossy_codecs_change_speech_and_a_lower_bitrate_changes_it_more(
    low: str, high: str, request: pytest.FixtureRequest
) -> None:
    clips = speech_clips(request, 16_000, seconds=2.0)
    errors = {}
    for name in (low, high):
        codec = load_codec(LOSSY[name])
        outputs = codec.resynthesize(clips)
        assert_resynthesis(clips, outputs)
        np.testing.assert_array_equal(codec.resynthesize(clips)[0], outputs[0])  # deterministic
        errors[name] = _error(clips[0], outputs[0])
        assert codec.provenance["weights"] == "none"
    assert 0 < errors[high] < errors[low] < 1  # real artefacts, yet still the same speech


def test_identity_returns_its_input(request: pytest.FixtureRequest) -> None:
    clips = speech_clips(request, 16_000, seconds=0.5)
    codec = load_codec("identity")
    for clip, out in zip(clips, codec.resynthesize(clips), strict=True):
        np.testing.assert_array_equal(out, clip)
    assert codec.provenance["family"] == "identity"
