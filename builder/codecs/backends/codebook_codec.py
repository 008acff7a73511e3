"""The codec object of the AudioDec (C5) and HiFi-Codec (C6) backends: codes and resynthesis,
batched so that every clip gets what the official path gives it alone.

Both models turn a ``(batch, 1, samples)`` tensor into integer codes ``(batch, codebooks,
frames)`` (each codebook's own indices) and codes back into ``(batch, samples')``. How a batch may
be padded depends on the model, and is the one thing :class:`CodebookCodec` is told:

- ``causal`` (AudioDec): a frame depends on no later sample, so a batch is zero-padded at the end
  to its longest clip (rounded up to the hop). Each clip keeps its first ``ceil(n / hop)`` frames
  and ``n`` samples, which is what the official path gives the unpadded clip alone.
- otherwise (HiFi-Codec, whose encoder normalises over time): any padding would change every frame
  of a clip, so a batch holds only clips of one length, unpadded, and a clip's output is what the
  model makes of exactly its samples. It is cut or zero-padded at the end to the clip's length,
  because the official output need not have it (HiFi-Codec's has ``frames * hop`` samples).
  A clip shorter than one hop, too short for the encoder, is zero-padded to one hop first.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from codecfake_core.environment import package_versions, resolve_device

from ..base import CodecSpec
from ..errors import CheckpointMismatchError, CodecSpecError, MissingPackageError
from ..fingerprint import provenance, state_dict_sha256
from ..neural import pad_batch
from ..registry import FAMILIES, is_paper_condition


def require_torch(what: str) -> None:
    """Fail in one line, saying what to install, when torch is missing."""
    try:
        import torch  # noqa: F401
    except ImportError:
        raise MissingPackageError(
            f"{what} runs on torch: pip install 'codecfake[codecs]'"
        ) from None


def _check_mono(waveforms: Sequence[np.ndarray]) -> None:
    for index, wave in enumerate(waveforms):
        if np.ndim(wave) != 1:
            raise ValueError(
                f"clip {index}: expected a mono 1-D waveform, got shape {np.shape(wave)}"
            )


def _fit_length(wave: np.ndarray, length: int) -> np.ndarray:
    """``wave`` cut, or zero-padded at the end, to ``length`` samples (float32, contiguous)."""
    fitted = np.zeros(length, dtype=np.float32)
    kept = min(length, len(wave))
    fitted[:kept] = wave[:kept]
    return fitted


@dataclass
class CodebookCodec:
    """A codebook codec model behind the :class:`~codecfake_builder.codecs.base.Codec` contract,
    plus :meth:`encode`.

    ``model`` has ``hop`` (samples per frame), ``encode(audio) -> codes`` and
    ``decode(codes) -> audio`` as described in this module's docstring; ``causal`` picks the
    batch padding policy.
    """

    spec: CodecSpec
    model: Any
    causal: bool
    device: str = "cpu"
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def sample_rate(self) -> int:
        return self.spec.sample_rate

    def encode(self, waveforms: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Per clip, the official codes: an int64 array ``(codebooks, frames)`` of each
        codebook's own indices."""
        return [codes for codes, _ in self._run(waveforms, decode=False)]

    def resynthesize(self, waveforms: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Per clip, its decoded codes: float32 at ``sample_rate``, of the clip's length."""
        return [audio for _, audio in self._run(waveforms, decode=True)]

    def _batches(self, waveforms: Sequence[np.ndarray]) -> Iterator[tuple[list[int], np.ndarray]]:
        """(clip indices, float32 batch) pairs that cover every clip once."""
        hop = self.model.hop
        if self.causal:
            yield list(range(len(waveforms))), pad_batch(waveforms, hop)[0]
            return
        by_length: dict[int, list[int]] = {}
        for index, wave in enumerate(waveforms):
            by_length.setdefault(len(wave), []).append(index)
        for length, indices in by_length.items():
            batch = np.zeros((len(indices), max(length, hop)), dtype=np.float32)
            for row, index in enumerate(indices):
                batch[row, :length] = waveforms[index]
            yield indices, batch

    def _run(
        self, waveforms: Sequence[np.ndarray], *, decode: bool
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        import torch

        _check_mono(waveforms)
        if not waveforms:
            return []
        results: list[tuple[np.ndarray, np.ndarray]] = [None] * len(waveforms)  # type: ignore[list-item]
        hop = self.model.hop
        empty = np.zeros(0, dtype=np.float32)
        with torch.inference_mode():
            for indices, batch in self._batches(waveforms):
                inputs = torch.from_numpy(batch).to(self.device).unsqueeze(1)
                codes = self.model.encode(inputs)
                audio = self.model.decode(codes).float().cpu().numpy() if decode else None
                codes = codes.cpu().numpy()
                for row, index in enumerate(indices):
                    length = len(waveforms[index])
                    frames = -(-length // hop) if self.causal else codes.shape[-1]
                    clip_codes = np.ascontiguousarray(codes[row, :, :frames], dtype=np.int64)
                    clip_audio = _fit_length(audio[row], length) if audio is not None else empty
                    results[index] = (clip_codes, clip_audio)
        return results


def resolve_spec(
    spec: CodecSpec,
    checkpoint: str | None,
    *,
    rate: int,
    hop: int,
    codebooks: int,
    codebook_size: int,
) -> CodecSpec:
    """``spec`` as the loaded model runs it: its rate, all its codebooks, their bitrate.

    These codecs have no bandwidth choice: a spec asking for fewer codebooks or another bitrate
    is refused. A paper condition's rate is fixed; an added condition follows the checkpoint's.
    """
    display = FAMILIES[spec.family].display
    if rate != spec.sample_rate and is_paper_condition(spec.condition):
        raise CheckpointMismatchError(
            f"{spec.condition} is {display} at {spec.sample_rate} Hz, but checkpoint "
            f"{checkpoint!r} runs at {rate} Hz"
        )
    kbps = round(codebooks * rate / hop * math.log2(codebook_size) / 1000, 3)
    asked_kbps = spec.bitrate_kbps
    if spec.quantizers not in (None, codebooks) or not math.isclose(
        asked_kbps or kbps, kbps, rel_tol=1e-3
    ):
        raise CodecSpecError(
            f"{spec.condition}: {display} always codes with all its {codebooks} codebooks, "
            f"{kbps:g} kbps; drop the quantizer count or bitrate from its definition"
        )
    return replace(spec, checkpoint=checkpoint).resolved(
        sample_rate=rate, quantizers=codebooks, bitrate_kbps=kbps
    )


def make_codec(
    spec: CodecSpec,
    model: Any,
    *,
    causal: bool,
    weights: str,
    seed: int,
    device: str,
    size: str,
    backend: str,
    **extra: Any,
) -> CodebookCodec:
    """``model`` on ``device`` for inference, with its provenance (``extra`` adds fields).

    The weights hash is taken here, before anything a family does to its model after loading
    (AudioDec's priming), so it names the weights alone, the same on every device.
    """
    device = resolve_device(device)
    model = model.to(device).eval()
    record = provenance(
        spec,
        weights=weights,
        weights_sha256=state_dict_sha256(model.state_dict()),
        seed=seed,
        backend=backend,
        random_size=size if weights == "random" else None,
        versions=package_versions(),
        **extra,
    )
    return CodebookCodec(spec, model, causal, device, record)
