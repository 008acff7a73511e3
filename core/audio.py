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


class UnreadableAudioError(ValueError):
    """Audio bytes that do not decode to all the samples their header promises.

    libsndfile returns what it finds without a word; a training job would then learn from a
    clip cut short, or die hours in on an empty one. The caller names the clip.
    """


def mono_samples(data: bytes) -> tuple[np.ndarray, int]:
    """(mono float32 samples, native rate) of WAV/FLAC/... bytes; channels are averaged.

    Raises :class:`UnreadableAudioError` when the bytes hold fewer frames than the header
    promises, none at all, or do not decode.
    """
    import soundfile

    from .release import wav_layout

    layout = wav_layout(data)
    if layout is not None and layout.problem():
        raise UnreadableAudioError(f"the audio {layout.problem()}")
    try:
        with soundfile.SoundFile(io.BytesIO(data)) as audio:
            promised = audio.frames
            samples = audio.read(dtype="float32", always_2d=True)
            rate = audio.samplerate
    except (RuntimeError, soundfile.LibsndfileError) as error:
        raise UnreadableAudioError(f"the audio does not decode ({error})") from error
    if len(samples) < promised or not len(samples):
        raise UnreadableAudioError(
            f"the audio decodes to {len(samples):,} of the {promised:,} frames it promises"
        )
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
    decoded = []
    for audio in batch["audio"]:
        try:
            array = decode_audio_bytes(audio["bytes"], sampling_rate)
        except UnreadableAudioError as error:  # name the clip: the row index is not at hand
            raise UnreadableAudioError(f"{audio['path']}: {error}") from error
        decoded.append({"array": array, "sampling_rate": sampling_rate, "path": audio["path"]})
    batch["audio"] = decoded
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
