"""C6, AcademiCodec's HiFi-Codec: the official codes and output on the reference clip, the config
beside the weights or widths from their shapes, the released layout at full size, one-line
refusals of a wrong or hostile file, and batches of clips of any lengths."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers.codec_references import (
    full_layout,
    meta_state,
    reference,
    reference_input,
    released_state,
    save_hostile,
)

from codecfake_builder.codecs import CheckpointLoadError, CheckpointMismatchError, load_codec
from codecfake_builder.codecs.backends import academicodec
from codecfake_builder.codecs.backends.released_weights import match_state_dict
from codecfake_builder.codecs.neural import build_seeded
from codecfake_core.checkpoints import read_torch_file
from testkit.codecs_audio import assert_resynthesis, speech_clips

TOLERANCE = 1e-4  # max abs against the official float32 CPU output
HOP, CODEBOOKS, ENTRIES = 320, 4, 1024
WEIGHTS = academicodec.FILE_NAME


@pytest.fixture(scope="module")
def c6() -> Path:
    return reference("C6_hificodec")


def frames(length: int) -> int:
    """The official encoder's frame count: floor(n / 320); a clip under one hop is coded as one."""
    return max(1, length // HOP)


def test_the_official_codes_and_output(c6: Path) -> None:
    codec = load_codec("C6", checkpoint=str(c6 / WEIGHTS))
    clip = reference_input(c6)
    codes = codec.encode([clip])[0]
    official = np.load(c6 / "codes.npy")  # (batch, frames, 4)
    np.testing.assert_array_equal(codes, official[0].T)
    assert codes.dtype == np.int64 and codes.shape == (CODEBOOKS, frames(len(clip)))
    expected = np.load(c6 / "output.npy")
    output = codec.resynthesize([clip])[0]
    assert output.shape == clip.shape and output.dtype == np.float32
    assert np.abs(output[: len(expected)] - expected).max() < TOLERANCE
    assert not output[len(expected) :].any()  # where the official output has ended
    record = codec.provenance
    assert (record["weights"], record["checkpoint"]) == ("pretrained", str(c6 / WEIGHTS))
    assert record["licence"].startswith("MIT")
    assert (codec.spec.quantizers, codec.spec.bitrate_kbps) == (4, 3.0)


def test_without_its_json_the_widths_come_from_the_tensors(c6: Path, tmp_path: Path) -> None:
    shutil.copyfile(c6 / WEIGHTS, tmp_path / WEIGHTS)
    codec = load_codec("C6", checkpoint=str(tmp_path))  # the folder holding the file
    codes = codec.encode([reference_input(c6)])[0]
    np.testing.assert_array_equal(codes, np.load(c6 / "codes.npy")[0].T)


def test_the_json_beside_it_is_what_the_weights_must_fit(c6: Path, tmp_path: Path) -> None:
    shutil.copyfile(c6 / WEIGHTS, tmp_path / WEIGHTS)
    config = json.loads((c6 / "config_24k_320d.json").read_text())
    (tmp_path / "config_24k_320d.json").write_text(
        json.dumps({**config, "upsample_initial_channel": 512})  # the full model's
    )
    with pytest.raises(
        CheckpointMismatchError,
        match=r"generator\.conv_pre\.weight_v should be \[512, 128, 7\] and is \[64, 128, 7\]",
    ):
        load_codec("C6", checkpoint=str(tmp_path / WEIGHTS))
    (tmp_path / "config_24k_320d.json").write_text(json.dumps({**config, "resblock": "2"}))
    with pytest.raises(CheckpointMismatchError, match="resblock '2'"):
        load_codec("C6", checkpoint=str(tmp_path / WEIGHTS))


def test_full_size_is_the_released_layout(c6: Path) -> None:
    """``keys_full.txt`` names keys ``part/key``; ours are ``part.key`` in one module."""
    (layout,) = full_layout(c6).values()
    released = meta_state({key.replace("/", ".", 1): shape for key, shape in layout.items()})
    model = academicodec.random_model("full")
    expected = {key: tuple(value.shape) for key, value in model.state_dict().items()}
    fitted = match_state_dict(expected, released, "keys_full.txt", "")
    assert {key: tuple(value.shape) for key, value in fitted.items()} == expected


def test_a_changed_tensor_is_named_in_one_line(c6: Path, tmp_path: Path) -> None:
    held = read_torch_file(c6 / WEIGHTS)
    held["generator"]["ups.2.weight_v"] = held["generator"]["ups.2.weight_v"][..., :-1].clone()
    torch.save(held, tmp_path / WEIGHTS)
    with pytest.raises(CheckpointMismatchError) as refused:
        load_codec("C6", checkpoint=str(tmp_path / WEIGHTS))
    message = str(refused.value)
    assert "\n" not in message
    assert message.startswith(
        f"C6: {tmp_path / WEIGHTS}: generator.ups.2.weight_v should be [16, 8, 8] and is [16, 8, 7]"
    )


def save_release(model: torch.nn.Module, path: Path) -> Path:
    """``model`` as HiFi-Codec is released: {'encoder', 'quantizer', 'generator'} state dicts,
    weight norm on every convolution but the encoder's conv_post."""

    def weight_normed(key: str) -> bool:
        return ".normalize." not in key and not key.startswith(("encoder.conv_post", "quantizer"))

    parts: dict[str, dict[str, torch.Tensor]] = {part: {} for part in academicodec.PARTS}
    for key, value in released_state(model, weight_normed).items():
        part, _, name = key.partition(".")
        parts[part][name] = value
    torch.save(parts, path)
    return path


def test_a_release_written_from_random_weights_loads_back(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    model = build_seeded(lambda: academicodec.random_model("small"), 7)
    loaded = load_codec("C6", checkpoint=str(save_release(model, tmp_path / WEIGHTS)))
    random = load_codec("C6", weights="random", seed=7)
    clips = speech_clips(request, 24_000, seconds=0.5)
    for got, want in zip(loaded.encode(clips), random.encode(clips), strict=True):
        np.testing.assert_array_equal(got, want)
    for got, want in zip(loaded.resynthesize(clips), random.resynthesize(clips), strict=True):
        np.testing.assert_allclose(got, want, atol=1e-5)


def test_a_hostile_pickle_is_refused_and_nothing_runs(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = save_hostile(tmp_path / WEIGHTS, marker, ("generator",))
    with pytest.raises(CheckpointLoadError, match=r"refusing to load.*system") as refused:
        load_codec("C6", checkpoint=str(path))
    assert str(path) in str(refused.value) and not marker.exists()


def test_missing_checkpoint_says_where_it_is_published(tmp_path: Path) -> None:
    with pytest.raises(CheckpointLoadError, match=r"huggingface\.co/Dongchao/AcademiCodec"):
        load_codec("C6")
    with pytest.raises(CheckpointLoadError, match=f"no HiFi-Codec checkpoint at .*{WEIGHTS}"):
        load_codec("C6", checkpoint=str(tmp_path))


def test_clips_are_coded_at_their_own_length_batched_or_alone(
    request: pytest.FixtureRequest,
) -> None:
    """Clips of one length share a batch, unpadded; the rest run apart: batched is alone."""
    codec = load_codec("C6", weights="random", seed=3)
    speech = speech_clips(request, 24_000, seconds=0.8)
    clips = [speech[0], speech[1], speech[0][1000:], speech[1][:319], speech[0][:320], speech[0]]
    clips[2] = clips[2][: len(speech[1])]  # the same length as clip 1, other samples
    codes, outputs = codec.encode(clips), codec.resynthesize(clips)
    for clip, batched_codes, batched in zip(clips, codes, outputs, strict=True):
        assert batched_codes.shape == (CODEBOOKS, frames(len(clip)))
        np.testing.assert_array_equal(batched_codes, codec.encode([clip])[0])
        assert batched.shape == clip.shape
        np.testing.assert_allclose(batched, codec.resynthesize([clip])[0], rtol=0, atol=1e-5)


@pytest.mark.parametrize("size", ["small", pytest.param("full", marks=pytest.mark.slow)])
def test_random_weights_keep_lengths_and_give_codes(
    size: str, request: pytest.FixtureRequest
) -> None:
    codec = load_codec("C6", weights="random", size=size)
    clips = speech_clips(request, codec.sample_rate, seconds=0.5)
    assert_resynthesis(clips, codec.resynthesize(clips))
    for clip, codes in zip(clips, codec.encode(clips), strict=True):
        assert codes.shape == (CODEBOOKS, frames(len(clip)))
        assert codes.min() >= 0 and codes.max() < ENTRIES
    assert codec.provenance["random_size"] == size and codec.provenance["weights"] == "random"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU here")
def test_cuda_matches_the_cpu(c6: Path, request: pytest.FixtureRequest) -> None:
    clip = reference_input(c6)
    clips = [clip, clip[:12345], *speech_clips(request, 24_000, seconds=0.5)]
    cpu = load_codec("C6", checkpoint=str(c6 / WEIGHTS))
    cuda = load_codec("C6", checkpoint=str(c6 / WEIGHTS), device="cuda")
    for got, want in zip(cuda.resynthesize(clips), cpu.resynthesize(clips), strict=True):
        assert np.abs(got - want).max() < TOLERANCE
    for got, want in zip(cuda.encode(clips), cpu.encode(clips), strict=True):
        np.testing.assert_array_equal(got, want)
