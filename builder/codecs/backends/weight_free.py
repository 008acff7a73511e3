"""Codecs without weights: Opus and MP3 through libsndfile, and the identity codec.

Opus and MP3 give the offline demo fakes with real, subtle codec artefacts. They are extra
conditions (C8 and up, ``codec`` = "Opus 12 kbps"), never stand-ins for the paper's neural codecs.
The identity codec returns its input: it measures what the pipeline costs when the codec costs
nothing. Its condition is ``identity`` (never a release name); put identity copies into a
release as a numbered condition: ``--codec C8=identity``.

libsndfile takes a "compression level", not a bitrate (:mod:`..lossy` turns one into the other).
MP3 runs in average-bitrate mode: unlike constant bitrate, libsndfile then decodes exactly the
samples it encoded, with no encoder delay to trim.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import soundfile

from codecfake_core.environment import package_versions

from ..base import CodecSpec
from ..errors import CodecSpecError
from ..fingerprint import provenance
from ..lossy import compression_level


@dataclass(frozen=True)
class Format:
    container: str
    subtype: str
    bitrate_mode: str | None


FORMATS = {
    "opus": Format("OGG", "OPUS", None),
    "mp3": Format("MP3", "MPEG_LAYER_III", "AVERAGE"),
}


@dataclass
class ClipCodec:
    """A codec that treats each clip on its own, so batching changes nothing."""

    spec: CodecSpec
    transform: Callable[[np.ndarray], np.ndarray]
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def sample_rate(self) -> int:
        return self.spec.sample_rate

    def resynthesize(self, waveforms: Sequence[np.ndarray]) -> list[np.ndarray]:
        return [self.transform(np.asarray(wave, dtype=np.float32)) for wave in waveforms]


def identity(wave: np.ndarray) -> np.ndarray:
    return wave


def round_trip(wave: np.ndarray, *, rate: int, level: float, format: Format) -> np.ndarray:
    """Encode ``wave`` in memory at compression ``level``, decode it, keep the input length."""
    if wave.size == 0:
        return wave.copy()
    encoded = io.BytesIO()
    soundfile.write(
        encoded,
        wave,
        rate,
        format=format.container,
        subtype=format.subtype,
        compression_level=level,
        bitrate_mode=format.bitrate_mode,
    )
    encoded.seek(0)
    decoded, _ = soundfile.read(encoded, dtype="float32")
    # Same length by construction (see the module note); pad/cut guards a libsndfile change.
    out = np.zeros_like(wave)
    out[: min(len(wave), len(decoded))] = decoded[: len(wave)]
    return out


def build(
    spec: CodecSpec,
    checkpoint: str | None,
    weights: str,
    device: str,
    seed: int,
    size: str = "small",
) -> ClipCodec:
    """The loader's factory; weight-free codecs have no checkpoint, weights, device or seed."""
    if spec.family == "identity":
        record = provenance(
            spec,
            weights="none",
            weights_sha256=None,
            seed=None,
            backend="identity",
            versions=package_versions(),
        )
        return ClipCodec(spec, identity, record)
    if spec.bitrate_kbps is None:
        raise CodecSpecError(f"{spec.condition}: {spec.family} needs a bitrate")
    level = compression_level(spec.family, spec.sample_rate, spec.bitrate_kbps)
    record = provenance(
        spec,
        weights="none",
        weights_sha256=None,
        seed=None,
        backend=f"libsndfile {soundfile.__libsndfile_version__}",
        compression_level=level,
        versions=package_versions(),
    )
    transform = partial(round_trip, rate=spec.sample_rate, level=level, format=FORMATS[spec.family])
    return ClipCodec(spec, transform, record)
