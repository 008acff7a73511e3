"""C2 SpeechTokenizer as a built-in codec: the released folder layout and its failure modes, the
full architecture against the public code's, random weights at both sizes, clips run alone, the
``speechtokenizer`` package as an oracle where it imports, and ``codecfake codecs``."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from helpers.codec_references import official_state_dict, save_hostile

from codecfake import CodecfakeError
from codecfake_builder.codecs import CheckpointLoadError, CheckpointMismatchError, load_codec
from codecfake_builder.codecs.backends import speechtokenizer
from codecfake_builder.codecs.backends.seanet import new_model, random_model
from codecfake_builder.codecs.backends.seanet_weights import (
    official_shapes,
    official_slots,
    vq_layers_slot,
)
from codecfake_builder.codecs.base import DiscreteCodec
from codecfake_builder.codecs.cli import INFERRED
from codecfake_core.checkpoints import read_torch_file
from testkit.codecs_audio import assert_resynthesis, speech_clips

pytest.importorskip("transformers")

HOP = 320
WEIGHTS = "SpeechTokenizer.pt"
URL = "https://huggingface.co/fnlp/SpeechTokenizer"

SMALL_CONFIG: dict[str, Any] = {
    "n_filters": 8,
    "strides": [8, 5, 4, 2],
    "dimension": 64,
    "semantic_dimension": 48,
    "bidirectional": True,
    "dilation_base": 2,
    "residual_kernel_size": 3,
    "n_residual_layers": 1,
    "lstm_layers": 2,
    "activation": "ELU",
    "codebook_size": 1024,
    "n_q": 8,
    "sample_rate": 16_000,
    "learning_rate": 1e-4,  # the released config.json mixes in training settings: ignored
    "segment_size": 48_000,
}
"""``speechtokenizer.SMALL`` in the authors' config.json keys."""

# The released speechtokenizer_hubert_avg/SpeechTokenizer.pt, derived from the public code
# (github ZhangXInFD/SpeechTokenizer) at the published config (n_filters 64, strides 8 5 4 2,
# dimension 1024, semantic_dimension 768, lstm_layers 2, bidirectional, n_q 8, codebook_size 1024):
# speechtokenizer/model.py builds encoder, quantizer, decoder, transform;
# speechtokenizer/modules/seanet.py lays out encoder.model.N / decoder.model.N below (ELUs hold
# no tensors); modules/conv.py wraps weight-normed convolutions as SConv1d -> conv.conv.* and
# SConvTranspose1d -> convtr.convtr.*; modules/lstm.py names its nn.LSTM "lstm";
# quantization/core_vq.py keeps four buffers per codebook.
# (kind, path, arguments): conv (in, out, kernel), convtr (in, out, kernel), resblock (width),
# lstm (width, layers, bidirectional), linear (in, out).
RELEASED_FULL: list[tuple[str, str, tuple[Any, ...]]] = [
    ("conv", "encoder.model.0", (1, 64, 7)),
    ("resblock", "encoder.model.1", (64,)),
    ("conv", "encoder.model.3", (64, 128, 4)),
    ("resblock", "encoder.model.4", (128,)),
    ("conv", "encoder.model.6", (128, 256, 8)),
    ("resblock", "encoder.model.7", (256,)),
    ("conv", "encoder.model.9", (256, 512, 10)),
    ("resblock", "encoder.model.10", (512,)),
    ("conv", "encoder.model.12", (512, 1024, 16)),
    ("lstm", "encoder.model.13", (1024, 2, True)),
    ("conv", "encoder.model.15", (2048, 1024, 7)),
    ("conv", "decoder.model.0", (1024, 1024, 7)),
    ("lstm", "decoder.model.1", (1024, 2, False)),
    ("convtr", "decoder.model.3", (1024, 512, 16)),
    ("resblock", "decoder.model.4", (512,)),
    ("convtr", "decoder.model.6", (512, 256, 10)),
    ("resblock", "decoder.model.7", (256,)),
    ("convtr", "decoder.model.9", (256, 128, 8)),
    ("resblock", "decoder.model.10", (128,)),
    ("convtr", "decoder.model.12", (128, 64, 4)),
    ("resblock", "decoder.model.13", (64,)),
    ("conv", "decoder.model.15", (64, 1, 7)),
    *(("codebook", f"quantizer.vq.layers.{k}._codebook", (1024, 1024)) for k in range(8)),
    ("linear", "transform", (1024, 768)),
]
RELEASED_MEGABYTES = 482
"""The size the Hub lists for speechtokenizer_hubert_avg/SpeechTokenizer.pt (float32 tensors)."""


def _released_keys(table: list[tuple[str, str, tuple[Any, ...]]]) -> dict[str, tuple[int, ...]]:
    """The table as keys and shapes: weight norm keeps ``weight_g`` (one gain per slice of the
    weight's first axis: out channels for a convolution, in channels for a transposed one) and
    ``weight_v``; a SEANet residual block is conv k3 to half width, conv k1 back, conv shortcut."""
    keys: dict[str, tuple[int, ...]] = {}
    for kind, path, args in table:
        if kind in ("conv", "convtr"):
            n_in, n_out, kernel = args
            weight = (n_out, n_in, kernel) if kind == "conv" else (n_in, n_out, kernel)
            stem = f"{path}.{kind}.{kind}"
            keys |= {
                f"{stem}.weight_g": (weight[0], 1, 1),
                f"{stem}.weight_v": weight,
                f"{stem}.bias": (n_out,),
            }
        elif kind == "resblock":
            (width,) = args
            for sub, conv in (
                ("block.1", (width, width // 2, 3)),
                ("block.3", (width // 2, width, 1)),
                ("shortcut", (width, width, 1)),
            ):
                keys |= _released_keys([("conv", f"{path}.{sub}", conv)])
        elif kind == "lstm":
            width, layers, both = args
            for layer in range(layers):
                inputs = width if layer == 0 else width * (2 if both else 1)
                for suffix in ("", "_reverse") if both else ("",):
                    keys |= {
                        f"{path}.lstm.weight_ih_l{layer}{suffix}": (4 * width, inputs),
                        f"{path}.lstm.weight_hh_l{layer}{suffix}": (4 * width, width),
                        f"{path}.lstm.bias_ih_l{layer}{suffix}": (4 * width,),
                        f"{path}.lstm.bias_hh_l{layer}{suffix}": (4 * width,),
                    }
        elif kind == "codebook":
            size, dim = args
            keys |= {
                f"{path}.inited": (1,),
                f"{path}.cluster_size": (size,),
                f"{path}.embed": (size, dim),
                f"{path}.embed_avg": (size, dim),
            }
        else:
            n_in, n_out = args
            keys |= {f"{path}.weight": (n_out, n_in), f"{path}.bias": (n_out,)}
    return keys


def _released_state(model: torch.nn.Module, config: dict[str, Any]) -> dict[str, torch.Tensor]:
    """``model``'s weights as SpeechTokenizer saves them, with a random distillation head."""
    head = torch.nn.Linear(config["dimension"], config["semantic_dimension"])
    return {
        **official_state_dict(model, vq_layers_slot),
        "transform.weight": head.weight.detach(),
        "transform.bias": head.bias.detach(),
    }


def _write_release(folder: Path, model: torch.nn.Module, config: dict[str, Any]) -> Path:
    """``folder`` laid out as the Hub's speechtokenizer_hubert_avg/: config.json and the .pt."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config))
    torch.save(_released_state(model, config), folder / WEIGHTS)
    return folder


@pytest.fixture
def release(tmp_path: Path) -> Path:
    """The small random architecture (seed 7) in the released layout."""
    model = random_model(speechtokenizer.SMALL, seed=7)
    return _write_release(tmp_path / "speechtokenizer_hubert_avg", model, SMALL_CONFIG)


def test_full_size_is_the_public_codes_architecture() -> None:
    """``full`` mapped back to the release's names is the public model's state dict, less the
    training-only distillation head; and it weighs what the Hub's file does."""
    released = _released_keys(RELEASED_FULL)
    with torch.device("meta"):  # shapes only: no memory, no initialisation
        model = new_model(speechtokenizer.FULL)
    ours = official_shapes(model, official_slots(model, vq_layers_slot))
    training = {k for k in released if k.startswith(speechtokenizer.TRAINING_ONLY)}
    assert training == {"transform.weight", "transform.bias"}
    assert ours == {k: v for k, v in released.items() if k not in training}
    floats = sum(math.prod(shape) for shape in released.values())
    assert round(4 * floats / 1e6) == RELEASED_MEGABYTES


def test_a_released_folder_loads_and_runs_as_the_model_it_came_from(
    release: Path, request: pytest.FixtureRequest
) -> None:
    loaded = load_codec("C2", checkpoint=str(release))
    assert isinstance(loaded, DiscreteCodec)
    spec = loaded.spec
    assert (spec.quantizers, spec.bitrate_kbps, spec.sample_rate) == (8, 4.0, 16_000)
    random = load_codec("C2", weights="random", seed=7)
    assert loaded.provenance["weights_sha256"] == random.provenance["weights_sha256"]
    assert loaded.provenance["checkpoint"] == str(release)
    clips = speech_clips(request, 16_000, seconds=0.5)
    for ours, theirs in zip(loaded.encode(clips), random.encode(clips), strict=True):
        np.testing.assert_array_equal(ours, theirs)
    as_file = load_codec("C2", checkpoint=str(release / WEIGHTS))
    assert as_file.provenance["weights_sha256"] == loaded.provenance["weights_sha256"]


def test_a_reshaped_tensor_is_named_in_one_line(release: Path) -> None:
    state = read_torch_file(release / WEIGHTS)
    key = "encoder.model.15.conv.conv.weight_v"
    assert tuple(state[key].shape) == (64, 256, 7)  # the bidirectional LSTM's doubled width
    torch.save({**state, key: state[key][:, :128]}, release / WEIGHTS)
    with pytest.raises(CheckpointMismatchError) as caught:
        load_codec("C2", checkpoint=str(release))
    message = str(caught.value)
    assert "\n" not in message and message.startswith(f"{release / WEIGHTS}: ")
    assert f"{key} has shape [64, 128, 7], expected [64, 256, 7]" in message
    assert f"re-download it from {URL}" in message


def test_missing_and_unknown_keys_are_named(release: Path) -> None:
    state = read_torch_file(release / WEIGHTS)
    embed = "quantizer.vq.layers.5._codebook.embed"
    torch.save({k: v for k, v in state.items() if k != embed}, release / WEIGHTS)
    with pytest.raises(CheckpointMismatchError, match=rf"key {embed} is missing \(expected shape"):
        load_codec("C2", checkpoint=str(release))
    torch.save({**state, "semantic_head.weight": torch.zeros(3)}, release / WEIGHTS)
    with pytest.raises(CheckpointMismatchError, match=r"unexpected key semantic_head\.weight"):
        load_codec("C2", checkpoint=str(release))


def test_configs_it_cannot_run_are_refused_by_name(release: Path) -> None:
    config = release / "config.json"
    config.write_text(json.dumps({**SMALL_CONFIG, "activation": "Snake"}))
    with pytest.raises(CheckpointMismatchError, match=r"activation is 'Snake'.*'ELU' only"):
        load_codec("C2", checkpoint=str(release))
    config.write_text(json.dumps({"model_type": "encodec"}))
    with pytest.raises(CheckpointMismatchError, match="transformers 'encodec' config"):
        load_codec("C2", checkpoint=str(release))
    config.unlink()
    with pytest.raises(CheckpointLoadError, match=r"config\.json and one \*\.pt state dict"):
        load_codec("C2", checkpoint=str(release))


def test_a_hostile_pickle_is_refused_and_nothing_runs(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    hostile = save_hostile(tmp_path / "release" / WEIGHTS, marker)
    (hostile.parent / "config.json").write_text(json.dumps(SMALL_CONFIG))
    with pytest.raises(CodecfakeError, match=r"refusing to load.*system.*Nothing from the file"):
        load_codec("C2", checkpoint=str(hostile.parent))
    assert not marker.exists()


def test_a_hub_id_resolves_to_its_released_sub_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default Hub id, found in the Hub cache (where a download puts it): its
    speechtokenizer_hubert_avg/ folder is what loads, the same as the folder given locally."""
    from huggingface_hub import constants

    repo = tmp_path / "hub" / "models--fnlp--SpeechTokenizer"
    commit = "0" * 40
    model = random_model(speechtokenizer.SMALL, seed=7)
    _write_release(repo / "snapshots" / commit / "speechtokenizer_hubert_avg", model, SMALL_CONFIG)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    codec = load_codec("C2")
    assert codec.provenance["checkpoint"] == "fnlp/SpeechTokenizer"
    random = load_codec("C2", weights="random", seed=7)
    assert codec.provenance["weights_sha256"] == random.provenance["weights_sha256"]


def test_a_hub_id_offline_says_what_to_give(tmp_path: Path) -> None:
    with pytest.raises(CheckpointLoadError, match=r"HF_HUB_OFFLINE.*speechtokenizer_hubert_avg/"):
        load_codec("C2")  # the default Hub id, while the tests run offline
    with pytest.raises(CheckpointLoadError, match="no such folder"):
        load_codec("C2", checkpoint=str(tmp_path / "no-such-folder"))


@pytest.mark.parametrize("size", ["small", pytest.param("full", marks=pytest.mark.slow)])
def test_random_weights_keep_lengths_and_code_shapes(
    size: str, request: pytest.FixtureRequest
) -> None:
    codec = load_codec("C2", weights="random", size=size, seed=3)
    clips = speech_clips(request, 16_000, seconds=0.5)
    assert_resynthesis(clips, codec.resynthesize(clips))
    for clip, codes in zip(clips, codec.encode(clips), strict=True):
        assert codes.shape == (8, -(-len(clip) // HOP)) and codes.dtype == np.int64
        assert codes.min() >= 0 and codes.max() < 1024
        assert len(np.unique(codes[0])) > 1  # random codebooks still follow the input
    assert codec.provenance["random_size"] == size


def test_each_clip_gets_its_solo_output_whatever_the_batch(request: pytest.FixtureRequest) -> None:
    """The encoder's backward LSTM would carry a batch's padding into every frame of a shorter
    clip, so clips run one at a time: batched and solo runs are the same bytes."""
    codec = load_codec("C2", weights="random", seed=1)
    long, short = speech_clips(request, 16_000, seconds=1.0)
    batched, codes = codec.resynthesize([long, short]), codec.encode([long, short])
    for index, clip in enumerate((long, short)):
        np.testing.assert_array_equal(batched[index], codec.resynthesize([clip])[0])
        np.testing.assert_array_equal(codes[index], codec.encode([clip])[0])


def _official_class() -> Any:
    """The ``speechtokenizer`` package's model class, or ``None`` where it does not import (it
    imports torchaudio, which fails beside a CPU torch unless made to fall back)."""
    try:
        from speechtokenizer import SpeechTokenizer
    except (ImportError, OSError):
        return None
    return SpeechTokenizer


@pytest.mark.skipif(
    _official_class() is None,
    reason="the speechtokenizer package (the official code, the oracle) is not importable here",
)
def test_the_official_package_gives_the_same_codes_and_audio(
    release: Path, request: pytest.FixtureRequest
) -> None:
    official = _official_class()(SMALL_CONFIG).eval()
    official.load_state_dict(read_torch_file(release / WEIGHTS))
    codec = load_codec("C2", checkpoint=str(release))
    clips = speech_clips(request, 16_000, seconds=0.5)
    for clip, codes, output in zip(
        clips, codec.encode(clips), codec.resynthesize(clips), strict=True
    ):
        with torch.inference_mode():
            theirs = official.encode(torch.from_numpy(clip)[None, None])  # (n_q, 1, frames)
            audio = official.decode(theirs)[0, 0].numpy()
        np.testing.assert_array_equal(codes, theirs[:, 0].numpy())
        assert len(audio) == codes.shape[1] * HOP  # the official output is not trimmed
        np.testing.assert_allclose(output, audio[: len(clip)], atol=1e-4)


def test_codecs_command_lists_c2_as_ready_with_its_address(capsys) -> None:
    from codecfake_cli import main

    assert main(["codecs"]) == 0
    lines = capsys.readouterr().out.splitlines()
    c2 = next(i for i, line in enumerate(lines) if line.startswith("C2 "))
    assert "speechtokenizer" in lines[c2] and lines[c2].endswith(" ready")
    assert f"fetch {URL}" in lines[c2 + 1] and "licence Apache-2.0" in lines[c2 + 1]
    assert lines[c2 + 1].endswith(INFERRED)
