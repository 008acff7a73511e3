"""Neural codec backends on CPU: real architectures with seeded random weights, and the offline
pretrained route (save_pretrained, then load from that folder)."""

from __future__ import annotations

import numpy as np
import pytest

from codecfake_builder.codecs import (
    CheckpointLoadError,
    CheckpointMismatchError,
    load_codec,
    parse_codec_definition,
)
from testkit.codecs_audio import assert_resynthesis, speech_clips

pytest.importorskip("transformers")

# C4 family at two bandwidths, C7 (DAC 44.1 kHz), and a new condition built on Mimi.
CONDITIONS = ["C4", "C4-3", "C7", "C8"]
MIMI = parse_codec_definition("C8=mimi:kyutai/mimi@1.1kbps")


def _codec(condition: str):
    """A built-in condition by name, the added one by its spec."""
    return MIMI if condition == MIMI.condition else condition


def _resynthesize(condition: str, request: pytest.FixtureRequest, seed: int = 0):
    codec = load_codec(_codec(condition), weights="random", seed=seed)
    clips = speech_clips(request, codec.sample_rate, seconds=0.5)
    return codec, clips, codec.resynthesize(clips)


@pytest.mark.parametrize("condition", CONDITIONS)
def test_random_weights_round_trip(condition: str, request: pytest.FixtureRequest) -> None:
    codec, clips, outputs = _resynthesize(condition, request)
    assert_resynthesis(clips, outputs)
    again = load_codec(_codec(condition), weights="random", seed=0).resynthesize(clips)
    for first, second in zip(outputs, again, strict=True):
        np.testing.assert_array_equal(first, second)
    record = codec.provenance
    assert record["weights"] == "random" and record["checkpoint"] is None
    assert record["seed"] == 0 and len(record["weights_sha256"]) == 64
    assert record["quantizers"] == codec.spec.quantizers and "torch" in record["versions"]


def test_seed_changes_weights_and_spec_resolves_quantizers(request: pytest.FixtureRequest) -> None:
    first = load_codec("C4", weights="random", seed=0)
    other = load_codec("C4", weights="random", seed=1)
    assert first.provenance["weights_sha256"] != other.provenance["weights_sha256"]
    assert load_codec("C4-1", weights="random").spec.quantizers == 4
    mimi = load_codec(MIMI, weights="random")
    assert mimi.spec.quantizers == 8  # 1.1 kbps at 12.5 frames/s of 11-bit codes


def test_pretrained_from_local_folder_matches_the_weights_saved(
    tmp_path, request: pytest.FixtureRequest
) -> None:
    codec, clips, outputs = _resynthesize("C7", request, seed=3)
    codec.model.save_pretrained(tmp_path / "dac")
    loaded = load_codec("C7", checkpoint=str(tmp_path / "dac"))
    assert loaded.provenance["weights"] == "pretrained"
    assert loaded.provenance["checkpoint"] == str(tmp_path / "dac")
    assert loaded.provenance["weights_sha256"] == codec.provenance["weights_sha256"]
    for expected, got in zip(outputs, loaded.resynthesize(clips), strict=True):
        np.testing.assert_allclose(got, expected, atol=1e-5)


def test_checkpoint_of_another_family_is_refused(tmp_path) -> None:
    load_codec("C7", weights="random").model.save_pretrained(tmp_path / "dac")
    with pytest.raises(CheckpointMismatchError, match=r"C4 runs encodec.*'dac' model"):
        load_codec("C4", checkpoint=str(tmp_path / "dac"))


def test_checkpoint_at_another_rate_is_refused(tmp_path) -> None:
    from transformers import DacConfig, DacModel

    small_16k = DacConfig(sampling_rate=16_000, encoder_hidden_size=8, decoder_hidden_size=16)
    DacModel(small_16k).save_pretrained(tmp_path / "dac16")
    with pytest.raises(CheckpointMismatchError, match=r"C7 is dac at 44100 Hz.*16000 Hz"):
        load_codec("C7", checkpoint=str(tmp_path / "dac16"))


def test_unreadable_checkpoints_say_what_to_give(tmp_path) -> None:
    with pytest.raises(CheckpointLoadError, match="local folder"):
        load_codec("C4")  # the default Hub id, while the tests run offline
    with pytest.raises(CheckpointLoadError, match="no-such-folder"):
        load_codec("C4", checkpoint=str(tmp_path / "no-such-folder"))
