"""``codecfake prepare`` on a release with the complete release's exact counts, size check on.

Writes label files for train, dev, C1..C7 and A1..A3 and their 1,254,470 audio files (tiny WAVs
by default, or ``--seconds`` of audio at a ``--scale`` of the counts; ``testkit.counted_release``),
then, in this process:

1. copies every stored file once with ``shutil.copyfile`` (the floor for reading and writing the
   same bytes), then runs ``codecfake prepare`` as a user would (a subprocess), sampling the RSS
   of its whole process tree, then copies again; the faster copy is the baseline;
2. prints wall time, peak RSS of the tree, clips/s and MB/s, the ratio against the copy, and
   the reconciliation line prepare ends with.

    python -m benchmarks.bench_full_release                    # full counts, tiny WAVs
    python -m benchmarks.bench_full_release --scale 0.02 --seconds 3 --num-proc 2
    python -m benchmarks.bench_full_release --keep /big/disk   # keep the tree for a rerun

The complete size check only applies at ``--scale 1``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from testkit.counted_release import stored_files, write_release
from testkit.sampling import PeakSampler


def copy_all(paths: list[Path], target: Path) -> float:
    target.mkdir()
    started = time.perf_counter()
    for index, path in enumerate(paths):
        shutil.copyfile(path, target / f"{index}.wav")
    os.sync()
    seconds = time.perf_counter() - started
    shutil.rmtree(target)
    return seconds


def run_prepare(release: Path, out: Path, extra: list[str]) -> tuple[float, int, str]:
    """``codecfake prepare`` in a subprocess: wall seconds, peak tree RSS, its stdout."""
    command = [sys.executable, "-m", "codecfake_cli", "prepare", str(release), str(out), *extra]
    started = time.perf_counter()
    with PeakSampler() as sampler:
        stdout = sampler.run(command)
    return time.perf_counter() - started, sampler.peak_rss, stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the full counts")
    parser.add_argument("--seconds", type=float, default=0.0, help="audio per clip (0: tiny)")
    parser.add_argument("--num-proc", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="write the tree here and keep it")
    args = parser.parse_args()
    base = args.keep or Path(tempfile.mkdtemp(prefix="codecfake-full-"))
    release = base / "Codecfake"
    try:
        if not (release / "label").is_dir():
            started = time.perf_counter()
            write_release(release, args.scale, args.seconds)
            print(f"wrote the release in {time.perf_counter() - started:.0f} s", flush=True)
        files = sum(1 for p in release.rglob("*.wav"))
        paths = stored_files(release)
        megabytes = sum(p.stat().st_size for p in paths) / 1e6
        copy_before = copy_all(paths, base / "copy1")
        extra = ["--num-proc", str(args.num_proc)]
        if args.scale != 1:
            extra.append("--no-size-check")
        out = base / "codecfake-folder"
        shutil.rmtree(out, ignore_errors=True)
        seconds, peak, stdout = run_prepare(release, out, extra)
        copy_after = copy_all(paths, base / "copy2")
        copy = min(copy_before, copy_after)
        print(f"{files:,} audio files, {len(paths):,} stored once, {megabytes:,.0f} MB; "
              f"scale {args.scale:g}, {args.seconds:g} s clips, num_proc {args.num_proc}")  # fmt: skip
        print(f"{'method':<24} {'seconds':>8} {'clips/s':>9} {'MB/s':>7}")
        for name, took in (("plain copy (best of 2)", copy), ("codecfake prepare", seconds)):
            print(f"{name:<24} {took:>8.1f} {len(paths) / took:>9,.0f} {megabytes / took:>7.1f}")
        print(f"prepare runs at {copy / seconds:.2f}x a plain copy; peak RSS of its process "
              f"tree {peak / 1e6:,.0f} MB")  # fmt: skip
        print(next(line for line in stdout.splitlines() if line.startswith("reconciled:")))
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
