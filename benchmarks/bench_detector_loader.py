"""Clips/s the detectors' loader delivers into training batches, against the decoding limit.

On one prepared folder, in one process: default ``datasets`` decoding (torchcodec) and
``with_fast_audio`` iteration (soundfile + soxr, the limit: our loader decodes the same way)
read every clip of the ``all`` test split; then :func:`codecfake_detectors.data.clip_dataset` delivers
the same clips as (B, 64600) batches through a DataLoader, in memory and streaming, with 0
workers (the per-worker ratio, goal >= 0.8 of ``with_fast_audio``) and with N workers.

    python -m benchmarks.bench_detector_loader                 # ~400 clips
    python -m benchmarks.bench_detector_loader --zh 200 --workers 4
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import datasets
import numpy as np
import torch

from codecfake_builder.folder.prepare import prepare
from codecfake_core.audio import with_fast_audio
from codecfake_detectors.data import clip_dataset
from codecfake_detectors.score import loader_for
from testkit.release_factory import make_release
from testkit.shared_fixtures import VCTK_SAMPLES as SAMPLES


def rows_per_second(rows: Iterable[dict]) -> float:
    """Every row's 16 kHz array touched; the first row untimed (torchcodec loads FFmpeg)."""
    np.asarray(next(iter(rows))["audio"]["array"])
    started, count = time.perf_counter(), 0
    for row in rows:
        assert np.asarray(row["audio"]["array"]).size
        count += 1
    return count / (time.perf_counter() - started)


def batches_per_second(loader: Iterable, expected: int) -> float:
    """Clips/s delivered as ready (B, 64600) float32 batches, worker start-up included."""
    started, count = time.perf_counter(), 0
    for waveforms, _, _ in loader:
        assert waveforms.shape[1:] == (64_600,)
        count += len(waveforms)
    assert count == expected, (count, expected)
    return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--zh", type=int, default=45, help="Mandarin utterances per split")
    parser.add_argument("--seconds", type=float, default=2.0, help="speech-like clip length")
    parser.add_argument("--workers", type=int, default=2, help="DataLoader workers, second run")
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()
    datasets.disable_progress_bars()
    datasets.config.SLEEP_TIME_ON_THREADS_SHUTDOWN = 0  # the 5 s pause after a shuffled stream
    with tempfile.TemporaryDirectory() as tmp:
        release = make_release(
            Path(tmp) / "release",
            conditions=("C1", "C2", "C3", "C4", "C5", "C6", "C7"),
            n_zh=args.zh,
            seconds=args.seconds,
            vctk_dir=SAMPLES if SAMPLES.is_dir() else None,
        )
        folder = str(Path(tmp) / "codecfake")
        prepare(release.root, folder, size_check=False, progress=False)
        loaded = datasets.load_dataset(folder, "all", split="test")
        n = len(loaded)
        default = rows_per_second(loaded)
        fast = rows_per_second(with_fast_audio(loaded))
        rows = [("default datasets decoding", default), ("with_fast_audio (limit)", fast)]
        for streaming in (False, True):
            access = "streaming" if streaming else "in memory"
            for workers in (0, args.workers):
                clips = clip_dataset(folder, "all", "test", streaming=streaming)
                loader = loader_for(clips, args.batch_size, workers, torch.device("cpu"))
                rate = batches_per_second(loader, n)
                rows.append((f"clip_dataset, {access}, {workers} workers", rate))
    print(f"{n} clips of the 'all' test split, batches of {args.batch_size}, {os.cpu_count()} CPUs")
    print(f"{'reader':<42} {'clips/s':>8} {'/ fast':>7}")
    for name, rate in rows:
        print(f"{name:<42} {rate:>8,.0f} {rate / fast:>7.2f}")


if __name__ == "__main__":
    main()
