"""The contract between the synthesis pipeline and any codec backend.

The pipeline owns I/O, resampling, batching, padding policy and provenance; a backend only turns
waveforms into their codec resynthesis at its own native rate. Keeping that seam narrow is what
lets a plugin (a family codecfake does not ship) or a new transformers codec slot in without
touching the pipeline.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, runtime_checkable

import numpy as np

from codecfake import Condition


@dataclass(frozen=True)
class CodecSpec:
    """One condition's codec: the condition itself and how to build the codec that makes it.

    ``release`` is the :class:`codecfake.Condition` a release declares (name, rate, bitrate,
    quantizers, splits, ...): the one model of a condition, whose facts the codec side reads and
    never restates. ``family`` picks the backend (``encodec``, ``dac``, ``speechtokenizer``, a
    plugin name, ...); ``checkpoint`` is a local path or a Hub id; ``options`` holds
    family-specific settings. Recorded in every output's provenance as :meth:`to_record`.
    """

    release: Condition
    family: str
    checkpoint: str | None = None
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def condition(self) -> str:
        """The condition's name (``C4``, ``C3-1``, ``C8``)."""
        return self.release.name

    @property
    def sample_rate(self) -> int:
        assert self.release.sample_rate is not None, "a codec condition has a rate"
        return self.release.sample_rate

    @property
    def bitrate_kbps(self) -> float | None:
        return self.release.bitrate_kbps

    @property
    def quantizers(self) -> int | None:
        return self.release.quantizers

    def resolved(self, **facts: Any) -> CodecSpec:
        """This spec once a loaded checkpoint has settled some of the condition's facts
        (``sample_rate``, ``bitrate_kbps``, ``quantizers``)."""
        return replace(self, release=replace(self.release, **facts))

    def to_record(self) -> dict[str, Any]:
        """The spec as provenance and ``synthesis.json`` keep it: flat, as JSON."""
        return {
            "condition": self.condition,
            "family": self.family,
            "sample_rate": self.sample_rate,
            "bitrate_kbps": self.bitrate_kbps,
            "quantizers": self.quantizers,
            "checkpoint": self.checkpoint,
            "options": dict(self.options),
        }


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
