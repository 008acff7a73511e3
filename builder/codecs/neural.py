"""The batch plumbing every neural codec shares: pad to the hop, run the model, trim back.

A codec's encoder works on whole frames of ``hop`` samples, so a clip is zero-padded to a hop
multiple and the output cut back to the input length. A batch is padded to its longest clip and
each output trimmed to its own length. Causal codecs (EnCodec 24 kHz, Mimi) give a clip the same
output batched or alone, up to float rounding (1e-6 measured); in non-causal ones (DAC) the
zero padding reaches a clip's last frames, so byte-identical reruns need the same batches (the
pipeline batches by sorted length).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from codecfake_core.environment import package_versions, resolve_device

from .base import CodecSpec
from .errors import CheckpointMismatchError, CodecSpecError
from .fingerprint import provenance, state_dict_sha256
from .registry import is_paper_condition


def pad_batch(waveforms: Sequence[np.ndarray], hop: int) -> tuple[np.ndarray, list[int]]:
    """Stack mono clips into one zero-padded float32 array whose width is a multiple of ``hop``."""
    lengths = []
    for index, wave in enumerate(waveforms):
        if np.ndim(wave) != 1:
            raise ValueError(
                f"clip {index}: expected a mono 1-D waveform, got shape {np.shape(wave)}"
            )
        lengths.append(len(wave))
    width = max(hop, -(-max(lengths) // hop) * hop)
    batch = np.zeros((len(waveforms), width), dtype=np.float32)
    for row, wave in zip(batch, waveforms, strict=True):
        row[: len(wave)] = wave
    return batch, lengths


@dataclass
class NeuralCodec:
    """A torch codec model behind the :class:`~codecfake_builder.codecs.base.Codec` contract.

    ``forward`` takes the model and a ``(batch, 1, samples)`` tensor and returns the decoded
    audio as ``(batch, samples')`` with ``samples' >= samples``. Plugins can reuse this class:
    only ``forward`` and ``hop`` are family-specific.
    """

    spec: CodecSpec
    model: Any
    hop: int
    forward: Callable[[Any, Any], Any]
    device: str = "cpu"
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def sample_rate(self) -> int:
        return self.spec.sample_rate

    def resynthesize(self, waveforms: Sequence[np.ndarray]) -> list[np.ndarray]:
        if not waveforms:
            return []
        import torch

        batch, lengths = pad_batch(waveforms, self.hop)
        with torch.inference_mode():
            inputs = torch.from_numpy(batch).to(self.device).unsqueeze(1)
            decoded = self.forward(self.model, inputs).float().cpu().numpy()
        if decoded.shape[-1] < batch.shape[-1]:
            raise RuntimeError(
                f"{self.spec.condition}: the {self.spec.family} decoder returned "
                f"{decoded.shape[-1]} samples for {batch.shape[-1]}; its hop is not {self.hop}"
            )
        return [
            np.ascontiguousarray(row[:n], dtype=np.float32)
            for row, n in zip(decoded, lengths, strict=True)
        ]


def build_seeded(build: Callable[[], Any], seed: int) -> Any:
    """Run ``build`` (a model constructor) under ``seed`` without touching the global RNG."""
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build()


def wrap_model(
    spec: CodecSpec,
    model: Any,
    *,
    hop: int,
    forward: Callable[[Any, Any], Any],
    weights: str,
    seed: int,
    device: str,
    backend: str,
    size: str | None = None,
    packages: tuple[str, ...] = (),
) -> NeuralCodec:
    """Move ``model`` to ``device`` for inference and record its provenance: weights hash, the
    random-weights ``size``, and the recorded package versions plus ``packages``."""
    device = resolve_device(device)
    model = model.to(device).eval()
    record = model_provenance(
        spec, model, weights=weights, seed=seed, backend=backend, size=size, packages=packages
    )
    return NeuralCodec(spec, model, hop, forward, device, record)


def model_provenance(
    spec: CodecSpec,
    model: Any,
    *,
    weights: str,
    seed: int,
    backend: str,
    size: str | None = None,
    packages: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The provenance of a torch codec model as loaded: its weights' content hash, the
    random-weights ``size``, and the recorded package versions plus ``packages``."""
    return provenance(
        spec,
        weights=weights,
        weights_sha256=state_dict_sha256(model.state_dict()),
        seed=seed,
        backend=backend,
        random_size=size if weights == "random" else None,
        versions=package_versions(*packages),
    )


def resolve_quantizers(
    spec: CodecSpec, *, sample_rate: int, hop: int, codebook_size: int, max_quantizers: int
) -> CodecSpec:
    """``spec`` with the rate and quantizer count a loaded model actually runs at.

    A paper condition must run at its own rate. The quantizer count is the spec's, else the one
    its bitrate gives at the model's frame rate and codebook size; the bitrate is the spec's,
    else the one those quantizers make.
    """
    if sample_rate != spec.sample_rate and is_paper_condition(spec.condition):
        raise CheckpointMismatchError(
            f"{spec.condition} is {spec.family} at {spec.sample_rate} Hz, but checkpoint "
            f"{spec.checkpoint!r} runs at {sample_rate} Hz"
        )
    frame_rate = sample_rate / hop
    bits = math.log2(codebook_size)
    quantizers = spec.quantizers
    if quantizers is None:
        if spec.bitrate_kbps is None:
            raise CodecSpecError(f"{spec.condition}: give a bitrate (@6kbps) or quantizers (@q8)")
        quantizers = max(1, round(spec.bitrate_kbps * 1000 / (frame_rate * bits)))
    if not 1 <= quantizers <= max_quantizers:
        raise CodecSpecError(
            f"{spec.condition}: {quantizers} quantizers asked, {spec.family} at "
            f"{spec.checkpoint or 'this size'} has {max_quantizers}"
        )
    bitrate = spec.bitrate_kbps or round(quantizers * frame_rate * bits / 1000, 3)
    return spec.resolved(sample_rate=sample_rate, quantizers=quantizers, bitrate_kbps=bitrate)
