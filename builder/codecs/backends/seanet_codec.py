"""A SEANet codec (C1 SoundStream, C2 SpeechTokenizer, C3 FunCodec) at inference: codes and
resynthesis of a batch.

Padding policy. These models are non-causal: every convolution also looks ahead. The official
inference paths run one utterance at its own length, and the encoder's own reflect padding
completes its last frame (``ceil(T / hop)`` frames, ``frames * hop`` samples decoded). So a batch
is zero-padded to its longest clip only, not to a hop multiple, and each output is cut back to its
clip's length: a clip run alone gets exactly the official computation, at any length.

- Weight-norm models with forward LSTMs (SoundStream): a batch's longest clip gets what it gets
  alone (up to float rounding in batched kernels); a shorter clip sees its zero padding through
  the convolutions' look-ahead, so its last frames and samples differ from its solo run (the
  LSTMs run forward only, so nothing earlier changes). Byte-identical reruns need the same
  batches.
- Models whose every frame sees the whole clip (:attr:`.seanet.SeanetLayout.sees_whole_clip`):
  FunCodec's ``time_group_norm`` (GroupNorm(1, C) takes its statistics over the whole time axis)
  and SpeechTokenizer's bidirectional encoder LSTM (its backward pass starts at the batch's end,
  so the padding flows into every earlier frame). Padding would change a shorter clip everywhere,
  so clips are run one at a time: each output is its solo, official output whatever the batch.

FunCodec's ``audio_normalize`` divides each clip by ``1e-8 + sqrt(mean(x^2))`` over its own
samples before encoding; like the recipe's inference (``--use_scale false``), the output is not
multiplied back.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ..base import CodecSpec
from ..neural import pad_batch

_LONGEST = 1
"""``pad_batch`` pads to a multiple of this: 1 pads a batch to its longest clip, no further."""


@dataclass
class SeanetCodec:
    """An ``EncodecModel`` carrying a SEANet family's weights, behind the
    :class:`~codecfake_builder.codecs.base.DiscreteCodec` contract."""

    spec: CodecSpec
    model: Any
    normalize: bool
    alone: bool  # run each clip by itself (see the module's padding policy)
    device: str = "cpu"
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def sample_rate(self) -> int:
        return self.spec.sample_rate

    @property
    def hop(self) -> int:
        return int(self.model.config.hop_length)

    def encode(self, waveforms: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Per clip, its codes as int64 ``(quantizers, ceil(length / hop))``."""
        clips = []
        for lengths, codes in self._encoded(waveforms):
            host = codes.cpu().numpy()
            clips += [
                np.ascontiguousarray(host[:, row, : -(-n // self.hop)], dtype=np.int64)
                for row, n in enumerate(lengths)
            ]
        return clips

    def resynthesize(self, waveforms: Sequence[np.ndarray]) -> list[np.ndarray]:
        clips = []
        for lengths, codes in self._encoded(waveforms):
            with torch.inference_mode():
                decoded = self.model.decoder(self.model.quantizer.decode(codes))
            host = decoded[:, 0].float().cpu().numpy()
            clips += [
                np.ascontiguousarray(row[:n], dtype=np.float32)
                for row, n in zip(host, lengths, strict=True)
            ]
        return clips

    def _encoded(self, waveforms: Sequence[np.ndarray]) -> Iterator[tuple[list[int], torch.Tensor]]:
        """Per batch (see the module's padding policy): its clips' lengths and its codes."""
        if self.alone:
            groups = [[i] for i in range(len(waveforms))]
        else:
            groups = [list(range(len(waveforms)))] if waveforms else []
        for group in groups:
            batch, lengths = pad_batch([waveforms[i] for i in group], _LONGEST)
            with torch.inference_mode():
                codes = self._codes(torch.from_numpy(batch).to(self.device), lengths)
            yield lengths, codes

    def _codes(self, audio: torch.Tensor, lengths: list[int]) -> torch.Tensor:
        """``(batch, samples)`` -> codes ``(quantizers, batch, frames)``, the official layout."""
        if self.normalize:  # an empty clip's row is one zero: its scale is 1e-8, its audio 0
            scales = [
                row[: max(n, 1)].pow(2).mean().sqrt() + 1e-8
                for row, n in zip(audio, lengths, strict=True)
            ]
            audio = audio / torch.stack(scales)[:, None]
        embeddings = self.model.encoder(audio[:, None, :])
        return self.model.quantizer.encode(embeddings, bandwidth(self.model.config, self.spec))


def bandwidth(config: Any, spec: CodecSpec) -> float:
    """The kbps at which ``EncodecModel``'s quantizer uses ``spec.quantizers`` codebooks."""
    assert spec.quantizers is not None
    return spec.quantizers * config.frame_rate * config.codebook_nbits / 1000
