"""Source audio for the codecs: decoded once, resampled to every rate a batch needs, read ahead.

Reading is the one part of synthesis that waits on the disk, so it runs a few batches ahead in
threads (libsndfile and soxr release the GIL) while the codec works on the current batch. The
results do not depend on the threads: each file is decoded the same way whenever it is read.
"""

from __future__ import annotations

import hashlib
import os
from collections import deque
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from codecfake_core.audio import mono_samples, resample

from ..sources.manifest import Utterance

READ_AHEAD = 2
"""Batches decoded ahead of the one the codec is working on."""


@dataclass
class Source:
    """A decoded source utterance, with resampled versions cached per rate within one batch."""

    utterance: Utterance
    corpus: str
    sha256: str
    samples: np.ndarray
    rate: int
    _at: dict[int, np.ndarray] = field(default_factory=dict)

    def at(self, rate: int) -> np.ndarray:
        if rate not in self._at:
            self._at[rate] = resample(self.samples, self.rate, rate)
        return self._at[rate]


def read_source(root: Path, utterance: Utterance, corpus: str) -> Source:
    """Decode one corpus file to mono float32; raises ValueError for empty or truncated audio."""
    data = (root / utterance.path).read_bytes()
    mono, rate = mono_samples(data)
    return Source(utterance, corpus, hashlib.sha256(data).hexdigest(), mono, rate)


def decoded_batches(
    batches: list[list[str]], listed: Mapping[str, tuple[Path, str, Utterance]], rates: set[int]
) -> Iterator[tuple[list[str], dict[str, Source], list[tuple[Utterance, Exception]]]]:
    """(batch, its decoded sources at every rate needed, its unreadable files), in batch order.

    Sources are decoded and resampled a few batches ahead in threads (libsndfile and soxr
    release the GIL), so reading overlaps the codec and the writes. Results do not depend on it.
    """

    def decode(utterance: str) -> Source:
        root, corpus, record = listed[utterance]
        source = read_source(root, record, corpus)
        for rate in sorted(rates):
            source.at(rate)
        return source

    def settle(batch: list[str], futures: list[Future[Source]]):
        sources, unreadable = {}, []
        for utterance, future in zip(batch, futures, strict=True):
            try:
                sources[utterance] = future.result()
            except (OSError, RuntimeError, ValueError) as error:
                unreadable.append((listed[utterance][2], error))
        return batch, sources, unreadable

    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        queue: deque[tuple[list[str], list[Future[Source]]]] = deque()
        for batch in batches:
            queue.append((batch, [pool.submit(decode, u) for u in batch]))
            if len(queue) > READ_AHEAD:
                yield settle(*queue.popleft())
        while queue:
            yield settle(*queue.popleft())
