"""Audio decoding speed: default ``datasets`` decoding (torchcodec) against ``with_fast_audio``
(soundfile + soxr), on the same prepared folder, in the same process.

A small release is built with the tests' factory (real VCTK clips and their codec resyntheses
when ../shared/fixtures is present, speech-like audio otherwise; fakes at 16, 24 and 44.1 kHz),
prepared, and every clip of the ``all`` test split is decoded to a 16 kHz array both ways,
in memory and streaming.

    python -m benchmarks.bench_decoding                 # ~400 clips
    python -m benchmarks.bench_decoding --zh 200 --seconds 1
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

import codecfake
from codecfake_builder.folder.prepare import prepare
from codecfake_core.audio import with_fast_audio
from testkit.release_factory import make_release
from testkit.shared_fixtures import VCTK_SAMPLES as SAMPLES


def clips_per_second(rows: Iterable[dict]) -> tuple[float, int]:
    """Decode every row's audio (the array is what a training loop touches) and time it.

    One clip is decoded first, untimed: torchcodec loads FFmpeg on first use (seconds), a
    one-time cost that would otherwise dominate a short run.
    """
    np.asarray(next(iter(rows))["audio"]["array"])
    started = time.perf_counter()
    count = 0
    for row in rows:
        array = np.asarray(row["audio"]["array"])
        assert row["audio"]["sampling_rate"] == codecfake.SAMPLING_RATE and array.size
        count += 1
    return count / (time.perf_counter() - started), count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--zh", type=int, default=45, help="Mandarin utterances per split")
    parser.add_argument("--seconds", type=float, default=2.0, help="speech-like clip length")
    args = parser.parse_args()
    datasets.disable_progress_bars()
    with tempfile.TemporaryDirectory() as tmp:
        release = make_release(
            Path(tmp) / "release",
            conditions=("C1", "C2", "C3", "C4", "C5", "C6", "C7"),
            n_zh=args.zh,
            seconds=args.seconds,
            vctk_dir=SAMPLES if SAMPLES.is_dir() else None,
        )
        folder = Path(tmp) / "codecfake"
        prepare(release.root, folder, size_check=False, progress=False)
        loaded = datasets.load_dataset(str(folder), "all", split="test", cache_dir=f"{tmp}/cache")
        streamed = datasets.load_dataset(str(folder), "all", split="test", streaming=True)
        kilobytes = np.mean([c.path.stat().st_size for c in release.stored()]) / 1e3
        results = {
            "in memory": (
                clips_per_second(loaded),
                clips_per_second(with_fast_audio(loaded)),
            ),
            "streaming": (
                clips_per_second(streamed),
                clips_per_second(with_fast_audio(streamed)),
            ),
        }
    print(
        f"{len(loaded)} clips, mean {kilobytes:.0f} kB each ({'VCTK + ' if SAMPLES.is_dir() else ''}speech-like)"
    )
    print(f"{'access':<10} {'default clips/s':>16} {'fast clips/s':>13} {'speed-up':>9}")
    for name, ((default, _), (fast, _)) in results.items():
        print(f"{name:<10} {default:>16,.0f} {fast:>13,.0f} {fast / default:>8.1f}x")


if __name__ == "__main__":
    main()
