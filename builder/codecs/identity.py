"""The do-nothing codec: what the pipeline costs when the codec costs nothing.

It is a real backend through the same loader, so a benchmark or a test that runs it exercises
everything but the model. Its condition is ``identity`` (never a release condition name); put
identity copies into a release as a numbered condition: ``--codec C8=identity``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from builder.codecs.base import CodecSpec
from builder.codecs.fingerprint import package_versions, provenance


@dataclass
class IdentityCodec:
    spec: CodecSpec
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def sample_rate(self) -> int:
        return self.spec.sample_rate

    def resynthesize(self, waveforms: Sequence[np.ndarray]) -> list[np.ndarray]:
        return [np.asarray(wave, dtype=np.float32) for wave in waveforms]


def build(
    spec: CodecSpec,
    checkpoint: str | None,
    weights: str,
    device: str,
    seed: int,
    size: str = "small",
) -> IdentityCodec:
    record = provenance(
        spec,
        weights="none",
        weights_sha256=None,
        seed=None,
        backend="identity",
        versions=package_versions(),
    )
    return IdentityCodec(spec, record)
