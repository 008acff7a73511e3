"""``codecfake prepare`` on a release with the complete release's exact counts, size check on.

Writes label files for train, dev, C1..C7 and A1..A3 and their 1,254,470 audio files (tiny WAVs
by default, or ``--seconds`` of audio at a ``--scale`` of the counts), then, in this process:

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
import contextlib
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

SPLITS = {"train": (35_433, 70_388), "dev": (4_358, 8_870), "test": (4_451, 8_777)}
CODECS = [f"C{k}" for k in range(1, 8)]
A3_REALS, A3_FAKES, ALM_MISSING = 49_274, 49_838, 15
RATE = 16_000


def wav(index: int, samples: int) -> bytes:
    """A valid 16-bit mono WAV whose samples encode ``index``, so every clip's bytes differ."""
    body = struct.pack("<Q", index) * max(1, samples // 4)
    header = struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF", 36 + len(body), b"WAVE", b"fmt ", 16, 1, 1, RATE, RATE * 2, 2, 16,
        b"data", len(body),
    )  # fmt: skip
    return header + body


class Writer:
    def __init__(self, root: Path, samples: int) -> None:
        self.root, self.samples, self.count = root, samples, 0
        self.contents: dict[str, bytes] = {}  # a real clip's bytes, identical in every folder

    def clip(self, folder: str, name: str, shared: bool = False) -> None:
        if shared and name in self.contents:
            data = self.contents[name]
        else:
            data = wav(self.count, self.samples)
            if shared:
                self.contents[name] = data
        self.count += 1
        with open(self.root / folder / name, "wb") as handle:
            handle.write(data)


def write_release(root: Path, scale: float, seconds: float) -> None:
    """The official layout with the complete release's counts (times ``scale``)."""

    def n(count: int) -> int:
        return max(1, round(count * scale))

    names: dict[str, list[str]] = {}
    en_index = zh_index = 0
    for split, (en, zh) in SPLITS.items():
        english = [
            f"p{225 + (en_index + i) // 400}_{(en_index + i) % 400 + 1:03d}" for i in range(n(en))
        ]
        mandarin = [
            f"SSB{(zh_index + i) // 500:04d}{(zh_index + i) % 500 + 1:04d}" for i in range(n(zh))
        ]
        en_index, zh_index = en_index + n(en), zh_index + n(zh)
        names[split] = english + mandarin
        names[split + "_en"] = english
    writer = Writer(root, max(4, int(seconds * RATE)))
    labels: dict[str, list[str]] = {}
    for folder in ["train", "dev", *(f"test/{c}" for c in [*CODECS, "A1", "A2", "A3"])]:
        (root / folder).mkdir(parents=True)
    for split in ("train", "dev"):
        rows = labels.setdefault(split, [])
        for utterance in names[split]:
            writer.clip(split, f"{utterance}.wav")
            rows.append(f"{utterance}.wav real 0")
        for k in range(1, 7):
            for utterance in names[split]:
                writer.clip(split, f"F{k:02d}_{utterance}.wav")
                rows.append(f"F{k:02d}_{utterance}.wav fake {k}")
    every = names["train"] + names["dev"] + names["test"]
    for k, condition in enumerate(CODECS, start=1):
        rows = labels.setdefault(condition, [])
        for utterance in names["test"]:
            writer.clip(f"test/{condition}", f"{utterance}.wav", shared=True)
            rows.append(f"{utterance}.wav real 0")
        for utterance in every if condition == "C7" else names["test"]:
            writer.clip(f"test/{condition}", f"F{k:02d}_{utterance}.wav")
            rows.append(f"F{k:02d}_{utterance}.wav fake {k}")
    for k in (1, 2):
        condition, rows = f"A{k}", labels.setdefault(f"A{k}", [])
        for utterance in names["test_en"]:
            writer.clip(f"test/{condition}", f"{utterance}.wav", shared=True)
            rows.append(f"{utterance}.wav real L{k}")
        for utterance in names["test_en"][min(ALM_MISSING, len(names["test_en"]) - 1) :]:
            writer.clip(f"test/{condition}", f"L{k}_{utterance}.wav")
            rows.append(f"L{k}_{utterance}.wav fake L{k}")
    rows = labels.setdefault("A3", [])
    for i in range(n(A3_REALS)):
        writer.clip("test/A3", f"Y{i:011d}.wav")
        rows.append(f"Y{i:011d}.wav real L3")
    for i in range(n(A3_FAKES)):
        writer.clip("test/A3", f"{i}.wav")
        rows.append(f"{i}.wav fake L3")
    (root / "label").mkdir()
    for name, lines in labels.items():
        (root / "label" / f"{name}.txt").write_text("\n".join(lines) + "\n")


def stored_files(root: Path) -> list[Path]:
    """Each clip once, as prepare stores it: a shared real test clip from its first folder."""
    seen: dict[str, Path] = {}
    for folder in sorted(p for p in root.rglob("*") if p.is_dir() and p.name != "label"):
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.is_file():
                    key = entry.name if folder.parent.name == "test" else f"{folder}/{entry.name}"
                    seen.setdefault(key, Path(entry.path))
    return list(seen.values())


def copy_all(paths: list[Path], target: Path) -> float:
    target.mkdir()
    started = time.perf_counter()
    for index, path in enumerate(paths):
        shutil.copyfile(path, target / f"{index}.wav")
    os.sync()
    seconds = time.perf_counter() - started
    shutil.rmtree(target)
    return seconds


def tree_rss(process: psutil.Process) -> int:
    total = 0
    for member in [process, *process.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            total += member.memory_info().rss
    return total


def run_prepare(release: Path, out: Path, extra: list[str]) -> tuple[float, int, str]:
    """``codecfake prepare`` in a subprocess: wall seconds, peak tree RSS, its stdout."""
    command = [sys.executable, "-m", "codecfake_cli", "prepare", str(release), str(out), *extra]
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0
    watched = psutil.Process(child.pid)
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            try:
                peak = max(peak, tree_rss(watched))
            except psutil.Error:
                return
            stop.wait(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = child.communicate()
    stop.set()
    sampler.join()
    seconds = time.perf_counter() - started
    if child.returncode:
        sys.exit(f"prepare failed ({child.returncode}): {stderr.strip()[-2000:]}")
    return seconds, peak, stdout


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
