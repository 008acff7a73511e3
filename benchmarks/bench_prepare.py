"""``codecfake prepare`` throughput (MB/s of audio) against a plain copy of the same files.

A release is built with the tests' factory (real VCTK clips when ../shared/fixtures is present),
then, in the same process, every clip prepare stores is copied once with ``shutil.copyfile``
(the floor any tool that reads and writes the bytes pays), and prepare runs on the release.
The copy runs first and second around prepare so a cold or warm page cache favours neither.

    python -m benchmarks.bench_prepare
    python -m benchmarks.bench_prepare --zh 100 --seconds 4 --num-proc 2
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from codecfake_builder.folder.prepare import prepare
from testkit.release_factory import make_release
from testkit.shared_fixtures import VCTK_SAMPLES as SAMPLES


def copy_all(paths: list[Path], target: Path) -> float:
    target.mkdir()
    started = time.perf_counter()
    for index, path in enumerate(paths):
        shutil.copyfile(path, target / f"{index}.wav")
    os.sync()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--zh", type=int, default=40, help="Mandarin utterances per split")
    parser.add_argument("--seconds", type=float, default=3.0, help="speech-like clip length")
    parser.add_argument("--num-proc", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        release = make_release(
            Path(tmp) / "release",
            conditions=("C1", "C2", "C3", "C4", "C5", "C6", "C7", "C3-1", "A1"),
            n_zh=args.zh,
            seconds=args.seconds,
            vctk_dir=SAMPLES if SAMPLES.is_dir() else None,
        )
        paths = [clip.path for clip in release.stored()]
        megabytes = sum(p.stat().st_size for p in paths) / 1e6
        copy_before = copy_all(paths, Path(tmp) / "copy1")
        started = time.perf_counter()
        prepare(
            release.root,
            Path(tmp) / "codecfake",
            num_proc=args.num_proc,
            size_check=False,
            progress=False,
        )
        os.sync()
        prepared = time.perf_counter() - started
        copy_after = copy_all(paths, Path(tmp) / "copy2")
    copy = min(copy_before, copy_after)
    print(f"{len(paths)} clips stored once, {megabytes:.1f} MB of audio, num_proc={args.num_proc}")
    print(f"{'method':<22} {'seconds':>8} {'MB/s':>8}")
    print(f"{'plain copy (best of 2)':<22} {copy:>8.2f} {megabytes / copy:>8.1f}")
    print(f"{'codecfake prepare':<22} {prepared:>8.2f} {megabytes / prepared:>8.1f}")
    print(f"prepare runs at {copy / prepared:.2f}x the speed of a plain copy")


if __name__ == "__main__":
    main()
