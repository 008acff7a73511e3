"""A complete codec plugin, as a user would write one for a family codecfake does not ship.

It is a real (tiny) neural codec: a strided conv encoder, a two-stage residual vector quantiser
and a transposed-conv decoder, with seeded random weights. The test suite registers it through a
real entry point; docs/codecs.md ('Families of your own') shows the same shape.
"""

from __future__ import annotations

import torch
from torch import nn

from codecfake_builder.codecs.base import CodecSpec
from codecfake_builder.codecs.neural import NeuralCodec, build_seeded, wrap_model

HOP = 8


class TinyRVQCodec(nn.Module):
    def __init__(self, stages: int = 2, codebook: int = 16, width: int = 8) -> None:
        super().__init__()
        self.encoder = nn.Conv1d(1, width, kernel_size=HOP, stride=HOP)
        self.codebooks = nn.Parameter(torch.randn(stages, codebook, width))
        self.decoder = nn.ConvTranspose1d(width, 1, kernel_size=HOP, stride=HOP)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        latent = self.encoder(audio).transpose(1, 2)  # (batch, frames, width)
        residual, quantized = latent, torch.zeros_like(latent)
        for book in self.codebooks:
            nearest = book[torch.cdist(residual, book.expand(len(residual), -1, -1)).argmin(-1)]
            quantized, residual = quantized + nearest, residual - nearest
        return self.decoder(quantized.transpose(1, 2))[:, 0]


def make_codec(
    spec: CodecSpec, checkpoint: str | None, weights: str, device: str, seed: int
) -> NeuralCodec:
    """The entry point's factory: ``codecfake.codecs: tinyrvq = this_module:make_codec``."""
    model = build_seeded(TinyRVQCodec, seed)
    if weights == "pretrained":
        model.load_state_dict(torch.load(checkpoint, map_location="cpu", weights_only=True))
    return wrap_model(
        spec,
        model,
        hop=HOP,
        forward=lambda m, audio: m(audio),
        weights=weights,
        seed=seed,
        device=device,
        backend="tiny RVQ example plugin",
    )
