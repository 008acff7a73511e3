"""Reading the release from its archives (codecfake_core.archives) against extracting them.

Clips of 3 seconds (16 kHz, 16-bit noise shaped like speech's spectrum, which deflate shrinks
about as little as speech) are packed the official way with Info-ZIP: a ``train.zip`` under
``data7/xyk/codecfake/upload_zenodo/`` inside the split set ``train_split.zip`` + ``.zNN``,
once stored (what ``zip`` does to a ``.zip``) and once deflated. Then, in this process, every
clip is read through :class:`~codecfake_core.archives.ReleaseArchives` (listing included),
and the same archives are extracted as the authors advise (official issue #9): ``7z x`` of the
set, then ``7z x`` (or ``unzip``) of the inner zip. Info-ZIP alone has no route: ``unzip``
reads no split set, and ``zip -s 0`` (its merge) drops the data of a member that spans more
than two volumes, which the inner zip does (the "bad CRC" of issue #9). The reader runs before
and after the extractions, so a warm page cache favours neither.

Last, the listing's memory at the complete release's scale: a synthetic zip of 1.25 million
empty entries with names like the train set's is scanned, and the central directory's flat
table (and what the scan retains in all, by ``tracemalloc``) is compared with ``zipfile``'s
``ZipInfo`` objects for the same archive.

    python -m benchmarks.bench_archive_read
    python -m benchmarks.bench_archive_read --clips 1000 --entries 200000
"""

from __future__ import annotations

import argparse
import shutil
import struct
import subprocess
import tempfile
import time
import tracemalloc
import wave
import zipfile
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TypeVar

import numpy as np

from codecfake_core.archives import ReleaseArchives
from testkit.counted_release import RATE, speech_noise

T = TypeVar("T")
NESTED = Path("data7/xyk/codecfake/upload_zenodo")


def make_clips(folder: Path, count: int, seconds: float) -> int:
    """``count`` WAV clips in ``folder``; their total size in bytes."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    total = 0
    for index in range(count):
        samples = speech_noise(rng, int(seconds * RATE))
        path = folder / f"F{index % 6 + 1:02d}_SSB{index:08d}.wav"
        with wave.open(str(path), "wb") as clip:
            clip.setnchannels(1)
            clip.setsampwidth(2)
            clip.setframerate(RATE)
            clip.writeframes(samples.tobytes())
        total += path.stat().st_size
    return total


def pack(clips: Path, work: Path, deflate_nested: bool, volume_mb: int) -> Path:
    """The official packing of ``clips`` (a folder named ``train``): the set's ``.zip``."""
    inner = work / "stage" / NESTED / "train.zip"
    inner.parent.mkdir(parents=True)
    subprocess.run(["zip", "-q", "-r", str(inner), "train"], cwd=clips.parent, check=True)
    out = work / "archives"
    out.mkdir()
    compress = ["-n", ":"] if deflate_nested else []
    command = ["zip", "-q", "-r", *compress, "-s", f"{volume_mb}m", str(out / "train_split.zip")]
    subprocess.run([*command, "data7"], cwd=work / "stage", check=True)
    shutil.rmtree(work / "stage")
    return out / "train_split.zip"


def read_all(archives: Path) -> tuple[float, int]:
    """Seconds to list and read every clip through the reader, and the bytes read."""
    started = time.perf_counter()
    total = 0
    with ReleaseArchives.scan(archives) as release:
        for folder in release.folders.values():
            for _, data in release.read_in_order(folder):
                total += len(data)
    return time.perf_counter() - started, total


def timed(commands: list[list[str]], cwd: Path) -> float:
    started = time.perf_counter()
    for command in commands:
        subprocess.run(command, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def extract(split: Path, out: Path, inner_tool: str) -> float:
    """Seconds to extract the set with ``7z x``, then its inner zip with ``inner_tool``."""
    inner = out / "set" / NESTED / "train.zip"
    second = {
        "7z": ["7z", "x", "-y", f"-o{out / 'clips'}", str(inner)],
        "unzip": ["unzip", "-q", str(inner), "-d", str(out / "clips")],
    }[inner_tool]
    out.mkdir()
    seconds = timed([["7z", "x", "-y", f"-o{out / 'set'}", str(split)], second], out)
    shutil.rmtree(out)
    return seconds


def compare_extraction(root: Path, clips: Path, audio_bytes: int, deflate: bool) -> None:
    """Time the reader and both extraction routes on ``clips`` packed one way, and print."""
    megabytes = audio_bytes / 1e6
    work = root / ("deflated" if deflate else "stored")
    work.mkdir()
    split = pack(clips, work, deflate, volume_mb=max(1, int(megabytes) // 16))
    volumes = len(list(split.parent.iterdir()))
    before, total = read_all(split.parent)
    assert total == audio_bytes, "the reader did not read back every byte packed"
    seven = extract(split, work / "7z", "7z")
    unzip = extract(split, work / "unzip", "unzip")
    after, _ = read_all(split.parent)
    reader = min(before, after)
    kind = "deflated" if deflate else "stored"
    print(
        f"\ntrain.zip {kind} inside train_split ({volumes} volumes), {megabytes:,.0f} MB of audio"
    )
    print(f"  {'route':<36} {'seconds':>8} {'MB/s':>8} {'vs reader':>10}")
    for name, seconds in (
        ("codecfake_core.archives (list+read)", reader),
        ("7z x set, 7z x train.zip", seven),
        ("7z x set, unzip train.zip", unzip),
    ):
        print(f"  {name:<36} {seconds:>8.2f} {megabytes / seconds:>8.1f} {seconds / reader:>9.2f}x")
    print(f"  (reader runs: {before:.2f} s before the extractions, {after:.2f} s after)")
    shutil.rmtree(work)


def synthetic_zip(path: Path, entries: int) -> None:
    """A zip of ``entries`` empty stored files with train-like names, ZIP64 end records."""
    local = struct.Struct("<IHHHHHIIIHH")
    central = struct.Struct("<IHHHHHHIIIHHHHHII")
    offsets = []
    with path.open("wb") as out:
        for index in range(entries):
            name = f"train/F{index % 6 + 1:02d}_SSB{index:08d}.wav".encode()
            offsets.append(out.tell())
            out.write(local.pack(0x04034B50, 20, 0, 0, 0, 0, 0, 0, 0, len(name), 0) + name)
        start = out.tell()
        for index, offset in enumerate(offsets):
            name = f"train/F{index % 6 + 1:02d}_SSB{index:08d}.wav".encode()
            fields = (0, 0, 0, 0, 0, 0, 0, len(name), 0, 0, 0, 0, 0, offset)
            out.write(central.pack(0x02014B50, 20, 20, *fields) + name)
        size = out.tell() - start
        end64 = out.tell()
        counts = (entries, entries, size, start)
        out.write(struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, *counts))
        out.write(struct.pack("<IIQI", 0x07064B50, 0, end64, 1))
        all_ones = (0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF)  # see the ZIP64 records
        out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, *all_ones, 0))


def retained(build: Callable[[], T]) -> tuple[T, int, int]:
    """``build()``, the bytes it leaves allocated and its peak (by ``tracemalloc``)."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        made = build()
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return made, current - before, peak - before


def scan_listing(folder: Path) -> tuple[float, int, int, int]:
    """(seconds, table bytes, retained bytes, peak bytes) of scanning ``folder``."""
    started = time.perf_counter()
    with ReleaseArchives.scan(folder) as release:
        seconds = time.perf_counter() - started
        table = release.table_bytes
    release, kept, peak = retained(partial(ReleaseArchives.scan, folder))
    release.close()
    return seconds, table, kept, peak


def compare_listing(root: Path, entries: int, baseline_entries: int) -> None:
    """Memory per entry of a scan at ``entries``, and against zipfile at ``baseline_entries``
    (its per-entry cost does not depend on the count, and building a million ZipInfo objects
    under tracemalloc takes minutes)."""
    print()
    for count in sorted({baseline_entries, entries}):
        folder = root / f"listing-{count}"
        folder.mkdir()
        synthetic_zip(folder / "train.zip", count)
        seconds, table, kept, peak = scan_listing(folder)
        print(
            f"listing {count:>9,} entries: table {table / count:5.1f} B/entry, scan retains "
            f"{kept / count:5.1f} B/entry (peak {peak / count:5.1f}), {seconds:5.1f} s"
        )
        if count == baseline_entries:
            archive, theirs, _ = retained(partial(zipfile.ZipFile, folder / "train.zip"))
            archive.close()
            print(
                f"  zipfile.ZipFile on the same archive retains {theirs / count:5.1f} B/entry: "
                f"{theirs / kept:.1f}x the scan's"
            )
        shutil.rmtree(folder)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", type=int, default=3000, help="3-second clips to pack")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--entries", type=int, default=1_250_000, help="synthetic listing size")
    parser.add_argument("--baseline-entries", type=int, default=100_000, help="for zipfile")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        audio_bytes = make_clips(root / "clips" / "train", args.clips, args.seconds)
        for deflate in (False, True):
            compare_extraction(root, root / "clips" / "train", audio_bytes, deflate)
        shutil.rmtree(root / "clips")
        compare_listing(root, args.entries, args.baseline_entries)


if __name__ == "__main__":
    main()
