"""The LCNN back-end (light CNN with max-feature-map), with the tensor names of the checkpoints.

Module paths (``conv1.0``, ``conv3.3``, ``out.1``, ``fc_mu``) are those of the authors' pickled
``model.LCNN``, so their state dict loads 1:1. Mel (B, 1, 505, 80) and XLS-R (B, 1, 1024, 201)
inputs differ only in the size of the first linear layer, which follows the input shape (so a
small test SSL model gets a small LCNN).
"""

from __future__ import annotations

import torch
from torch import nn

MEL_SHAPE = (505, 80)  # (frames, mel bands) of 64,600 samples
XLSR_SHAPE = (1_024, 201)  # (features, frames) of 64,600 samples
CHANNELS_OUT = 32


def flat_features(height: int, width: int) -> int:
    """Inputs of the first linear layer: 32 channels after four 2x2 max-pools.

    4,960 = 32 x 31 x 5 for mel, 24,576 = 32 x 64 x 12 for XLS-R: the published widths.
    """
    return CHANNELS_OUT * (height // 16) * (width // 16)


class MaxFeatureMap(nn.Module):
    """Max-feature-map: the elementwise max of the first and second halves of dimension 1."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        first, second = x.chunk(2, dim=1)
        return torch.maximum(first, second)


def _conv(in_channels: int, out_channels: int, kernel: int, *tail: nn.Module) -> nn.Sequential:
    """Conv then MFM (halving the channels), then ``tail`` (pool and/or BN) in the authors' order."""
    conv = nn.Conv2d(in_channels, out_channels, kernel, padding=kernel // 2)
    return nn.Sequential(conv, MaxFeatureMap(), *tail)


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, affine=False)


class LCNN(nn.Module):
    """Nine conv blocks, then ``out`` (dropout, linear, MFM, linear) and ``fc_mu`` to two logits."""

    def __init__(self, input_shape: tuple[int, int] = MEL_SHAPE) -> None:
        super().__init__()
        self.conv1 = _conv(1, 64, 5, nn.MaxPool2d(2))
        self.conv2 = _conv(32, 64, 1, _bn(32))
        self.conv3 = _conv(32, 96, 3, nn.MaxPool2d(2), _bn(48))
        self.conv4 = _conv(48, 96, 1, _bn(48))
        self.conv5 = _conv(48, 128, 3, nn.MaxPool2d(2))
        self.conv6 = _conv(64, 128, 1, _bn(64))
        self.conv7 = _conv(64, 64, 3, _bn(32))
        self.conv8 = _conv(32, 64, 1, _bn(32))
        self.conv9 = _conv(32, CHANNELS_OUT * 2, 3, nn.MaxPool2d(2))
        self.out = nn.Sequential(
            nn.Dropout(0.7),
            nn.Linear(flat_features(*input_shape), 160),
            MaxFeatureMap(),
            nn.Linear(80, 256),
        )
        self.fc_mu = nn.Linear(256, 2)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        x = features
        for index in range(1, 10):
            x = getattr(self, f"conv{index}")(x)
        return self.fc_mu(self.out(x.flatten(1)))
