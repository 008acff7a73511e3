"""Clips for the baseline, streamed from any configuration of a prepared folder or a Hub repo.

Streaming keeps memory flat whatever the split size, and :func:`codecfake_core.audio.with_fast_audio`
decodes with soundfile + soxr, so neither training nor scoring needs torch.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..cut import OFFICIAL_INPUT_SAMPLES


@dataclass(frozen=True)
class Clip:
    """One decoded trial: what scoring writes out, and the 16 kHz samples it scores."""

    file: str
    label: str
    condition: str
    language: str
    waveform: np.ndarray


def open_split(
    dataset: str, config: str | None, split: str, shuffle_seed: int | None = None
) -> Any:
    """A streamed split with fast audio; a missing folder, config or split is a user error.

    ``shuffle_seed`` mixes shard order and a 1,000-clip buffer, so a capped training run sees both
    classes early instead of every real clip first (prepared splits store reals first).
    """
    import datasets

    import codecfake
    from codecfake_core.audio import with_fast_audio

    try:
        stream = datasets.load_dataset(dataset, config, split=split, streaming=True)
    except (ValueError, FileNotFoundError, ConnectionError) as error:
        raise codecfake.CodecfakeError(
            f"cannot stream split {split!r} of config {config!r} from {dataset!r}: {error}"
        ) from error
    if shuffle_seed is not None:
        stream = stream.shuffle(seed=shuffle_seed, buffer_size=1_000)
    return with_fast_audio(stream)


def crop(waveform: np.ndarray, max_samples: int) -> np.ndarray:
    """The first ``max_samples`` samples (0 keeps the whole clip).

    Unlike the official detectors we never repeat-pad short clips: the GMM score is a mean over
    frames, so repeating frames would change nothing but the cost.
    """
    return waveform[:max_samples] if max_samples else waveform


def iter_clips(stream: Any, max_samples: int = OFFICIAL_INPUT_SAMPLES) -> Iterator[Clip]:
    """Rows of a streamed split (from :func:`open_split`) as :class:`Clip` objects."""
    from codecfake import LABEL_NAMES

    for row in stream:
        yield Clip(
            file=row["file"],
            label=LABEL_NAMES[row["label"]],
            condition=row["condition"],
            language=row["language"],
            waveform=crop(row["audio"]["array"], max_samples),
        )


def unique_clips(streams: Iterable[Iterable[Clip]]) -> Iterator[Clip]:
    """Clips of several configurations in turn, each file once (configs share their reals)."""
    seen: set[str] = set()
    for stream in streams:
        for clip in stream:
            if clip.file not in seen:
                seen.add(clip.file)
                yield clip
