"""HiFi-Codec (AcademiCodec) in torch: encoder, group residual VQ and HiFi-GAN generator, with
the official module names so that the released ``{'encoder', 'quantizer', 'generator'}`` state
dicts load by name.

The encoder mirrors the generator: the same residual blocks in reverse kernel order, strided
convolutions in place of the transposed ones, and a GroupNorm (over channels *and time*) on the
running sum of each stage's blocks. That normalisation is why a clip must be coded at its own
length: padding would change every frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional

from .hifigan_layers import ResBlock, Stage, residual_quantize

SLOPE = 0.1
"""HiFi-GAN's leaky ReLU slope; only the encoder's very last activation uses torch's 0.01."""


@dataclass(frozen=True)
class HiFiCodecConfig:
    """The published ``config_24k_320d.json`` (architecture keys) plus the two widths the code
    hard-codes: ``encoder_width`` (``conv_pre``'s channels) and ``latent_dim`` (the codes' vector
    size, split evenly between the ``n_code_groups`` groups)."""

    upsample_rates: tuple[int, ...] = (8, 5, 4, 2)
    upsample_kernel_sizes: tuple[int, ...] = (16, 11, 8, 4)
    upsample_initial_channel: int = 512
    resblock_kernel_sizes: tuple[int, ...] = (3, 7, 11)
    resblock_dilation_sizes: tuple[tuple[int, ...], ...] = ((1, 3, 5),) * 3
    n_code_groups: int = 2
    n_codes: int = 1024
    encoder_width: int = 32
    latent_dim: int = 512

    @property
    def hop(self) -> int:
        return math.prod(self.upsample_rates)


def padded_conv(channels: int, kernel_size: int, dilation: int) -> nn.Conv1d:
    """A length-keeping convolution (zero padding on both sides)."""
    return nn.Conv1d(
        channels,
        channels,
        kernel_size,
        dilation=dilation,
        padding=(kernel_size - 1) * dilation // 2,
    )


def _stage_blocks(channels: int, kernels: tuple[int, ...], dilations: tuple) -> list[ResBlock]:
    return [
        ResBlock(channels, k, d, SLOPE, padded_conv)
        for k, d in zip(kernels, dilations, strict=True)
    ]


class Encoder(nn.Module):
    def __init__(self, config: HiFiCodecConfig) -> None:
        super().__init__()
        width = config.encoder_width
        self.conv_pre = nn.Conv1d(1, width, 7, padding=3)
        strides = list(zip(config.upsample_rates, config.upsample_kernel_sizes, strict=True))[::-1]
        self.ups = nn.ModuleList(
            nn.Conv1d(width * 2**i, width * 2 ** (i + 1), k, u, padding=(k - u) // 2)
            for i, (u, k) in enumerate(strides)
        )
        kernels = config.resblock_kernel_sizes[::-1]
        dilations = config.resblock_dilation_sizes[::-1]
        self.resblocks = nn.ModuleList()
        self.normalize = nn.ModuleList()
        for i in range(len(self.ups)):
            channels = width * 2 ** (i + 1)
            self.resblocks.extend(_stage_blocks(channels, kernels, dilations))
            self.normalize.extend(nn.GroupNorm(channels // 16, channels, eps=1e-6) for _ in kernels)
        self.conv_post = nn.Conv1d(width * 2 ** len(self.ups), config.latent_dim, 3, padding=1)
        self.blocks_per_stage = len(kernels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv_pre(x)
        for i, down in enumerate(self.ups):
            x = down(functional.leaky_relu(x, SLOPE))
            first = i * self.blocks_per_stage
            total = self.normalize[first](self.resblocks[first](x))
            for j in range(first + 1, first + self.blocks_per_stage):
                total = self.normalize[j](total + self.resblocks[j](x))
            x = total / self.blocks_per_stage
        return self.conv_post(functional.leaky_relu(x))  # torch's default slope, 0.01, as released


class Codebook(nn.Module):
    """One group's entries (``embedding.weight``: entries x group dim)."""

    def __init__(self, size: int, dim: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(size, dim)

    def nearest(self, x: torch.Tensor) -> torch.Tensor:
        """The nearest entry's index for each row of ``x`` ``(N, dim)``, by the official
        arithmetic: the smallest ``|x|^2 + |e|^2 - 2 x.e``."""
        table = self.embedding.weight
        distance = (
            torch.sum(x**2, 1, keepdim=True) + torch.sum(table**2, 1) - 2 * torch.matmul(x, table.T)
        )
        return torch.argmin(distance, 1)


class GroupResidualQuantizer(nn.Module):
    """Two residual stages (``quantizer_modules``, ``quantizer_modules2``), each splitting a
    vector into ``n_code_groups`` equal parts with a codebook apiece."""

    def __init__(self, config: HiFiCodecConfig) -> None:
        super().__init__()
        dim = config.latent_dim // config.n_code_groups
        groups = range(config.n_code_groups)
        self.quantizer_modules = nn.ModuleList(Codebook(config.n_codes, dim) for _ in groups)
        self.quantizer_modules2 = nn.ModuleList(Codebook(config.n_codes, dim) for _ in groups)

    @property
    def stages(self) -> list[list[Codebook]]:
        return [list(self.quantizer_modules), list(self.quantizer_modules2)]  # type: ignore[arg-type]

    @staticmethod
    def _stage(books: list[Codebook]) -> Stage:
        def quantize(x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
            parts = torch.split(x, x.shape[-1] // len(books), dim=-1)
            indices = [book.nearest(part) for book, part in zip(books, parts, strict=True)]
            entries = [book.embedding(i) for book, i in zip(books, indices, strict=True)]
            return torch.cat(entries, dim=-1), indices

        return quantize

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        """``latent`` (B, dim, F) -> codes (B, stages x groups, F), ordered stage by stage."""
        batch, dim, frames = latent.shape
        rows = latent.transpose(1, 2).reshape(-1, dim)
        codes = residual_quantize(rows, [self._stage(books) for books in self.stages])
        return torch.stack(codes, dim=1).reshape(batch, frames, -1).transpose(1, 2)

    def embed(self, codes: torch.Tensor) -> torch.Tensor:
        """codes (B, stages x groups, F) -> the sum over stages of the groups' entries side by
        side, (B, dim, F)."""
        vectors = []
        for s, books in enumerate(self.stages):
            columns = codes[:, s * len(books) : (s + 1) * len(books)]
            vectors.append(torch.cat([b.embedding(columns[:, g]) for g, b in enumerate(books)], -1))
        return sum(vectors[1:], vectors[0]).transpose(1, 2)


class Generator(nn.Module):
    """HiFi-GAN V1's generator: latent (B, dim, F) -> audio (B, F * hop) in [-1, 1]."""

    def __init__(self, config: HiFiCodecConfig) -> None:
        super().__init__()
        width = config.upsample_initial_channel
        self.conv_pre = nn.Conv1d(config.latent_dim, width, 7, padding=3)
        self.ups = nn.ModuleList(
            nn.ConvTranspose1d(width // 2**i, width // 2 ** (i + 1), k, u, padding=(k - u) // 2)
            for i, (u, k) in enumerate(
                zip(config.upsample_rates, config.upsample_kernel_sizes, strict=True)
            )
        )
        self.resblocks = nn.ModuleList()
        for i in range(len(self.ups)):
            self.resblocks.extend(
                _stage_blocks(
                    width // 2 ** (i + 1),
                    config.resblock_kernel_sizes,
                    config.resblock_dilation_sizes,
                )
            )
        self.conv_post = nn.Conv1d(width // 2 ** len(self.ups), 1, 7, padding=3)
        self.blocks_per_stage = len(config.resblock_kernel_sizes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv_pre(x)
        for i, up in enumerate(self.ups):
            x = up(functional.leaky_relu(x, SLOPE))
            first = i * self.blocks_per_stage
            total = self.resblocks[first](x)
            for j in range(first + 1, first + self.blocks_per_stage):
                total = total + self.resblocks[j](x)
            x = total / self.blocks_per_stage
        x = self.conv_post(functional.leaky_relu(x, SLOPE))
        return torch.tanh(x)[:, 0]


class HiFiCodec(nn.Module):
    """Encoder, quantizer and generator as one codec model."""

    def __init__(self, config: HiFiCodecConfig) -> None:
        super().__init__()
        self.encoder = Encoder(config)
        self.quantizer = GroupResidualQuantizer(config)
        self.generator = Generator(config)
        self.hop = config.hop

    def encode(self, audio: torch.Tensor) -> torch.Tensor:
        """audio (B, 1, T) -> codes (B, 4, F): stage 1 groups 0, 1, then stage 2 groups 0, 1."""
        return self.quantizer(self.encoder(audio))

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """codes (B, 4, F) -> audio (B, F * hop)."""
        return self.generator(self.quantizer.embed(codes))
