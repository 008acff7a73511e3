"""AudioDec (C5), built in: the authors' released ``libritts_v1`` model, run as their demo runs it.

Codecfake's own C5 checkpoint is not public. The closest public one, an *inferred* mapping, is
AudioDec's ``libritts_v1``: the ``symAD_libritts_24000_hop300`` encoder with the ``AudioDec_v1``
HiFi-GAN vocoder (24 kHz, hop 300, 8 residual codebooks of 1024 entries: 6.4 kbps), from the
``exp.zip`` of AudioDec's release ``pretrain_models_v02``, licensed CC BY-NC 4.0 (non-commercial).

Checkpoint: the folder ``exp.zip`` unpacks to (the folder holding ``exp/``, or ``exp/`` itself)::

    exp/autoencoder/symAD_libritts_24000_hop300/{checkpoint-500000steps.pkl,config.yml}
    exp/vocoder/AudioDec_v1_symAD_libritts_24000_hop300_clean/{checkpoint-500000steps.pkl,config.yml}

Each ``.pkl`` is a ``torch.save`` of ``{'model': {'generator': state_dict}}``; the architecture
comes from the ``config.yml`` beside it. The encoder file also holds the symmetric decoder and the
codebooks' training averages, which inference does not use and which are read past. The
vocoder's ``stats`` file is not needed: the vocoder file holds the same numbers as its ``mean``
and ``scale``, which the official loader puts in place of the file's.

Inference (``spec.options["path"]``):

- ``demo`` (default, the reference): ``demoFile.py --model libritts_v1``. Streaming causal layers
  whose context is primed once by coding 8192 zeros and decoding their codes; the clip's codes
  are ``ceil(n / 300)`` frames, decoded and cut to ``n`` samples.
- ``codectest``: ``codecTest.py``'s non-streaming ``forward``: zero context, no priming. On the
  official reference clip it shares 85 % of the demo path's codes.

Which of the two the Codecfake authors ran is not known. Batches are zero-padded at the end
only, and every batch starts from the primed context, so a clip's codes and audio are what it gets
alone (see :mod:`.codebook_codec`).
"""

from __future__ import annotations

import logging
import math
from dataclasses import replace
from pathlib import Path, PurePosixPath
from typing import Any

from ..base import CodecSpec
from ..errors import CheckpointLoadError, CheckpointMismatchError, CodecSpecError
from ..neural import build_seeded
from ..registry import FAMILIES
from .codebook_codec import CodebookCodec, make_codec, require_torch, resolve_spec

log = logging.getLogger("codecfake")

ANALYZER_FILE = PurePosixPath("autoencoder/symAD_libritts_24000_hop300/checkpoint-500000steps.pkl")
VOCODER_FILE = PurePosixPath(
    "vocoder/AudioDec_v1_symAD_libritts_24000_hop300_clean/checkpoint-500000steps.pkl"
)
CONFIG_NAME = "config.yml"
PRIMING_SAMPLES = 8192
"""``AudioDec(receptive_length=8192)`` in the official demo: the zeros that prime the context."""
SAMPLE_RATE = 24_000
PATHS = ("demo", "codectest")
REMEDY = "give the file as AudioDec's exp.zip holds it (libritts_v1), unchanged"


def unused_by_inference(key: str) -> bool:
    """Encoder-file keys inference does not use: the symmetric decoder, EMA codebook statistics."""
    return key.startswith("decoder.") or key.endswith((".cluster_size", ".embed_avg"))


def _release_files(checkpoint: str | None, condition: str) -> tuple[Path, Path]:
    """The encoder and vocoder checkpoints under ``checkpoint``, each beside its config.yml."""
    url = FAMILIES["audiodec"].checkpoint_url
    if checkpoint is None:
        raise CheckpointLoadError(
            f"{condition}: AudioDec's weights come as a zip codecfake does not fetch: download "
            f"{url}, unpack it and give its folder (--checkpoint {condition}=FOLDER)"
        )
    root = Path(checkpoint).expanduser()
    exp = root if (root / "autoencoder").is_dir() else root / "exp"
    files = (exp / ANALYZER_FILE, exp / VOCODER_FILE)
    for path in (*files, *(file.parent / CONFIG_NAME for file in files)):
        if not path.is_file():
            raise CheckpointLoadError(
                f"{condition}: {checkpoint} does not hold AudioDec's libritts_v1 release (no "
                f"{path}); give the folder that {url} unpacks to, with exp/{ANALYZER_FILE} and "
                f"exp/{VOCODER_FILE}, each beside its {CONFIG_NAME}"
            )
    return files


def _read_config(path: Path, condition: str) -> dict[str, Any]:
    import yaml

    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        reason = " ".join(str(error).split())
        raise CheckpointLoadError(f"{condition}: cannot read {path}: {reason}") from None
    if not isinstance(config, dict) or not isinstance(config.get("generator_params"), dict):
        raise CheckpointMismatchError(
            f"{condition}: {path} is not an AudioDec config (no generator_params mapping)"
        )
    return config


def _require(params: dict[str, Any], source: str, **supported: Any) -> None:
    """Settings of the released layout that codecfake's AudioDec does not vary (a missing one
    takes the official default, which is the supported value)."""
    for key, value in supported.items():
        found = params.get(key, value)
        if found != value:
            raise CheckpointMismatchError(
                f"{source}: generator_params {key} is {found!r}; codecfake's AudioDec runs the "
                f"released libritts_v1 layout, {key} {value!r}"
            )


def _analyzer_config(config: dict[str, Any], source: str) -> Any:
    from .audiodec_model import AnalyzerConfig

    if config.get("model_type") not in ("symAudioDec", "symAudioDecUniv"):
        raise CheckpointMismatchError(
            f"{source}: model_type {config.get('model_type')!r} is not an AudioDec encoder "
            "(symAudioDec)"
        )
    params = config["generator_params"]
    _require(
        params,
        source,
        input_channels=1,
        mode="causal",
        codec="audiodec",
        projector="conv1d",
        quantier="residual_vq",
        nonlinear_activation="ELU",
        nonlinear_activation_params={},
    )
    default = AnalyzerConfig()
    return AnalyzerConfig(
        encode_channels=int(params.get("encode_channels", default.encode_channels)),
        code_dim=int(params.get("code_dim", default.code_dim)),
        codebook_num=int(params.get("codebook_num", default.codebook_num)),
        codebook_size=int(params.get("codebook_size", default.codebook_size)),
        enc_ratios=tuple(params.get("enc_ratios", default.enc_ratios)),
        enc_strides=tuple(params.get("enc_strides", default.enc_strides)),
        bias=bool(params.get("bias", default.bias)),
    )


def _vocoder_config(config: dict[str, Any], source: str) -> Any:
    """The vocoder's layout; missing keys take the official ``HiFiGAN`` class defaults."""
    from .audiodec_model import VocoderConfig

    if config.get("model_type") != "HiFiGAN":
        raise CheckpointMismatchError(
            f"{source}: model_type {config.get('model_type')!r} is not AudioDec's HiFiGAN vocoder"
        )
    params = config["generator_params"]
    _require(
        params, source, out_channels=1, nonlinear_activation="LeakyReLU", use_additional_convs=True
    )
    kernels = params.get("resblock_kernel_sizes", [3, 7, 11])
    dilations = params.get("resblock_dilations", [[1, 3, 5]] * 3)
    groups = int(params.get("groups", 1))
    if len(kernels) != 1 or len(dilations) != 1 or groups < 2:
        raise CheckpointMismatchError(
            f"{source}: a vocoder with resblock kernels {kernels} and groups {groups}; codecfake "
            "runs the released multi-group layout (one kernel, groups > 1)"
        )
    scales = tuple(params.get("upsample_scales", (8, 8, 2, 2)))
    kernel_sizes = tuple(params.get("upsample_kernel_sizes", (16, 16, 4, 4)))
    if kernel_sizes != tuple(2 * scale for scale in scales):
        raise CheckpointMismatchError(
            f"{source}: upsample_kernel_sizes {list(kernel_sizes)} are not twice the "
            f"upsample_scales {list(scales)}, as AudioDec's causal vocoder requires"
        )
    activation = params.get("nonlinear_activation_params", {"negative_slope": 0.1})
    return VocoderConfig(
        in_channels=int(params.get("in_channels", 80)),
        channels=int(params.get("channels", 512)),
        kernel_size=int(params.get("kernel_size", 7)),
        upsample_scales=scales,
        upsample_kernel_sizes=kernel_sizes,
        resblock_kernel_size=int(kernels[0]),
        resblock_dilations=tuple(dilations[0]),
        groups=groups,
        bias=bool(params.get("bias", True)),
        slope=float(activation.get("negative_slope", 0.01)),
        normalized=params.get("stats") is not None,
    )


def _pretrained(checkpoint: str | None, condition: str, streaming: bool) -> tuple[Any, int]:
    """The released pair as one model, and its rate."""
    from .audiodec_model import AudioDec
    from .released_weights import load_matching, read_checkpoint, state_dict_at

    analyzer_file, vocoder_file = _release_files(checkpoint, condition)
    sources = {file: f"{condition}: {file}" for file in (analyzer_file, vocoder_file)}
    configs = {file: _read_config(file.parent / CONFIG_NAME, condition) for file in sources}
    analyzer = _analyzer_config(configs[analyzer_file], f"{condition}: {analyzer_file.parent}")
    vocoder = _vocoder_config(configs[vocoder_file], f"{condition}: {vocoder_file.parent}")
    rates = {int(config.get("sampling_rate", 0)) for config in configs.values()}
    if (
        len(rates) != 1
        or vocoder.in_channels != analyzer.code_dim
        or math.prod(vocoder.upsample_scales) != math.prod(analyzer.enc_strides)
    ):
        raise CheckpointMismatchError(
            f"{condition}: the encoder in {analyzer_file.parent} and the vocoder in "
            f"{vocoder_file.parent} do not pair (rates {sorted(rates)}, code size "
            f"{analyzer.code_dim} vs {vocoder.in_channels}, hop {math.prod(analyzer.enc_strides)} "
            f"vs {math.prod(vocoder.upsample_scales)}); {REMEDY}"
        )
    model = AudioDec(analyzer, vocoder, streaming=streaming)
    for part, file, ignored in (
        (model.analyzer, analyzer_file, unused_by_inference),
        (model.vocoder, vocoder_file, lambda key: False),
    ):
        state = state_dict_at(
            read_checkpoint(file, condition), ("model", "generator"), sources[file]
        )
        load_matching(part, state, sources[file], REMEDY, ignored)
    return model, rates.pop()


def random_configs(size: str) -> tuple[Any, Any]:
    """The released architecture (``full``) or a narrower one (``small``: same rate, hop and
    codebooks), as (analyzer, vocoder) configs."""
    from .audiodec_model import AnalyzerConfig, VocoderConfig

    analyzer, vocoder = AnalyzerConfig(), VocoderConfig()
    if size == "small":
        analyzer = replace(analyzer, encode_channels=4, code_dim=16)
        vocoder = replace(vocoder, channels=48, in_channels=16)
    return analyzer, vocoder


def build(
    spec: CodecSpec,
    checkpoint: str | None,
    weights: str,
    device: str,
    seed: int,
    size: str = "small",
) -> CodebookCodec:
    """Load ``spec``'s AudioDec (the factory :func:`~codecfake_builder.codecs.load_codec` calls)."""
    require_torch(f"{spec.condition} (AudioDec)")
    path = spec.options.get("path", PATHS[0])
    if path not in PATHS:
        raise CodecSpecError(
            f"{spec.condition}: AudioDec's inference path is {' or '.join(PATHS)}, not {path!r}"
        )
    streaming = path == "demo"
    if weights == "pretrained":
        model, rate = _pretrained(checkpoint, spec.condition, streaming)
    else:
        from .audiodec_model import AudioDec

        configs = random_configs(size)
        model = build_seeded(lambda: AudioDec(*configs, streaming=streaming), seed)
        rate = SAMPLE_RATE
    quantizer = model.analyzer.quantizer
    spec = resolve_spec(
        spec,
        checkpoint,
        rate=rate,
        hop=model.hop,
        codebooks=len(quantizer.layers),
        codebook_size=quantizer.layers[0].embed.shape[1],
    )
    codec = make_codec(
        spec,
        model,
        causal=True,
        weights=weights,
        seed=seed,
        device=device,
        size=size,
        backend="codecfake.audiodec",
        inference=path,
        priming_samples=PRIMING_SAMPLES if streaming else 0,
        licence=FAMILIES["audiodec"].licence,
    )
    codec.model.prepare(PRIMING_SAMPLES)  # after make_codec: the weights hash excludes priming
    log.info("%s: AudioDec ready on %s (%s path)", spec.condition, codec.device, path)
    return codec
