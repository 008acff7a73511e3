"""C3 FunCodec (audio_codec-encodec-en-libritts-16k-nq32ds320) as a built-in codec: the official
codes and output of the reference checkpoint, its folder and config, its failure modes, random
weights at both sizes, and clips run alone whatever the batch."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from helpers.codec_references import (
    assert_official,
    codec_reference,
    official_state_dict,
    save_hostile,
)

from codecfake import CodecfakeError
from codecfake_builder.codecs import CheckpointLoadError, CheckpointMismatchError, load_codec
from codecfake_builder.codecs.backends import funcodec
from codecfake_builder.codecs.backends.seanet import random_model
from codecfake_builder.codecs.backends.seanet_weights import official_shapes, official_slots
from codecfake_builder.codecs.base import DiscreteCodec
from codecfake_core.checkpoints import read_torch_file
from testkit.codecs_audio import assert_resynthesis, speech_clips

pytest.importorskip("transformers")

REFERENCE = "C3_funcodec"
HOP = 320


def _copy_config(reference_folder: Path, folder: Path, **changes: dict) -> Path:
    """The reference's config.yaml in ``folder``, with sections updated by ``changes``."""
    folder.mkdir(exist_ok=True)
    config = yaml.safe_load((reference_folder / "config.yaml").read_text())
    for section, values in changes.items():
        config[section] = {**config[section], **values}
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    return folder


def test_reference_folder_gives_the_official_codes_and_output() -> None:
    reference = codec_reference(REFERENCE)
    codec = load_codec("C3", checkpoint=str(reference.folder))
    assert isinstance(codec, DiscreteCodec)
    assert (codec.spec.quantizers, codec.spec.bitrate_kbps, codec.sample_rate) == (32, 16.0, 16_000)
    assert_official(codec, reference)
    as_file = load_codec("C3", checkpoint=str(reference.folder / "model.pth"))
    assert as_file.provenance["weights_sha256"] == codec.provenance["weights_sha256"]


def test_sub_configurations_use_the_first_codebooks() -> None:
    """C3-1 (12 quantizers) encodes with the first 12 of the 32 official codebooks."""
    reference = codec_reference(REFERENCE)
    codec = load_codec("C3-1", checkpoint=str(reference.folder))
    codes = codec.encode([reference.audio])[0]
    np.testing.assert_array_equal(codes, reference.codes[:12])


def test_input_level_is_normalised_away_and_not_restored() -> None:
    """audio_normalize divides by the clip's RMS, and inference does not multiply back: half
    the input level gives the same codes and (about) the same output, not half of it."""
    reference = codec_reference(REFERENCE)
    codec = load_codec("C3", checkpoint=str(reference.folder))
    quieter = reference.audio * np.float32(0.5)
    np.testing.assert_array_equal(codec.encode([quieter])[0], reference.codes)
    np.testing.assert_allclose(codec.resynthesize([quieter])[0], reference.output, atol=1e-4)


def test_a_reshaped_tensor_is_named_in_one_line(tmp_path: Path) -> None:
    reference = codec_reference(REFERENCE)
    folder = _copy_config(reference.folder, tmp_path / "funcodec")
    state = read_torch_file(reference.folder / "model.pth")
    key = "quantizer.rq.model.embed"
    assert tuple(state[key].shape) == (32, 1024, 16)
    torch.save({**state, key: state[key][:, :1000]}, folder / "model.pth")
    with pytest.raises(CheckpointMismatchError) as caught:
        load_codec("C3", checkpoint=str(folder))
    message = str(caught.value)
    assert "\n" not in message and message.startswith(f"{folder / 'model.pth'}: ")
    assert f"{key} has shape [32, 1000, 16], expected [32, 1024, 16]" in message


def test_only_training_keys_are_left_out(tmp_path: Path) -> None:
    """The discriminator and mel-loss buffers are dropped by rule; any other extra key is not
    silently ignored."""
    reference = codec_reference(REFERENCE)
    state = read_torch_file(reference.folder / "model.pth")
    assert any(key.startswith(funcodec.TRAINING_ONLY) for key in state)
    folder = _copy_config(reference.folder, tmp_path / "funcodec")
    torch.save({**state, "encoder.projection.weight": torch.zeros(3)}, folder / "model.pth")
    with pytest.raises(
        CheckpointMismatchError, match=r"unexpected key encoder\.projection\.weight"
    ):
        load_codec("C3", checkpoint=str(folder))


def test_a_config_the_model_cannot_run_is_refused_by_name(tmp_path: Path) -> None:
    reference = codec_reference(REFERENCE)
    folder = _copy_config(reference.folder, tmp_path / "causal", encoder_conf={"causal": True})
    shutil.copy(reference.folder / "model.pth", folder / "model.pth")
    with pytest.raises(
        CheckpointMismatchError, match=r"config\.yaml: encoder_conf\.causal is True"
    ):
        load_codec("C3", checkpoint=str(folder))


def test_a_hostile_pickle_is_refused_and_nothing_runs(tmp_path: Path) -> None:
    reference = codec_reference(REFERENCE)
    folder = _copy_config(reference.folder, tmp_path / "funcodec")
    marker = tmp_path / "ran"
    save_hostile(folder / "model.pth", marker)
    with pytest.raises(CodecfakeError, match=r"refusing to load.*system.*Nothing from the file"):
        load_codec("C3", checkpoint=str(folder))
    assert not marker.exists()


def test_a_folder_without_its_config_says_what_it_needs(tmp_path: Path) -> None:
    torch.save({"encoder.model.0.conv.conv.bias": torch.zeros(4)}, tmp_path / "model.pth")
    with pytest.raises(CheckpointLoadError, match=r"config\.yaml: no such file.*config\.yaml and"):
        load_codec("C3", checkpoint=str(tmp_path))
    with pytest.raises(CheckpointLoadError, match=r"fetch it from https://huggingface\.co/"):
        load_codec("C3")


@pytest.mark.parametrize("size", ["small", pytest.param("full", marks=pytest.mark.slow)])
def test_random_weights_keep_lengths_and_code_shapes(
    size: str, request: pytest.FixtureRequest
) -> None:
    codec = load_codec("C3-2", weights="random", size=size, seed=3)
    clips = speech_clips(request, 16_000, seconds=0.5)
    assert_resynthesis(clips, codec.resynthesize(clips))
    for clip, codes in zip(clips, codec.encode(clips), strict=True):
        assert codes.shape == (24, -(-len(clip) // HOP)) and codes.dtype == np.int64
        assert codes.min() >= 0 and codes.max() < 1024
        assert len(np.unique(codes[0])) > 1  # random codebooks still follow the input
    assert codec.provenance["random_size"] == size


def test_full_size_is_the_released_architecture() -> None:
    reference = codec_reference(REFERENCE)
    model = random_model(funcodec.FULL, seed=0)
    shapes = official_shapes(model, official_slots(model, funcodec.quantizer_slot))
    released = reference.keys_full()
    inference = {k: v for k, v in released.items() if not k.startswith(funcodec.TRAINING_ONLY)}
    assert len(released) - len(inference) == 54 + 12  # discriminator, mel-loss buffers
    assert shapes == inference


def test_a_checkpoint_in_the_released_format_loads_at_any_width(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The small random architecture, saved as FunCodec saves it (codebooks stacked), loads
    with the widths its config.yaml gives and runs as the model it came from."""
    reference = codec_reference(REFERENCE)
    small = {"n_filters": funcodec.SMALL.n_filters}
    folder = _copy_config(
        reference.folder,
        tmp_path / "small",
        encoder_conf={**small, "dimension": funcodec.SMALL.dimension},
        decoder_conf=small,
    )
    model = random_model(funcodec.SMALL, seed=7)
    torch.save(official_state_dict(model, funcodec.quantizer_slot), folder / "model.pth")
    loaded = load_codec("C3", checkpoint=str(folder))
    random = load_codec("C3", weights="random", seed=7)
    assert loaded.provenance["weights_sha256"] == random.provenance["weights_sha256"]
    clips = speech_clips(request, 16_000, seconds=0.5)
    np.testing.assert_array_equal(loaded.encode(clips)[0], random.encode(clips)[0])


def test_every_clip_runs_alone_whatever_its_batch(request: pytest.FixtureRequest) -> None:
    """GroupNorm over time would let padding reach every sample, so each clip runs alone: its
    output and codes are the same bytes batched or not."""
    codec = load_codec("C3", weights="random", seed=1)
    clips = speech_clips(request, 16_000, seconds=1.0)
    batched, codes = codec.resynthesize(clips), codec.encode(clips)
    assert [len(out) for out in batched] == [len(clip) for clip in clips]
    for clip, out, clip_codes in zip(clips, batched, codes, strict=True):
        np.testing.assert_array_equal(out, codec.resynthesize([clip])[0])
        np.testing.assert_array_equal(clip_codes, codec.encode([clip])[0])
