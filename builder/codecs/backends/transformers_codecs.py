"""EnCodec, DAC and Mimi through transformers: the paper's C4 and C7, and new C8+ codecs.

Random weights build the real checkpoint's architecture from its config (``size="full"``) or a
narrower copy of it (``size="small"``: same rate, hop, codebooks and quantizers, fewer channels)
so that a whole rebuild runs offline in seconds. Pretrained weights come from a local folder or a
Hub id; the folder's ``config.json`` must name the condition's family, which is how a DAC
checkpoint given for C4 is caught before anything runs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from codecfake import CodecfakeError
from codecfake_core.hub import require_hub_model

from ..base import CodecSpec
from ..errors import CheckpointLoadError, CheckpointMismatchError, CodecSpecError
from ..neural import NeuralCodec, build_seeded, resolve_quantizers, wrap_model


@dataclass(frozen=True)
class Architecture:
    """How one transformers codec family is configured, framed and run."""

    model_type: str
    config_class: str
    model_class: str
    full: dict[str, Any]
    small: dict[str, Any]
    hop: Callable[[Any], int]
    max_quantizers: Callable[[Any], int]
    run: Callable[[Any, Any, int], Any]  # (model, (B, 1, T) tensor, quantizers) -> (B, T')
    extra: dict[str, Any] = field(default_factory=dict)


def _run_encodec(model: Any, audio: Any, quantizers: int) -> Any:
    bandwidth = quantizers * model.config.frame_rate * math.log2(model.config.codebook_size) / 1000
    if bandwidth not in model.config.target_bandwidths:
        raise CodecSpecError(
            f"EnCodec runs at {list(model.config.target_bandwidths)} kbps; "
            f"{quantizers} quantizers make {bandwidth:g} kbps"
        )
    encoded = model.encode(audio, bandwidth=bandwidth)
    return model.decode(encoded.audio_codes, encoded.audio_scales).audio_values[:, 0]


def _run_dac(model: Any, audio: Any, quantizers: int) -> Any:
    codes = model.encode(audio, n_quantizers=quantizers).audio_codes
    return model.decode(audio_codes=codes).audio_values


def _run_mimi(model: Any, audio: Any, quantizers: int) -> Any:
    codes = model.encode(audio, num_quantizers=quantizers).audio_codes
    return model.decode(codes).audio_values[:, 0]


# `full` is each default checkpoint's architecture. DacConfig() defaults to the 44 kHz layout
# labelled 16 kHz, so every DAC field is spelled out (ECOSYSTEM.md, "Neural codecs").
ARCHITECTURES: dict[str, Architecture] = {
    "encodec": Architecture(
        model_type="encodec",
        config_class="EncodecConfig",
        model_class="EncodecModel",
        full={},  # facebook/encodec_24khz
        small={"num_filters": 8, "hidden_size": 32, "num_lstm_layers": 1},
        hop=lambda config: config.hop_length,
        max_quantizers=lambda config: config.num_quantizers,
        run=_run_encodec,
    ),
    "dac": Architecture(
        model_type="dac",
        config_class="DacConfig",
        model_class="DacModel",
        full={  # descript/dac_44khz
            "sampling_rate": 44_100,
            "encoder_hidden_size": 64,
            "downsampling_ratios": [2, 4, 8, 8],
            "decoder_hidden_size": 1536,
            "n_codebooks": 9,
            "codebook_size": 1024,
            "codebook_dim": 8,
            "hop_length": 512,
        },
        small={"encoder_hidden_size": 8, "decoder_hidden_size": 64},
        hop=lambda config: config.hop_length,
        max_quantizers=lambda config: config.n_codebooks,
        run=_run_dac,
    ),
    "mimi": Architecture(
        model_type="mimi",
        config_class="MimiConfig",
        model_class="MimiModel",
        full={},  # kyutai/mimi
        small={
            "hidden_size": 32,
            "num_filters": 8,
            "num_hidden_layers": 1,
            "intermediate_size": 64,
            "num_attention_heads": 2,
            "num_key_value_heads": 2,
            "head_dim": 16,
            "codebook_dim": 32,
            "vector_quantization_hidden_dimension": 32,
            "upsample_groups": 32,
        },
        hop=lambda config: round(config.sampling_rate / config.frame_rate),
        max_quantizers=lambda config: config.num_quantizers,
        run=_run_mimi,
    ),
}


def require_transformers() -> Any:
    try:
        import transformers
    except ImportError as error:
        from ..errors import MissingPackageError

        raise MissingPackageError(
            "EnCodec, DAC, Mimi, SoundStream and FunCodec run through transformers and torch: "
            "pip install 'codecfake[codecs]'"
        ) from error
    return transformers


def _pretrained(arch: Architecture, spec: CodecSpec) -> Any:
    transformers = require_transformers()
    checkpoint = spec.checkpoint
    try:
        require_hub_model(str(checkpoint), f"{spec.condition} checkpoint")
    except CodecfakeError as error:
        raise CheckpointLoadError(str(error)) from None
    try:
        config = transformers.AutoConfig.from_pretrained(checkpoint)
    except ValueError as error:  # a config.json without a known model_type
        raise CheckpointMismatchError(
            f"{spec.condition}: checkpoint {checkpoint!r} is not a transformers "
            f"{arch.model_type} model ({error})"
        ) from None
    except OSError as error:
        raise CheckpointLoadError(
            f"{spec.condition}: cannot read checkpoint {checkpoint!r}: give a local folder "
            "(save_pretrained) or a Hub id on a machine that reaches the Hub "
            f"(HF_HUB_OFFLINE unset). {error}"
        ) from None
    if config.model_type != arch.model_type:
        raise CheckpointMismatchError(
            f"{spec.condition} runs {arch.model_type}, but checkpoint {checkpoint!r} is a "
            f"{config.model_type!r} model (its config.json model_type)"
        )
    model_class = getattr(transformers, arch.model_class)
    try:
        return model_class.from_pretrained(checkpoint, config=config)
    except (OSError, RuntimeError, ValueError) as error:
        raise CheckpointMismatchError(
            f"{spec.condition}: the weights in {checkpoint!r} do not fit its "
            f"{arch.model_type} config: {error}"
        ) from None


def _random(arch: Architecture, seed: int, size: str) -> Any:
    transformers = require_transformers()
    settings = {**arch.full, **(arch.small if size == "small" else {})}
    config = getattr(transformers, arch.config_class)(**settings)
    model_class = getattr(transformers, arch.model_class)
    return build_seeded(lambda: model_class(config), seed)


def build(
    spec: CodecSpec,
    checkpoint: str | None,
    weights: str,
    device: str,
    seed: int,
    size: str = "small",
) -> NeuralCodec:
    """Load ``spec``'s transformers codec (the factory :func:`load_codec` calls)."""
    arch = ARCHITECTURES[spec.family]
    spec = replace(spec, checkpoint=checkpoint)
    model = _pretrained(arch, spec) if weights == "pretrained" else _random(arch, seed, size)
    config = model.config
    spec = resolve_quantizers(
        spec,
        sample_rate=int(config.sampling_rate),
        hop=arch.hop(config),
        codebook_size=config.codebook_size,
        max_quantizers=arch.max_quantizers(config),
    )
    return wrap_model(
        spec,
        model,
        hop=arch.hop(model.config),
        forward=lambda m, audio: arch.run(m, audio, spec.quantizers),
        weights=weights,
        seed=seed,
        device=device,
        backend=f"transformers.{arch.model_class}",
        packages=("transformers",),
        size=size,
    )
