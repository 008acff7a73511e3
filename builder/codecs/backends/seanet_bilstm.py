"""The one layer SpeechTokenizer changes in Meta's SEANet encoder: an LSTM that reads both ways.

SpeechTokenizer's encoder (``speechtokenizer/modules/seanet.py``, ``SEANetEncoder(...,
bidirectional=True)``) builds its ``SLSTM`` (``modules/lstm.py``) as ``nn.LSTM(C, C, layers,
bidirectional=True)``. Its output is ``2C`` wide and nothing narrows it: the skip connection adds
the input repeated twice along the channels (``[x, x]``), and the encoder's last convolution takes
``2C`` channels in. transformers' ``EncodecLSTM`` runs forward only and keeps ``C``, so
:func:`make_bidirectional` swaps in :class:`BidirectionalLSTM` and a ``2C``-input last convolution
(transformers' own ``EncodecConv1d``); the rest of ``EncodecEncoder`` is SEANet unchanged. The
decoder's LSTM is built with ``bidirectional=False`` in the same code, so it keeps
``EncodecLSTM``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


class BidirectionalLSTM(nn.Module):
    """``(batch, C, frames)`` -> ``(batch, 2C, frames)``: a bidirectional LSTM plus the input
    repeated twice along the channels. Its tensors are ``lstm.*`` (``*_reverse`` for the backward
    direction), the names ``SLSTM`` gives them."""

    def __init__(self, width: int, layers: int) -> None:
        super().__init__()
        self.lstm = nn.LSTM(width, width, layers, bidirectional=True)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        steps = hidden_states.permute(2, 0, 1)  # (frames, batch, C): nn.LSTM's default layout
        both_ways = self.lstm(steps)[0] + steps.repeat(1, 1, 2)
        return both_ways.permute(1, 2, 0)


def make_bidirectional(encoder: nn.Module, config: Any) -> None:
    """Turn transformers' ``EncodecEncoder`` (built from ``config``) into SpeechTokenizer's: its
    LSTM becomes :class:`BidirectionalLSTM`, its last convolution takes the doubled width."""
    from transformers.models.encodec.modeling_encodec import EncodecConv1d, EncodecLSTM

    layers = encoder.layers
    (index,) = [i for i, layer in enumerate(layers) if isinstance(layer, EncodecLSTM)]
    width = layers[index].lstm.input_size
    last = layers[-1]
    if not isinstance(last, EncodecConv1d) or last.conv.in_channels != width:
        raise RuntimeError("EncodecEncoder no longer ends in LSTM, ELU, conv: cannot widen it")
    layers[index] = BidirectionalLSTM(width, config.num_lstm_layers)
    layers[-1] = EncodecConv1d(config, 2 * width, last.conv.out_channels, last.conv.kernel_size[0])
