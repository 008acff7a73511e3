"""C5, AudioDec: the official codes and output on the reference clip (both official paths), the
released layout at full size, one-line refusals of a wrong or hostile file, and batches that give
every clip what it gets alone."""

from __future__ import annotations

import math
import shutil
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from helpers.codec_references import (
    full_layout,
    meta_state,
    reference,
    reference_input,
    released_state,
    save_hostile,
)

import codecfake
from codecfake_builder.codecs import (
    CheckpointLoadError,
    CheckpointMismatchError,
    CodecSpecError,
    get_spec,
    load_codec,
)
from codecfake_builder.codecs.backends import audiodec
from codecfake_builder.codecs.backends.audiodec_model import AnalyzerConfig, AudioDec, VocoderConfig
from codecfake_builder.codecs.backends.released_weights import match_state_dict
from codecfake_builder.codecs.neural import build_seeded
from codecfake_core.checkpoints import read_torch_file
from testkit.codecs_audio import assert_resynthesis, speech_clips

TOLERANCE = 1e-4  # max abs against the official float32 CPU output
HOP, CODEBOOKS, ENTRIES = 300, 8, 1024


@pytest.fixture(scope="module")
def c5() -> Path:
    return reference("C5_audiodec")


def per_codebook(flat: np.ndarray) -> np.ndarray:
    """The demo's flattened ids (row k holds idx + 1024 k) as each codebook's own indices."""
    return flat - ENTRIES * np.arange(len(flat))[:, None]


def write_release(root: Path, model: AudioDec, analyzer: AnalyzerConfig, vocoder: VocoderConfig):
    """``model`` laid out as AudioDec's exp.zip lays out libritts_v1: a torch.save of
    {'model': {'generator': state}} beside a config.yml, for the encoder and the vocoder."""
    analyzer_params = {
        **{k: list(v) if isinstance(v, tuple) else v for k, v in asdict(analyzer).items()},
        "input_channels": 1,
        "mode": "causal",
        "codec": "audiodec",
        "projector": "conv1d",
        "quantier": "residual_vq",
    }
    vocoder_params = {
        "in_channels": vocoder.in_channels,
        "out_channels": 1,
        "channels": vocoder.channels,
        "kernel_size": vocoder.kernel_size,
        "upsample_scales": list(vocoder.upsample_scales),
        "upsample_kernel_sizes": list(vocoder.upsample_kernel_sizes),
        "resblock_kernel_sizes": [vocoder.resblock_kernel_size],
        "resblock_dilations": [list(vocoder.resblock_dilations)],
        "groups": vocoder.groups,
        "bias": vocoder.bias,
        "use_additional_convs": True,
        "nonlinear_activation": "LeakyReLU",
        "nonlinear_activation_params": {"negative_slope": vocoder.slope},
        "use_weight_norm": True,
        "stats": "stats/symAD_libritts_24000_hop300_clean.npy",
    }
    parts = (
        (audiodec.ANALYZER_FILE, "symAudioDec", analyzer_params, model.analyzer.state_dict()),
        (
            audiodec.VOCODER_FILE,
            "HiFiGAN",
            vocoder_params,
            released_state(model.vocoder, lambda key: True),
        ),
    )
    for relative, model_type, params, state in parts:
        path = root / "exp" / relative
        path.parent.mkdir(parents=True)
        config = {"model_type": model_type, "sampling_rate": 24_000, "generator_params": params}
        (path.parent / "config.yml").write_text(yaml.safe_dump(config))
        torch.save({"model": {"generator": state}}, path)
    return root


@pytest.fixture
def small_release(tmp_path: Path) -> Path:
    """A release written from the small random model of seed 7."""
    configs = audiodec.random_configs("small")
    model = build_seeded(lambda: AudioDec(*configs), 7)
    return write_release(tmp_path / "release", model, *configs)


def test_the_demo_path_gives_the_official_codes_and_output(c5: Path) -> None:
    codec = load_codec("C5", checkpoint=str(c5))
    clip = reference_input(c5)
    codes = codec.encode([clip])[0]
    np.testing.assert_array_equal(codes, per_codebook(np.load(c5 / "codes.npy")))
    assert codes.dtype == np.int64 and codes.shape == (CODEBOOKS, math.ceil(len(clip) / HOP))
    expected = np.load(c5 / "output.npy")
    output = codec.resynthesize([clip])[0]
    assert output.shape == clip.shape and output.dtype == np.float32
    assert np.abs(output[: len(expected)] - expected).max() < TOLERANCE
    record = codec.provenance
    assert (record["inference"], record["priming_samples"]) == ("demo", 8192)
    assert (record["weights"], record["checkpoint"]) == ("pretrained", str(c5))
    assert record["licence"] == "CC BY-NC 4.0"
    assert (codec.spec.quantizers, codec.spec.bitrate_kbps) == (8, 6.4)


def test_the_exp_folder_itself_is_a_checkpoint_too(c5: Path) -> None:
    codec = load_codec("C5", checkpoint=str(c5 / "exp"))
    codes = codec.encode([reference_input(c5)])[0]
    np.testing.assert_array_equal(codes, per_codebook(np.load(c5 / "codes.npy")))


def test_the_codectest_path_is_an_option_with_its_own_official_result(c5: Path) -> None:
    spec = replace(get_spec("C5"), options={"path": "codectest"})
    codec = load_codec(spec, checkpoint=str(c5))
    clip = reference_input(c5)
    np.testing.assert_array_equal(codec.encode([clip])[0], np.load(c5 / "codes_forward.npy"))
    expected = np.load(c5 / "output_forward.npy")
    assert np.abs(codec.resynthesize([clip])[0][: len(expected)] - expected).max() < TOLERANCE
    assert codec.provenance["inference"] == "codectest"
    with pytest.raises(CodecSpecError, match="demo or codectest, not 'fast'"):
        load_codec(replace(spec, options={"path": "fast"}), checkpoint=str(c5))


def test_full_size_is_the_released_layout(c5: Path) -> None:
    """Every key and shape of the full-size released files fits the full architecture, but for
    what inference reads past: the symmetric decoder and the codebooks' EMA statistics."""
    analyzer_layout, vocoder_layout = full_layout(c5).values()
    model = AudioDec(*audiodec.random_configs("full"))
    for part, layout, unused in (
        (model.analyzer, analyzer_layout, audiodec.unused_by_inference),
        (model.vocoder, vocoder_layout, lambda key: False),
    ):
        expected = {key: tuple(value.shape) for key, value in part.state_dict().items()}
        fitted = match_state_dict(expected, meta_state(layout), "keys_full.txt", "", unused)
        assert {key: tuple(value.shape) for key, value in fitted.items()} == expected
    read_past = {key for key in analyzer_layout if audiodec.unused_by_inference(key)}
    assert {key.split(".")[0] for key in read_past} == {"decoder", "quantizer"}
    assert sum(key.startswith("quantizer.") for key in read_past) == 2 * CODEBOOKS


@pytest.mark.parametrize(
    ("key", "edit", "message"),
    [
        (
            "upsamples.1.deconv.weight_v",
            lambda tensor: tensor[..., :-1].clone(),
            "upsamples.1.deconv.weight_v should be [24, 12, 10] and is [24, 12, 9]",
        ),
        ("mean", None, "mean should be [16] and is missing"),
    ],
)
def test_a_changed_tensor_is_named_in_one_line(c5: Path, tmp_path: Path, key, edit, message):
    release = tmp_path / "release"
    for file in (c5 / "exp").rglob("*"):
        if file.is_file():
            copy = release / file.relative_to(c5)
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(file, copy)
    vocoder = release / "exp" / audiodec.VOCODER_FILE
    held = read_torch_file(vocoder)
    state = held["model"]["generator"]
    if edit is None:
        del state[key]
    else:
        state[key] = edit(state[key])
    torch.save(held, vocoder)
    with pytest.raises(CheckpointMismatchError) as refused:
        load_codec("C5", checkpoint=str(release))
    assert "\n" not in str(refused.value)
    assert str(refused.value).startswith(f"C5: {vocoder}: {message}; give the file as")


def test_a_release_written_from_random_weights_loads_back(
    small_release: Path, request: pytest.FixtureRequest
) -> None:
    """Offline: the loader takes the released format, old-style weight norm included."""
    loaded = load_codec("C5", checkpoint=str(small_release))
    random = load_codec("C5", weights="random", seed=7)
    clips = speech_clips(request, 24_000, seconds=0.5)
    for got, want in zip(loaded.encode(clips), random.encode(clips), strict=True):
        np.testing.assert_array_equal(got, want)
    for got, want in zip(loaded.resynthesize(clips), random.resynthesize(clips), strict=True):
        np.testing.assert_allclose(got, want, atol=1e-5)
    assert loaded.provenance["weights"] == "pretrained"


def test_a_hostile_pickle_is_refused_and_nothing_runs(small_release: Path, tmp_path: Path):
    marker = tmp_path / "pwned"
    save_hostile(small_release / "exp" / audiodec.ANALYZER_FILE, marker, ("model", "generator"))
    with pytest.raises(CheckpointLoadError, match=r"refusing to load.*system") as refused:
        load_codec("C5", checkpoint=str(small_release))
    assert isinstance(refused.value, codecfake.CodecfakeError) and "\n" not in str(refused.value)
    assert not marker.exists()


def test_missing_release_files_say_what_to_give(tmp_path: Path) -> None:
    with pytest.raises(CheckpointLoadError, match=r"download https://github\.com/.*exp\.zip"):
        load_codec("C5")
    with pytest.raises(CheckpointLoadError, match=r"no .*symAD_libritts_24000_hop300"):
        load_codec("C5", checkpoint=str(tmp_path))


def test_batched_clips_get_what_they_get_alone(request: pytest.FixtureRequest) -> None:
    """Zero-padded at the end, from the same primed context: each clip's codes are the same, its
    audio equal to 1e-5, whatever it is batched with."""
    codec = load_codec("C5", weights="random", seed=3)
    speech = speech_clips(request, 24_000, seconds=0.8)
    clips = [speech[0], speech[1], speech[0][:299], speech[1][500:800], speech[0][:1]]
    codes, outputs = codec.encode(clips), codec.resynthesize(clips)
    for clip, batched_codes, batched in zip(clips, codes, outputs, strict=True):
        assert batched_codes.shape == (CODEBOOKS, math.ceil(len(clip) / HOP))
        np.testing.assert_array_equal(batched_codes, codec.encode([clip])[0])
        assert batched.shape == clip.shape
        np.testing.assert_allclose(batched, codec.resynthesize([clip])[0], rtol=0, atol=1e-5)


@pytest.mark.parametrize("size", ["small", pytest.param("full", marks=pytest.mark.slow)])
def test_random_weights_keep_lengths_and_give_codes(
    size: str, request: pytest.FixtureRequest
) -> None:
    codec = load_codec("C5", weights="random", size=size)
    clips = speech_clips(request, codec.sample_rate, seconds=0.5)
    assert_resynthesis(clips, codec.resynthesize(clips))
    for clip, codes in zip(clips, codec.encode(clips), strict=True):
        assert codes.shape == (CODEBOOKS, math.ceil(len(clip) / HOP))
        assert codes.min() >= 0 and codes.max() < ENTRIES
    assert codec.provenance["random_size"] == size and codec.provenance["weights"] == "random"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU here")
def test_cuda_batches_match_the_cpu(c5: Path, request: pytest.FixtureRequest) -> None:
    clip = reference_input(c5)
    clips = [clip, clip[:12345], *speech_clips(request, 24_000, seconds=0.5)]
    cpu = load_codec("C5", checkpoint=str(c5))
    cuda = load_codec("C5", checkpoint=str(c5), device="cuda")
    for got, want in zip(cuda.resynthesize(clips), cpu.resynthesize(clips), strict=True):
        assert np.abs(got - want).max() < TOLERANCE
    for got, want in zip(cuda.encode(clips), cpu.encode(clips), strict=True):
        np.testing.assert_array_equal(got, want)
