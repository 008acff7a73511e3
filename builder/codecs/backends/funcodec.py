"""C3 FunCodec: ``audio_codec-encodec-en-libritts-16k-nq32ds320`` (``config.yaml`` + ``model.pth``).

The paper's FunCodec checkpoint is not public; this is the closest public one (inferred). Its
``model.pth`` is the whole GAN's state dict: the SEANet encoder/decoder with ``time_group_norm``
convs, all 32 codebooks stacked in one tensor (``quantizer.rq.model.embed [32, 1024, D]``), and
training-only tensors: the discriminator and the mel-loss buffers, which are dropped by name
(:data:`TRAINING_ONLY`). ``config.yaml`` gives the architecture, in FunCodec's own keys.

Inference follows the recipe (``codec_inference.py`` with ``--use_scale false``): each clip is
divided by its RMS (``audio_normalize``), encoded with the condition's quantizer count, decoded,
and not multiplied back; the output is cut to the input's length. The recipe's write-time peak
rescale (``min(0.99 / max|y|, 1)``) is not applied.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import yaml

from codecfake_core.checkpoints import is_state_dict, read_torch_file, strip_data_parallel

from ..errors import CheckpointLoadError, CheckpointMismatchError
from .seanet import Checkpoint, SeanetFamily, SeanetLayout, fetch_hint
from .seanet_weights import Slot

log = logging.getLogger("codecfake")

FULL = SeanetLayout(
    sample_rate=16_000, n_filters=32, dimension=128, codebooks=32, norm="time_group_norm"
)
SMALL = SeanetLayout(
    sample_rate=16_000, n_filters=8, dimension=32, codebooks=32, norm="time_group_norm"
)
NORMS = ("weight_norm", "time_group_norm")
CONFIG_NAME = "config.yaml"
WEIGHTS_NAME = "model.pth"

TRAINING_ONLY = ("discriminator.", "mel_spec_transforms.")
"""Key prefixes of what ``model.pth`` holds for training only: the GAN's discriminator and the
multi-scale mel loss's filter banks and windows. Inference never reads them."""

_MODULES = {
    "model": "encodec",
    "encoder": "encodec_seanet_encoder",
    "decoder": "encodec_seanet_decoder",
}
_SEANET_DEFAULTS: dict[str, Any] = {
    "causal": False,
    "pad_mode": "reflect",
    "activation": "ELU",
    "true_skip": False,
    "n_residual_layers": 1,
    "compress": 2,
    "kernel_size": 7,
    "last_kernel_size": 7,
    "residual_kernel_size": 3,
    "dilation_base": 2,
}
"""SEANet settings ``EncodecModel`` has as these values only; a config that changes one is refused
by name rather than run differently from how it was trained."""


def quantizer_slot(layer: int, buffer: str) -> Slot:
    return Slot(f"quantizer.rq.model.{buffer}", row=layer)


def read(checkpoint: str) -> Checkpoint:
    """The published folder, or its ``model.pth`` with ``config.yaml`` beside it."""
    path = Path(checkpoint)
    weights = path / WEIGHTS_NAME if path.is_dir() else path
    config = weights.with_name(CONFIG_NAME)
    for needed in (weights, config):
        if not needed.is_file():
            raise CheckpointLoadError(
                f"{needed}: no such file; C3 loads FunCodec's published folder ({CONFIG_NAME} and "
                f"{WEIGHTS_NAME} side by side): fetch it from {fetch_hint('funcodec')}"
            )
    layout, normalize = _layout(_yaml(config), config)
    state = read_torch_file(weights)
    if not is_state_dict(state):
        raise CheckpointMismatchError(
            f"{weights}: holds a {type(state).__name__}, not the state dict FunCodec saves; "
            f"re-download it from {fetch_hint('funcodec')}"
        )
    kept = {k: v for k, v in strip_data_parallel(state).items() if not k.startswith(TRAINING_ONLY)}
    log.debug("%s: %d training-only tensors left out", weights, len(state) - len(kept))
    return Checkpoint(weights, kept, layout, normalize)


def _yaml(path: Path) -> dict[str, Any]:
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise CheckpointMismatchError(
            f"{path}: not readable YAML ({error}); re-download it from {fetch_hint('funcodec')}"
        ) from None
    if not isinstance(config, dict):
        raise CheckpointMismatchError(f"{path}: not a FunCodec config (a YAML mapping)")
    return config


def _layout(config: dict[str, Any], path: Path) -> tuple[SeanetLayout, bool]:
    """The architecture ``config.yaml`` declares, and whether it normalises its input."""

    def refuse(setting: str, value: Any, wanted: Any) -> CheckpointMismatchError:
        return CheckpointMismatchError(
            f"{path}: {setting} is {value!r}; codecfake runs FunCodec's EnCodec-style models "
            f"with {setting} {wanted!r} only"
        )

    for key, wanted in _MODULES.items():
        if config.get(key, wanted) != wanted:
            raise refuse(key, config[key], wanted)
    encoder = config.get("encoder_conf") or {}
    decoder = config.get("decoder_conf") or {}
    quantizer = config.get("quantizer_conf") or {}
    model = config.get("model_conf") or {}
    for section, values in (("encoder_conf", encoder), ("decoder_conf", decoder)):
        for key, wanted in _SEANET_DEFAULTS.items():
            if values.get(key, wanted) != wanted:
                raise refuse(f"{section}.{key}", values[key], wanted)
    shared = {"n_filters": 32, "ratios": [8, 5, 4, 2], "lstm": 2, "norm": "weight_norm"}
    for key, default in shared.items():  # EncodecModel has one value for both halves
        if decoder.get(key, default) != encoder.get(key, default):
            raise refuse(
                f"decoder_conf.{key}", decoder.get(key, default), encoder.get(key, default)
            )
    if encoder.get("norm", shared["norm"]) not in NORMS:
        raise refuse("encoder_conf.norm", encoder["norm"], " or ".join(NORMS))
    if model.get("segment_dur") is not None:
        raise refuse("model_conf.segment_dur", model["segment_dur"], None)
    ratios = tuple(int(r) for r in encoder.get("ratios", shared["ratios"]))
    hop = quantizer.get("encoder_hop_length", math.prod(ratios))
    if hop != math.prod(ratios):
        raise refuse("quantizer_conf.encoder_hop_length", hop, math.prod(ratios))
    layout = SeanetLayout(
        sample_rate=int(quantizer.get("sampling_rate", config.get("sampling_rate", 16_000))),
        n_filters=int(encoder.get("n_filters", shared["n_filters"])),
        dimension=int(encoder.get("dimension", FULL.dimension)),
        codebooks=int(quantizer.get("num_quantizers", FULL.codebooks)),
        codebook_size=int(quantizer.get("codebook_size", FULL.codebook_size)),
        norm=str(encoder.get("norm", shared["norm"])),
        ratios=ratios,
        lstm_layers=int(encoder.get("lstm", shared["lstm"])),
    )
    return layout, bool(model.get("audio_normalize", False))


FAMILY = SeanetFamily(
    name="funcodec",
    display="FunCodec (audio_codec-encodec-en-libritts-16k-nq32ds320)",
    full=FULL,
    small=SMALL,
    normalize=True,
    quantizer=quantizer_slot,
    read=read,
)

build = FAMILY.build
"""Load C3 (or an added condition of this family): the factory :func:`load_codec` calls."""
