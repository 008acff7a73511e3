"""What the two HiFi-GAN-style codecs (AudioDec's vocoder, HiFi-Codec) share, in torch.

- :class:`ResBlock`: HiFi-GAN's residual block (its "ResBlock1"), with the convolution left to the
  caller, because AudioDec's is causal, grouped and streaming while HiFi-Codec's is zero-padded.
- :func:`fold_weight_norm`: both publish their weights with ``torch.nn.utils.weight_norm`` still on
  (``weight_g`` and ``weight_v`` per layer). Folding ``g * v / |v|`` once at load time is what the
  official inference computes on every call (AudioDec) or once (HiFi-Codec's
  ``remove_weight_norm``), and it keeps our layers plain, without torch's deprecated hooks.
- :func:`residual_quantize`: the residual vector quantiser's loop, in the official arithmetic.

transformers' HiFi-GAN generators (``SpeechT5HifiGan`` and its copies) are not used: they apply the
last leaky ReLU before ``conv_post`` with slope 0.01, HiFi-Codec's generator with 0.1, and none has
AudioDec's causal, grouped layout.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import torch
from torch import nn
from torch.nn import functional

ConvFactory = Callable[[int, int, int], nn.Module]
"""``(channels, kernel_size, dilation) -> module`` mapping ``(B, C, T)`` to ``(B, C, T)``."""

Stage = Callable[[torch.Tensor], tuple[torch.Tensor, list[torch.Tensor]]]
"""One quantiser stage: residual ``(..., dim)`` -> (its quantised value, its code index tensors)."""


class ResBlock(nn.Module):
    """HiFi-GAN's residual block: for each dilation ``d``,
    ``x = x + conv2(lrelu(conv1_d(lrelu(x))))``; ``conv2`` is undilated.

    The state-dict keys are the official ones (``convs1.N``, ``convs2.N``), so released weights load
    by name.
    """

    def __init__(
        self,
        channels: int,
        kernel_size: int,
        dilations: Iterable[int],
        slope: float,
        conv: ConvFactory,
    ) -> None:
        super().__init__()
        dilations = list(dilations)
        self.slope = slope
        self.convs1 = nn.ModuleList(conv(channels, kernel_size, d) for d in dilations)
        self.convs2 = nn.ModuleList(conv(channels, kernel_size, 1) for _ in dilations)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for conv1, conv2 in zip(self.convs1, self.convs2, strict=True):
            inner = conv1(functional.leaky_relu(x, self.slope))
            x = conv2(functional.leaky_relu(inner, self.slope)) + x
        return x


def weight_norm_gain_shape(weight_shape: Sequence[int]) -> tuple[int, ...]:
    """The shape of ``weight_g`` beside a ``weight_v`` of ``weight_shape`` (``weight_norm(dim=0)``:
    one gain per slice along the first axis, out channels for a Conv1d, in channels for a
    ConvTranspose1d)."""
    return (weight_shape[0], *(1 for _ in weight_shape[1:]))


def fold_weight_norm(gain: torch.Tensor, direction: torch.Tensor) -> torch.Tensor:
    """The plain weight that ``weight_g`` (``gain``) and ``weight_v`` (``direction``) stand for:
    ``g * v / |v|``, the norm taken over every axis but the first."""
    axes = tuple(range(1, direction.dim()))
    return direction * (gain / torch.linalg.vector_norm(direction, dim=axes, keepdim=True))


def residual_quantize(x: torch.Tensor, stages: Sequence[Stage]) -> list[torch.Tensor]:
    """The code indices of ``x`` through residual ``stages``, stage by stage.

    Each stage quantises what the previous ones left. The residual is updated in the official
    straight-through form, ``r - (r + (q - r))`` rather than ``r - q``: the two differ in the last
    bit, and a later stage's nearest code can hinge on it.
    """
    residual = x
    codes: list[torch.Tensor] = []
    for stage in stages:
        quantized, indices = stage(residual)
        residual = residual - (residual + (quantized - residual))
        codes.extend(indices)
    return codes
