"""The W2V2 front-end: frozen XLS-R hidden state 5, from a transformers ``Wav2Vec2Model``.

Only the first five transformer layers are kept: hidden state 5 does not depend on the other 19,
so running them would spend about 4/5 of the compute on nothing. The identity with the full
model's ``hidden_states[5]`` is tested, for both encoder variants.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch

import codecfake
from codecfake_core.hub import require_hub_model

from ..cut import OFFICIAL_INPUT_SAMPLES

HIDDEN_STATE = 5
NORM_EPS = 1e-7  # Wav2Vec2FeatureExtractor's zero-mean unit-variance normalisation

logger = logging.getLogger("codecfake")


def load_wav2vec2(ssl: str) -> torch.nn.Module:
    """``Wav2Vec2Model.from_pretrained(ssl)``, with a user error when it cannot be had."""
    from transformers import Wav2Vec2Model

    require_hub_model(ssl, "--ssl")
    try:
        return Wav2Vec2Model.from_pretrained(ssl)
    except (OSError, ValueError) as error:
        where = "local directory" if Path(ssl).exists() else "Hub id"
        raise codecfake.CodecfakeError(
            f"--ssl {ssl!r} ({where}): cannot load a Wav2Vec2Model: {error}. Give a Hub id such "
            "as facebook/wav2vec2-xls-r-300m (cached, or with network), or a directory written "
            "by save_pretrained"
        ) from error


def truncate(model: torch.nn.Module, layers: int = HIDDEN_STATE) -> torch.nn.Module:
    """Keep the first ``layers`` transformer layers, so ``last_hidden_state`` is hidden state 5.

    The stable-layer-norm encoder (XLS-R's) applies its ``layer_norm`` after the last layer, and
    ``hidden_states[5]`` of the full model is taken before it, so it goes. The other encoder
    normalises before the first layer, which the hidden state includes, so it stays. An adapter,
    if any, also runs after the encoder and goes too.
    """
    from transformers.models.wav2vec2.modeling_wav2vec2 import Wav2Vec2EncoderStableLayerNorm

    total = len(model.encoder.layers)
    if total < layers:
        raise codecfake.CodecfakeError(
            f"the SSL model has {total} transformer layers; hidden state {layers} needs {layers}"
        )
    model.encoder.layers = model.encoder.layers[:layers]
    model.config.num_hidden_layers = layers
    if isinstance(model.encoder, Wav2Vec2EncoderStableLayerNorm):
        model.encoder.layer_norm = torch.nn.Identity()
    model.adapter = None
    return model


class SSLFrontend(torch.nn.Module):
    """Waveform (B, samples) at 16 kHz -> (B, 1, 1024, frames): (B, 1, 1024, 201) for 64,600.

    Frozen and always in eval mode (no dropout, no SpecAugment masking), whatever ``train()``
    says, because the paper trains the back-end on fixed features.
    """

    def __init__(self, ssl: str) -> None:
        super().__init__()
        self.ssl = ssl
        self.model = truncate(load_wav2vec2(ssl))
        self.model.requires_grad_(False)
        self.model.eval()
        frames = int(self.model._get_feat_extract_output_lengths(OFFICIAL_INPUT_SAMPLES))
        self.output_shape = (self.model.config.hidden_size, frames)
        """The back-end's input (features, frames) for the official cut: (1024, 201) for XLS-R."""

    def train(self, mode: bool = True) -> SSLFrontend:
        return super().train(False)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        mean = waveform.mean(dim=1, keepdim=True)
        variance = waveform.var(dim=1, keepdim=True, unbiased=False)
        normalised = (waveform - mean) / torch.sqrt(variance + NORM_EPS)
        with torch.no_grad():
            hidden = self.model(normalised).last_hidden_state  # (B, frames, 1024)
        # The authors store (1, frames, 1024) and their trainer swaps the last two axes.
        return hidden.transpose(1, 2).unsqueeze(1)
