"""AudioDec in torch: the causal analyzer (encoder, projector, residual VQ) of ``symAudioDec`` and
its causal multi-group HiFi-GAN vocoder, with the official module names so that the released
``['model']['generator']`` state dicts load by name.

Streaming state. Every causal layer holds its left context in a ``pad_buffer`` (a state-dict
buffer, as in the released files): a convolution of kernel ``k`` and dilation ``d`` keeps
``(k - 1) * d`` input samples, a transposed one ``ceil(k / s) - 1`` input frames. The official demo
*primes* the model once before coding a file: it encodes 8192 zeros and decodes their codes, each
layer ending with the last samples of what it saw as its context (:meth:`AudioDec.prepare`).
Here that primed context is then only read, never advanced: every call starts from it, so each
clip is coded as the demo codes a file after a fresh load, whatever came before it or beside it in
a batch. ``AudioDec(..., streaming=False)`` is the official non-streaming ``forward`` of
``codecTest.py`` instead: zero context, and transposed layers padded by repeating their first
frame.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional

from .hifigan_layers import ResBlock, residual_quantize


@dataclass(frozen=True)
class AnalyzerConfig:
    """The analyzer's ``generator_params`` (defaults: ``symAD_libritts_24000_hop300``)."""

    encode_channels: int = 32
    code_dim: int = 64
    codebook_num: int = 8
    codebook_size: int = 1024
    enc_ratios: tuple[int, ...] = (2, 4, 8, 16)
    enc_strides: tuple[int, ...] = (3, 4, 5, 5)
    bias: bool = True


@dataclass(frozen=True)
class VocoderConfig:
    """The vocoder's ``generator_params`` (defaults: ``AudioDec_v1_symAD_libritts_24000_hop300``).

    ``normalized``: the input is standardised by the ``mean`` and ``scale`` buffers (a ``stats``
    file in the config)."""

    in_channels: int = 64
    channels: int = 512
    kernel_size: int = 7
    upsample_scales: tuple[int, ...] = (5, 5, 4, 3)
    upsample_kernel_sizes: tuple[int, ...] = (10, 10, 8, 6)
    resblock_kernel_size: int = 11
    resblock_dilations: tuple[int, ...] = (1, 3, 5)
    groups: int = 3
    bias: bool = True
    slope: float = 0.1
    normalized: bool = True


class _Causal(nn.Module):
    """A layer whose left context is its ``pad_buffer`` (``(1, C_in, context)``)."""

    pad_buffer: torch.Tensor

    def __init__(self, in_channels: int, context: int) -> None:
        super().__init__()
        self.register_buffer("pad_buffer", torch.zeros(1, in_channels, context))

    def with_context(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat((self.pad_buffer.expand(len(x), -1, -1), x), dim=-1)

    def remember(self, x: torch.Tensor) -> None:
        """Advance the context past ``x``, as the official streaming ``inference`` does."""
        seen = self.with_context(x)
        self.pad_buffer = seen[..., seen.shape[-1] - self.pad_buffer.shape[-1] :].clone()


class CausalConv1d(_Causal):
    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        *,
        stride: int = 1,
        dilation: int = 1,
        groups: int = 1,
        bias: bool = True,
    ) -> None:
        super().__init__(in_channels, (kernel_size - 1) * dilation)
        self.conv = nn.Conv1d(
            in_channels,
            out_channels,
            kernel_size,
            stride=stride,
            dilation=dilation,
            groups=groups,
            bias=bias,
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(self.with_context(x))


class CausalConvTranspose1d(_Causal):
    """Upsampling by ``stride``: ``stride`` output samples per input frame, none ahead of it."""

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int, stride: int, replicate: bool
    ) -> None:
        super().__init__(in_channels, math.ceil(kernel_size / stride) - 1)
        self.deconv = nn.ConvTranspose1d(in_channels, out_channels, kernel_size, stride)
        self.stride = stride
        self.replicate = replicate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.replicate:
            padded = functional.pad(x, (self.pad_buffer.shape[-1], 0), mode="replicate")
        else:
            padded = self.with_context(x)
        return self.deconv(padded)[..., self.stride : -self.stride]


@contextmanager
def _remembering(model: nn.Module) -> Iterator[None]:
    """Within: each causal layer of ``model`` advances its context after every call."""

    def hook(layer: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        layer.remember(inputs[0])  # type: ignore[operator]

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, _Causal)]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


class ResidualUnit(nn.Module):
    """``x + conv2(elu(conv1(elu(x))))``: a dilated causal conv, then a 1x1 one, no biases."""

    def __init__(self, channels: int, dilation: int) -> None:
        super().__init__()
        self.conv1 = CausalConv1d(channels, channels, 7, dilation=dilation, bias=False)
        self.conv2 = nn.Conv1d(channels, channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(functional.elu(self.conv1(functional.elu(x))))


class EncoderBlock(nn.Module):
    """Three residual units (dilations 1, 3, 9), then a strided causal conv (kernel 2 * stride)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, bias: bool) -> None:
        super().__init__()
        self.res_units = nn.ModuleList(ResidualUnit(in_channels, d) for d in (1, 3, 9))
        self.conv = CausalConv1d(in_channels, out_channels, 2 * stride, stride=stride, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for unit in self.res_units:
            x = unit(x)
        return self.conv(x)


class Encoder(nn.Module):
    def __init__(self, config: AnalyzerConfig) -> None:
        super().__init__()
        width = config.encode_channels
        self.conv = CausalConv1d(1, width, 7, bias=False)
        widths = [width, *(width * ratio for ratio in config.enc_ratios)]
        self.conv_blocks = nn.ModuleList(
            EncoderBlock(widths[i], widths[i + 1], stride, config.bias)
            for i, stride in enumerate(config.enc_strides)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        for block in self.conv_blocks:
            x = block(x)
        return x


class Projector(nn.Module):
    def __init__(self, in_channels: int, code_dim: int) -> None:
        super().__init__()
        self.project = CausalConv1d(in_channels, code_dim, 3, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.project(x)


class Codebook(nn.Module):
    """One VQ layer's entries, stored as the release stores them: ``embed`` is (dim, entries)."""

    embed: torch.Tensor

    def __init__(self, dim: int, size: int) -> None:
        super().__init__()
        self.register_buffer("embed", torch.randn(dim, size))

    def nearest(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """The nearest entry to each row of ``x`` ``(N, dim)``, by the official arithmetic:
        the largest ``-(|x|^2 - 2 x.E + |E|^2)``."""
        distance = (
            x.pow(2).sum(1, keepdim=True)
            - 2 * x @ self.embed
            + self.embed.pow(2).sum(0, keepdim=True)
        )
        indices = (-distance).max(1).indices
        return functional.embedding(indices, self.embed.t()), [indices]


class Quantizer(nn.Module):
    """Residual VQ over ``codebook.layers`` (the released key names)."""

    def __init__(self, config: AnalyzerConfig) -> None:
        super().__init__()
        layers = (
            Codebook(config.code_dim, config.codebook_size) for _ in range(config.codebook_num)
        )
        self.codebook = nn.ModuleDict({"layers": nn.ModuleList(layers)})

    @property
    def layers(self) -> list[Codebook]:
        return list(self.codebook["layers"])  # type: ignore[arg-type]

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """``z`` (B, dim, F) -> codes (B, codebooks, F), each layer's own indices."""
        batch, dim, frames = z.shape
        rows = z.transpose(1, 2).reshape(-1, dim)
        codes = residual_quantize(rows, [layer.nearest for layer in self.layers])
        return torch.stack(codes, dim=1).reshape(batch, frames, -1).transpose(1, 2)

    def lookup(self, codes: torch.Tensor) -> torch.Tensor:
        """codes (B, codebooks, F) -> the sum of their entries, (B, F, dim)."""
        entries = [
            functional.embedding(codes[:, k], layer.embed.t())
            for k, layer in enumerate(self.layers)
        ]
        return torch.stack(entries, dim=1).sum(dim=1)


class Analyzer(nn.Module):
    """The ``symAudioDec`` generator's coding half: ``encoder``, ``projector``, ``quantizer``."""

    def __init__(self, config: AnalyzerConfig) -> None:
        super().__init__()
        self.encoder = Encoder(config)
        self.projector = Projector(config.encode_channels * config.enc_ratios[-1], config.code_dim)
        self.quantizer = Quantizer(config)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        """audio (B, 1, T) -> codes (B, codebooks, ceil(T / hop))."""
        return self.quantizer(self.projector(self.encoder(audio)))


class GroupedResBlock(ResBlock):
    """AudioDec's multi-group block: the input repeated ``groups`` times, one causal grouped
    residual block over all copies, then a 1x1 conv (``conv_out``) back to ``channels``."""

    def __init__(self, channels: int, config: VocoderConfig) -> None:
        def conv(width: int, kernel_size: int, dilation: int) -> nn.Module:
            return CausalConv1d(
                width, width, kernel_size, dilation=dilation, groups=config.groups, bias=config.bias
            )

        super().__init__(
            channels * config.groups,
            config.resblock_kernel_size,
            config.resblock_dilations,
            config.slope,
            conv,
        )
        self.groups = config.groups
        self.conv_out = nn.Conv1d(channels * config.groups, channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv_out(super().forward(x.repeat(1, self.groups, 1)))


class Vocoder(nn.Module):
    """AudioDec's causal HiFi-GAN: code vectors (B, F, dim) -> audio (B, F * hop) in [-1, 1]."""

    mean: torch.Tensor
    scale: torch.Tensor

    def __init__(self, config: VocoderConfig, replicate: bool) -> None:
        super().__init__()
        self.slope = config.slope
        if config.normalized:
            self.register_buffer("mean", torch.zeros(config.in_channels))
            self.register_buffer("scale", torch.ones(config.in_channels))
        self.normalized = config.normalized
        widths = [config.channels // 2**i for i in range(len(config.upsample_scales) + 1)]
        self.input_conv = CausalConv1d(config.in_channels, widths[0], config.kernel_size)
        self.upsamples = nn.ModuleList(
            CausalConvTranspose1d(widths[i], widths[i + 1], kernel, scale, replicate)
            for i, (scale, kernel) in enumerate(
                zip(config.upsample_scales, config.upsample_kernel_sizes, strict=True)
            )
        )
        self.blocks = nn.ModuleList(GroupedResBlock(width, config) for width in widths[1:])
        self.output_conv = CausalConv1d(widths[-1], 1, config.kernel_size)

    def forward(self, vectors: torch.Tensor) -> torch.Tensor:
        if self.normalized:
            vectors = (vectors - self.mean) / self.scale
        x = self.input_conv(vectors.transpose(1, 2))
        for upsample, block in zip(self.upsamples, self.blocks, strict=True):
            x = block(upsample(functional.leaky_relu(x, self.slope)))
        x = self.output_conv(functional.leaky_relu(x))  # the default slope, 0.01, as released
        return torch.tanh(x)[:, 0]


class AudioDec(nn.Module):
    """Analyzer and vocoder as one codec model: ``encode`` audio to codes, ``decode`` them."""

    def __init__(
        self, analyzer: AnalyzerConfig, vocoder: VocoderConfig, *, streaming: bool = True
    ) -> None:
        super().__init__()
        self.analyzer = Analyzer(analyzer)
        self.vocoder = Vocoder(vocoder, replicate=not streaming)
        self.streaming = streaming
        self.hop = math.prod(analyzer.enc_strides)

    def encode(self, audio: torch.Tensor) -> torch.Tensor:
        """audio (B, 1, T) -> codes (B, codebooks, ceil(T / hop)), each in 0..codebook_size-1."""
        return self.analyzer(audio)

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """codes (B, codebooks, F) -> audio (B, F * hop)."""
        return self.vocoder(self.analyzer.quantizer.lookup(codes))

    def prepare(self, priming_samples: int) -> None:
        """Set the context every call starts from. Streaming (the official demo): code
        ``priming_samples`` zeros and decode them, each causal layer keeping the end of what it
        saw. Not streaming (``codecTest.py``'s ``forward``): zeros, whatever the file held."""
        if not self.streaming:
            for layer in self.modules():
                if isinstance(layer, _Causal):
                    layer.pad_buffer.zero_()
            return
        device = self.analyzer.encoder.conv.pad_buffer.device
        with torch.no_grad():
            with _remembering(self.analyzer):
                codes = self.encode(torch.zeros(1, 1, priming_samples, device=device))
            vectors = self.analyzer.quantizer.lookup(codes)
            with _remembering(self.vocoder):
                self.vocoder(vectors)
