"""C1 SoundStream, C2 SpeechTokenizer and C3 FunCodec: EnCodec-style SEANet codecs on
transformers' ``EncodecModel``.

None of these families has a package that installs beside current torch. All publish Meta's
encodec SEANet encoder/decoder (non-causal, reflect padding, weight norm or ``time_group_norm``,
conv shortcuts, a two-layer LSTM, compress 2) with a residual VQ over ``embed`` codebooks: exactly
the layers of transformers' ``EncodecModel``, except SpeechTokenizer's encoder LSTM, which reads
both ways (:mod:`.seanet_bilstm`). So codecfake maps their published weights onto it
(:mod:`.seanet_weights`) and runs no code of theirs. A :class:`SeanetFamily` value holds all that
differs between them: how its files are read, where its codebooks are, its default sizes.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch

from codecfake_core.environment import resolve_device

from ..base import CodecSpec
from ..errors import CheckpointLoadError, CodecSpecError
from ..neural import build_seeded, model_provenance, resolve_quantizers
from ..registry import FAMILIES
from .seanet_bilstm import make_bidirectional
from .seanet_codec import SeanetCodec, bandwidth
from .seanet_weights import QuantizerSlot, fold_weight_norm, load_official
from .transformers_codecs import require_transformers

log = logging.getLogger("codecfake")


@dataclass(frozen=True)
class SeanetLayout:
    """The architecture of one SEANet codec: what its tensors' shapes and its config fix."""

    sample_rate: int
    n_filters: int
    dimension: int
    codebooks: int
    norm: str  # "weight_norm" (SoundStream) or "time_group_norm" (FunCodec)
    ratios: tuple[int, ...] = (8, 5, 4, 2)
    lstm_layers: int = 2
    codebook_size: int = 1024
    bidirectional: bool = False  # the encoder's LSTM (SpeechTokenizer); the decoder's never is

    @property
    def hop(self) -> int:
        return math.prod(self.ratios)

    @property
    def sees_whole_clip(self) -> bool:
        """Whether padding would reach every frame of a clip: GroupNorm statistics over the whole
        time axis, or an LSTM that also runs backwards from the clip's end."""
        return self.norm == "time_group_norm" or self.bidirectional

    def config(self) -> Any:
        """The ``EncodecConfig`` of this layout (normalisation is :class:`SeanetCodec`'s job)."""
        frame_rate = math.ceil(self.sample_rate / self.hop)
        top_kbps = self.codebooks * frame_rate * math.log2(self.codebook_size) / 1000
        return require_transformers().EncodecConfig(
            sampling_rate=self.sample_rate,
            num_filters=self.n_filters,
            hidden_size=self.dimension,
            upsampling_ratios=list(self.ratios),
            norm_type=self.norm,
            use_causal_conv=False,
            pad_mode="reflect",
            num_lstm_layers=self.lstm_layers,
            codebook_size=self.codebook_size,
            target_bandwidths=[top_kbps],
            normalize=False,
        )


@dataclass(frozen=True)
class Checkpoint:
    """A family's published checkpoint as read: its inference tensors under their own names, the
    architecture its files declare, whether it normalises its input, and the file to blame."""

    source: Path
    state: dict[str, torch.Tensor]
    layout: SeanetLayout
    normalize: bool


@dataclass(frozen=True)
class SeanetFamily:
    """What one SEANet family brings: its name in messages, its random-weights sizes (``full``
    is the released architecture), its normalisation, its codebook naming and its reader."""

    name: str
    display: str
    full: SeanetLayout
    small: SeanetLayout
    normalize: bool
    quantizer: QuantizerSlot
    read: Callable[[str], Checkpoint]

    def build(
        self,
        spec: CodecSpec,
        checkpoint: str | None,
        weights: str,
        device: str,
        seed: int,
        size: str = "small",
    ) -> SeanetCodec:
        """Load ``spec``'s codec of this family: the factory :func:`load_codec` calls (each
        family module exposes it as its ``build``)."""
        return build_codec(self, spec, checkpoint, weights, device, seed, size)


def fetch_hint(family: str) -> str:
    """Where a family's released checkpoint is published, for messages."""
    return FAMILIES[family].checkpoint_url or "its authors' release"


PROBE_RMS = 0.1
"""The level of the seeded noise that random codebooks are drawn around (speech is about this)."""


def new_model(layout: SeanetLayout) -> Any:
    """``layout``'s ``EncodecModel`` with transformers' initial weights, its encoder LSTM
    bidirectional where the layout says so."""
    model = require_transformers().EncodecModel(layout.config())
    if layout.bidirectional:
        make_bidirectional(model.encoder, model.config)
    return model


def random_model(layout: SeanetLayout, seed: int) -> Any:
    """``layout``'s ``EncodecModel`` with seeded random weights and codebooks.

    transformers leaves codebooks at zero (training initialises them from the first batch), and
    codebooks drawn around zero sit far from the random encoder's latents, so every frame would
    get the same code. Each codebook is therefore drawn around what it quantizes: the per-channel
    mean and spread of the residual that one second of seeded noise leaves at that layer. Codes,
    hence the decoded audio, then depend on the input, as a trained codec's do.
    """

    def build() -> Any:
        model = new_model(layout)
        probe = PROBE_RMS * torch.randn(1, 1, layout.sample_rate)
        with torch.no_grad():
            residual = model.encoder(probe)  # (1, dimension, frames)
            for layer in model.quantizer.layers:
                frames = residual[0].T
                book = layer.codebook
                book.embed.copy_(frames.mean(0) + torch.randn_like(book.embed) * frames.std(0))
                book.embed_avg.copy_(book.embed)
                book.cluster_size.fill_(1.0)
                book.inited.fill_(1.0)
                residual = residual - layer.decode(layer.encode(residual))
        return model

    return build_seeded(build, seed)


def pretrained_model(family: SeanetFamily, checkpoint: Checkpoint) -> Any:
    """``checkpoint``'s architecture carrying its weights, every key and shape checked."""
    model = new_model(checkpoint.layout)
    load_official(
        model,
        checkpoint.state,
        family.quantizer,
        source=checkpoint.source,
        remedy=(
            f"this is not the released {family.display} checkpoint (or it is damaged): "
            f"re-download it from {fetch_hint(family.name)}"
        ),
    )
    return model


def build_codec(
    family: SeanetFamily,
    spec: CodecSpec,
    checkpoint: str | None,
    weights: str,
    device: str,
    seed: int,
    size: str,
) -> SeanetCodec:
    """Load ``spec``'s codec of ``family`` (:meth:`SeanetFamily.build`)."""
    if weights == "pretrained":
        if checkpoint is None:
            raise CheckpointLoadError(
                f"{spec.condition} needs the {family.display} checkpoint, which codecfake does "
                f"not download: fetch it from {fetch_hint(family.name)} and pass its path, "
                f"--checkpoint {spec.condition}=PATH"
            )
        read = family.read(checkpoint)
        layout, normalize = read.layout, read.normalize
        model = pretrained_model(family, read)
    else:
        layout = family.small if size == "small" else family.full
        normalize = family.normalize
        model = random_model(layout, seed)
    fold_weight_norm(model)
    spec = resolve_quantizers(
        replace(spec, checkpoint=checkpoint),
        sample_rate=layout.sample_rate,
        hop=layout.hop,
        codebook_size=layout.codebook_size,
        max_quantizers=layout.codebooks,
    )
    used = model.quantizer.get_num_quantizers_for_bandwidth(bandwidth(model.config, spec))
    if used != spec.quantizers:  # a frame rate whose kbps does not round-trip exactly
        raise CodecSpecError(
            f"{spec.condition}: {spec.quantizers} quantizers at {layout.hop}-sample frames cannot "
            f"be asked of EncodecModel's quantizer (it would use {used})"
        )
    device = resolve_device(device)
    model = model.to(device).eval()
    record = model_provenance(
        spec,
        model,
        weights=weights,
        seed=seed,
        backend=f"transformers.EncodecModel ({family.display} weights)",
        size=size,
        packages=("transformers",),
    )
    log.debug("%s: %s on %s, %s", spec.condition, family.display, device, layout)
    return SeanetCodec(spec, model, normalize, layout.sees_whole_clip, device, record)
