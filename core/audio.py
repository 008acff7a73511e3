"""Audio as the package hears it: mono float32, resampled by soxr, decoded without torch.

Synthesis reads corpus files, detectors read dataset clips and users' own files, and
:func:`with_fast_audio` decodes a loaded split: all of them go through :func:`mono_samples` and
:func:`resample`, so a clip is the same array whichever path read it. soundfile and soxr are
imported on first use, so importing this module costs NumPy only.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from codecfake import SAMPLING_RATE


def mono_samples(data: bytes) -> tuple[np.ndarray, int]:
    """(mono float32 samples, native rate) of WAV/FLAC/... bytes; channels are averaged."""
    import soundfile

    samples, rate = soundfile.read(io.BytesIO(data), dtype="float32", always_2d=True)
    mono = samples.mean(axis=1) if samples.shape[1] > 1 else samples[:, 0]
    return mono, rate


def resample(samples: np.ndarray, rate: int, target: int) -> np.ndarray:
    """``samples`` at ``target`` Hz (soxr's default quality); untouched when already there."""
    import soxr

    samples = np.asarray(samples, dtype=np.float32)
    return samples if rate == target else soxr.resample(samples, rate, target)


def decode_audio_bytes(data: bytes, sampling_rate: int = SAMPLING_RATE) -> np.ndarray:
    """Mono float32 samples at ``sampling_rate`` from WAV/FLAC bytes, without torch."""
    mono, rate = mono_samples(data)
    return np.ascontiguousarray(resample(mono, rate, sampling_rate), dtype=np.float32)


def _fast_decode_batch(batch: dict[str, list[Any]], sampling_rate: int) -> dict[str, list[Any]]:
    batch["audio"] = [
        {
            "array": decode_audio_bytes(a["bytes"], sampling_rate),
            "sampling_rate": sampling_rate,
            "path": a["path"],
        }
        for a in batch["audio"]
    ]
    return batch


def with_fast_audio(dataset: Any, sampling_rate: int = SAMPLING_RATE) -> Any:
    """The same split, with ``audio`` decoded by soundfile + soxr into ``{"array", "sampling_rate"}``.

    One call for a ``Dataset``/``IterableDataset`` (or a dict of them). It decodes lazily, as the
    default does, but skips torch and torchcodec, which is several times faster per clip.
    """
    import datasets

    if isinstance(dataset, (datasets.DatasetDict, datasets.IterableDatasetDict)):
        return type(dataset)({k: with_fast_audio(v, sampling_rate) for k, v in dataset.items()})
    raw = dataset.cast_column("audio", datasets.Audio(decode=False))
    if isinstance(raw, datasets.IterableDataset):
        return raw.map(_fast_decode_batch, batched=True, fn_kwargs={"sampling_rate": sampling_rate})
    return raw.with_transform(lambda batch: _fast_decode_batch(batch, sampling_rate))
