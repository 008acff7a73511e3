"""The contract between the synthesis pipeline and any codec backend.

The pipeline owns I/O, resampling, batching, padding policy and provenance; a backend only turns
waveforms into their codec resynthesis at its own native rate. Keeping that seam narrow is what
lets a plugin (a family codecfake does not ship) or a new transformers codec slot in without
touching the pipeline.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np


@dataclass(frozen=True)
class CodecSpec:
    """How to build one condition's codec: recorded verbatim in every output's provenance.

    ``family`` picks the backend (``encodec``, ``dac``, ``speechtokenizer``, a plugin name, ...).
    ``checkpoint`` is a local path or a Hub id; ``options`` holds family-specific settings
    (bandwidth, number of quantizers, ...).
    """

    condition: str
    family: str
    sample_rate: int
    bitrate_kbps: float | None = None
    quantizers: int | None = None
    checkpoint: str | None = None
    options: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Codec(Protocol):
    """A loaded codec. ``resynthesize`` encodes then decodes a batch.

    Input: mono float32 waveforms at ``sample_rate``, any lengths. Output: one waveform per input,
    float32 at ``sample_rate`` and of exactly the input's length (backends pad to their hop and
    trim back). ``provenance`` describes the weights actually loaded: checkpoint id, a content hash,
    and whether they are random.
    """

    spec: CodecSpec
    sample_rate: int
    provenance: dict[str, Any]

    def resynthesize(self, waveforms: Sequence[np.ndarray]) -> list[np.ndarray]: ...


@runtime_checkable
class DiscreteCodec(Codec, Protocol):
    """A :class:`Codec` that also shows its discrete codes: what a codec-level check compares.

    ``encode`` takes the same input as ``resynthesize`` and returns, per clip, the codes that
    ``resynthesize`` decodes for it in the same batch: an integer array of shape
    ``(codebooks, frames)``, row ``k`` holding codebook ``k``'s own indices (``0 ..
    codebook_size - 1``, not offset into a joint vocabulary), ``frames`` the codec's frame count
    for that clip's length. A separate protocol, so that codecs without codes (Opus, identity) and
    plugins written before it still satisfy :class:`Codec`; test with ``isinstance(codec,
    DiscreteCodec)``.
    """

    def encode(self, waveforms: Sequence[np.ndarray]) -> list[np.ndarray]: ...
