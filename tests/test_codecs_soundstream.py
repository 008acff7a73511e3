"""C1 SoundStream (AcademiCodec encodec_16k_320d) as a built-in codec: the official codes and
output of the reference checkpoint, its file format's failure modes, random weights at both
sizes, and what batching does to a non-causal model."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers.codec_references import (
    assert_official,
    codec_reference,
    official_state_dict,
    save_hostile,
)

from codecfake import CodecfakeError
from codecfake_builder.codecs import (
    CheckpointLoadError,
    CheckpointMismatchError,
    load_codec,
    parse_codec_definition,
)
from codecfake_builder.codecs.backends import soundstream
from codecfake_builder.codecs.backends.seanet import random_model
from codecfake_builder.codecs.backends.seanet_weights import (
    official_shapes,
    official_slots,
    vq_layers_slot,
)
from codecfake_builder.codecs.base import DiscreteCodec
from codecfake_core.checkpoints import read_torch_file
from testkit.codecs_audio import assert_resynthesis, speech_clips

pytest.importorskip("transformers")

REFERENCE = "C1_soundstream"
CHECKPOINT = "encodec_16k_320d.pth"
HOP = 320


def test_reference_checkpoint_gives_the_official_codes_and_output() -> None:
    reference = codec_reference(REFERENCE)
    codec = load_codec("C1", checkpoint=str(reference.folder / CHECKPOINT))
    assert isinstance(codec, DiscreteCodec)
    assert (codec.spec.quantizers, codec.spec.bitrate_kbps, codec.sample_rate) == (8, 4.0, 16_000)
    assert_official(codec, reference)
    record = codec.provenance
    assert record["weights"] == "pretrained" and record["checkpoint"].endswith(CHECKPOINT)


def test_widths_are_read_off_the_tensors_without_a_config(tmp_path: Path) -> None:
    reference = codec_reference(REFERENCE)
    alone = shutil.copy(reference.folder / CHECKPOINT, tmp_path / CHECKPOINT)  # no config.json
    codec = load_codec("C1", checkpoint=str(alone))
    config = codec.model.config
    assert (config.num_filters, config.hidden_size, config.num_quantizers) == (4, 16, 24)
    assert_official(codec, reference)


def test_a_higher_bitrate_extends_the_official_codes() -> None:
    """Residual VQ: 6 kbps is the 4 kbps codes plus four more codebooks."""
    reference = codec_reference(REFERENCE)
    path = reference.folder / CHECKPOINT
    codec = load_codec(parse_codec_definition(f"C8=soundstream:{path}@6kbps"))
    codes = codec.encode([reference.audio])[0]
    assert codes.shape == (12, len(reference.audio) // HOP)
    np.testing.assert_array_equal(codes[:8], reference.codes)


def test_a_reshaped_tensor_is_named_in_one_line(tmp_path: Path) -> None:
    reference = codec_reference(REFERENCE)
    state = read_torch_file(reference.folder / CHECKPOINT)
    key = "module.decoder.model.4.block.1.conv.conv.weight_v"
    assert tuple(state[key].shape) == (16, 32, 3)
    damaged = tmp_path / CHECKPOINT
    torch.save({**state, key: state[key][:, :24]}, damaged)
    with pytest.raises(CheckpointMismatchError) as caught:
        load_codec("C1", checkpoint=str(damaged))
    message = str(caught.value)
    assert "\n" not in message and message.startswith(f"{damaged}: ")
    assert (
        "decoder.model.4.block.1.conv.conv.weight_v has shape [16, 24, 3], expected [16, 32, 3]"
        in (message)
    )
    assert "re-download it from https://huggingface.co/Dongchao/AcademiCodec" in message


def test_a_missing_key_is_named(tmp_path: Path) -> None:
    reference = codec_reference(REFERENCE)
    state = read_torch_file(reference.folder / CHECKPOINT)
    del state["module.quantizer.vq.layers.5._codebook.embed"]
    torch.save(state, tmp_path / CHECKPOINT)
    with pytest.raises(CheckpointMismatchError, match=r"key quantizer\.vq\.layers\.5\._codebook"):
        load_codec("C1", checkpoint=str(tmp_path / CHECKPOINT))


def test_a_hostile_pickle_is_refused_and_nothing_runs(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    hostile = save_hostile(tmp_path / CHECKPOINT, marker)
    with pytest.raises(CodecfakeError, match=r"refusing to load.*system.*Nothing from the file"):
        load_codec("C1", checkpoint=str(hostile))
    assert not marker.exists()


def test_pretrained_weights_need_a_file_and_say_where_to_fetch_it(tmp_path: Path) -> None:
    with pytest.raises(CheckpointLoadError, match=r"fetch it from https://huggingface\.co/"):
        load_codec("C1")
    with pytest.raises(CheckpointLoadError, match="no such file"):
        load_codec("C1", checkpoint=str(tmp_path / CHECKPOINT))


@pytest.mark.parametrize("size", ["small", pytest.param("full", marks=pytest.mark.slow)])
def test_random_weights_keep_lengths_and_code_shapes(
    size: str, request: pytest.FixtureRequest
) -> None:
    codec = load_codec("C1", weights="random", size=size, seed=3)
    clips = speech_clips(request, 16_000, seconds=0.5)
    assert_resynthesis(clips, codec.resynthesize(clips))
    for clip, codes in zip(clips, codec.encode(clips), strict=True):
        assert codes.shape == (8, -(-len(clip) // HOP)) and codes.dtype == np.int64
        assert codes.min() >= 0 and codes.max() < 1024
        assert len(np.unique(codes[0])) > 1  # random codebooks still follow the input
    assert codec.provenance["random_size"] == size


def test_full_size_is_the_released_architecture() -> None:
    reference = codec_reference(REFERENCE)
    model = random_model(soundstream.FULL, seed=0)
    shapes = official_shapes(model, official_slots(model, vq_layers_slot))
    assert {f"module.{key}": shape for key, shape in shapes.items()} == reference.keys_full()


def test_a_checkpoint_in_the_released_format_loads_at_any_width(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The small random architecture, saved as AcademiCodec saves it, loads with its widths read
    off the tensors and runs as the model it came from."""
    model = random_model(soundstream.SMALL, seed=7)
    path = tmp_path / CHECKPOINT
    torch.save(official_state_dict(model, vq_layers_slot, prefix="module."), path)
    loaded = load_codec("C1", checkpoint=str(path))
    random = load_codec("C1", weights="random", seed=7)
    assert loaded.provenance["weights_sha256"] == random.provenance["weights_sha256"]
    clips = speech_clips(request, 16_000, seconds=0.5)
    np.testing.assert_array_equal(loaded.encode(clips)[0], random.encode(clips)[0])


def test_batching_changes_only_a_shorter_clips_last_frames(request: pytest.FixtureRequest) -> None:
    """A batch is zero-padded to its longest clip. The longest clip gets its solo output (up to
    float rounding); a shorter one sees the padding only through the convolutions' look-ahead
    (the LSTMs run forward), so only its last frames may differ from its solo run. Elsewhere a
    code can differ only where batched and solo rounding (about 1e-7) decides a near tie between
    two codebook entries, which then lie so close that the audio does not move."""
    codec = load_codec("C1", weights="random", seed=1)
    long, short = speech_clips(request, 16_000, seconds=1.0)
    tail = 10 * HOP  # well beyond the look-ahead: about 4 frames into the encoder, 3 decoding
    batched = codec.resynthesize([long, short])
    codes = codec.encode([long, short])
    solo = [codec.resynthesize([clip])[0] for clip in (long, short)]
    solo_codes = [codec.encode([clip])[0] for clip in (long, short)]
    assert [len(out) for out in batched] == [len(long), len(short)]
    np.testing.assert_allclose(batched[0], solo[0], atol=1e-5)
    np.testing.assert_allclose(batched[1][:-tail], solo[1][:-tail], atol=1e-5)
    frames = tail // HOP
    for got, alone in (
        (codes[0], solo_codes[0]),
        (codes[1][:, :-frames], solo_codes[1][:, :-frames]),
    ):
        same = (got == alone).all(axis=0)
        assert same.mean() >= 0.9, f"frames coded as alone: {same.mean():.0%}"
