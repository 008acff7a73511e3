"""AcademiCodec's HiFi-Codec (C6), built in: the released ``HiFi-Codec-24k-320d``, run as the
authors' ``vqvae_copy_syn.py`` runs it.

Codecfake's own C6 checkpoint is not public. The closest public one, an *inferred* mapping, is
AcademiCodec's ``HiFi-Codec-24k-320d`` (24 kHz, hop 320, group residual VQ of 2 stages x 2 groups:
4 codebooks of 1024 entries, 3 kbps), published in the Hub repository ``Dongchao/AcademiCodec``.

Checkpoint: that file (no extension), or a folder holding it. It is a ``torch.save`` of
``{'encoder': sd, 'quantizer': sd, 'generator': sd}`` with old-style weight norm. The
architecture comes from a json beside it (``<file name>.json``, ``config.json`` or the recipe's
``config_24k_320d.json``), else from the published recipe config; the widths the official code
hard-codes (encoder width, latent size) and, without a json, the generator's width are read from
the tensors' shapes.

Inference: the clip as it is (no padding), codes ``(4, floor(n / 320))`` ordered stage 1 group 0,
stage 1 group 1, stage 2 group 0, stage 2 group 1 (the official layout is ``(batch, frames, 4)``),
decoded to ``frames * 320`` samples: up to 319 fewer than the input, where the official output
simply ends. codecfake's output has the input's length, so it ends with those samples as zeros.
The encoder normalises over time, so clips are batched only with clips of their own length (see
:mod:`.codebook_codec`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..base import CodecSpec
from ..errors import CheckpointLoadError, CheckpointMismatchError
from ..neural import build_seeded
from ..registry import FAMILIES
from .codebook_codec import CodebookCodec, make_codec, require_torch, resolve_spec

log = logging.getLogger("codecfake")

FILE_NAME = "HiFi-Codec-24k-320d"
CONFIG_NAMES = ("{name}.json", "config.json", "config_24k_320d.json")
PARTS = ("encoder", "quantizer", "generator")
SAMPLE_RATE = 24_000
REMEDY = f"give the file {FILE_NAME} as released, unchanged, with its recipe's json beside it"


def _weights_file(checkpoint: str | None, condition: str) -> Path:
    url = FAMILIES["academicodec"].checkpoint_url
    if checkpoint is None:
        raise CheckpointLoadError(
            f"{condition}: give the file {FILE_NAME} from {url} (--checkpoint {condition}=FILE)"
        )
    path = Path(checkpoint).expanduser()
    if path.is_dir():
        path = path / FILE_NAME
    if not path.is_file():
        raise CheckpointLoadError(
            f"{condition}: no HiFi-Codec checkpoint at {path}; give the file {FILE_NAME} from "
            f"{url} (or the folder holding it)"
        )
    return path


def _read_json(weights: Path, condition: str) -> dict[str, Any]:
    """The json config beside ``weights``; empty when there is none (published defaults)."""
    for name in CONFIG_NAMES:
        path = weights.parent / name.format(name=weights.name)
        if path.is_file():
            try:
                config = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, ValueError) as error:
                raise CheckpointLoadError(f"{condition}: cannot read {path}: {error}") from None
            if not isinstance(config, dict) or "upsample_rates" not in config:
                raise CheckpointMismatchError(
                    f"{condition}: {path} is not a HiFi-Codec config (no upsample_rates)"
                )
            if str(config.get("resblock", "1")) != "1":
                raise CheckpointMismatchError(
                    f"{condition}: {path} asks for resblock {config['resblock']!r}; HiFi-Codec's "
                    "released models use resblock '1', the only one codecfake runs"
                )
            return config
    return {}


def _state(weights: Path, condition: str) -> dict[str, Any]:
    """The three state dicts as one, keys prefixed by their part (``encoder.conv_pre.bias``)."""
    from .released_weights import read_checkpoint, state_dict_at

    source = f"{condition}: {weights}"
    held = read_checkpoint(weights, condition)
    if not (isinstance(held, Mapping) and all(part in held for part in PARTS)):
        found = sorted(held)[:8] if isinstance(held, Mapping) else type(held).__name__
        raise CheckpointMismatchError(
            f"{source}: expected a dict of {list(PARTS)} state dicts (the released layout), "
            f"found {found}"
        )
    return {
        f"{part}.{key}": tensor
        for part in PARTS
        for key, tensor in state_dict_at(held, (part,), source).items()
    }


def _out_channels(state: Mapping[str, Any], layer: str, source: str) -> int:
    """A convolution's output width, from its stored weight (plain or weight-normed)."""
    for key in (f"{layer}.weight", f"{layer}.weight_v"):
        if key in state:
            return int(state[key].shape[0])
    raise CheckpointMismatchError(f"{source}: {layer}.weight_v is missing; {REMEDY}")


def _config(json_config: dict[str, Any], state: Mapping[str, Any], source: str) -> Any:
    from .hificodec_model import HiFiCodecConfig

    default = HiFiCodecConfig()
    dilations = json_config.get("resblock_dilation_sizes", default.resblock_dilation_sizes)
    return HiFiCodecConfig(
        upsample_rates=tuple(json_config.get("upsample_rates", default.upsample_rates)),
        upsample_kernel_sizes=tuple(
            json_config.get("upsample_kernel_sizes", default.upsample_kernel_sizes)
        ),
        upsample_initial_channel=int(
            json_config.get("upsample_initial_channel")
            or _out_channels(state, "generator.conv_pre", source)
        ),
        resblock_kernel_sizes=tuple(
            json_config.get("resblock_kernel_sizes", default.resblock_kernel_sizes)
        ),
        resblock_dilation_sizes=tuple(tuple(d) for d in dilations),
        n_code_groups=int(json_config.get("n_code_groups", default.n_code_groups)),
        n_codes=int(json_config.get("n_codes", default.n_codes)),
        encoder_width=_out_channels(state, "encoder.conv_pre", source),
        latent_dim=_out_channels(state, "encoder.conv_post", source),
    )


def _pretrained(checkpoint: str | None, condition: str) -> tuple[Any, int]:
    """The released model, and its rate."""
    from .hificodec_model import HiFiCodec
    from .released_weights import load_matching

    weights = _weights_file(checkpoint, condition)
    source = f"{condition}: {weights}"
    json_config = _read_json(weights, condition)
    state = _state(weights, condition)
    model = HiFiCodec(_config(json_config, state, source))
    load_matching(model, state, source, REMEDY)
    return model, int(json_config.get("sampling_rate", SAMPLE_RATE))


def random_model(size: str) -> Any:
    """The released architecture (``full``) or a narrower one (``small``: same rate, hop and
    codebooks), weights as torch initialises them."""
    from .hificodec_model import HiFiCodec, HiFiCodecConfig

    config = HiFiCodecConfig()
    if size == "small":
        config = replace(config, encoder_width=8, latent_dim=128, upsample_initial_channel=64)
    return HiFiCodec(config)


def build(
    spec: CodecSpec,
    checkpoint: str | None,
    weights: str,
    device: str,
    seed: int,
    size: str = "small",
) -> CodebookCodec:
    """Load ``spec``'s HiFi-Codec (the factory :func:`~codecfake_builder.codecs.load_codec`
    calls)."""
    require_torch(f"{spec.condition} (HiFi-Codec)")
    if weights == "pretrained":
        model, rate = _pretrained(checkpoint, spec.condition)
    else:
        model, rate = build_seeded(lambda: random_model(size), seed), SAMPLE_RATE
    stages = model.quantizer.stages
    spec = resolve_spec(
        spec,
        checkpoint,
        rate=rate,
        hop=model.hop,
        codebooks=sum(len(books) for books in stages),
        codebook_size=stages[0][0].embedding.num_embeddings,
    )
    codec = make_codec(
        spec,
        model,
        causal=False,
        weights=weights,
        seed=seed,
        device=device,
        size=size,
        backend="codecfake.academicodec",
        licence=FAMILIES["academicodec"].licence,
    )
    log.info("%s: HiFi-Codec ready on %s", spec.condition, codec.device)
    return codec
