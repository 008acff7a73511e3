"""Codec throughput on this machine: clips/s per backend, relative to the identity codec.

Every neural codec runs its *real checkpoint's architecture* (``--size full``: encodec_24khz,
dac_44khz, mimi, SpeechTokenizer's published config) with seeded random weights, which costs
the same compute as the trained weights. Clips are the real VCTK utterances from
../shared/fixtures when present (else speech-like audio), cut to ``--seconds`` and resampled to
each codec's rate; model loading is timed apart from resynthesis.

    python -m benchmarks.bench_codecs                   # all backends that install here
    python -m benchmarks.bench_codecs --codecs C4,C8 --seconds 2 --size small
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import soundfile
import soxr

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from codecfake_builder.codecs import (
    MissingPackageError,
    describe,
    load_codec,
    parse_codec_definitions,
)
from tests.helpers.codecs_audio import speech_like
from tests.helpers.shared_fixtures import VCTK_SAMPLES as SAMPLES

EXTRA = {"C8": "mimi:kyutai/mimi@1.1kbps", "C9": "opus@12kbps", "C10": "mp3@16kbps"}
DEFAULT = "identity,C9,C10,C4,C4-3,C2,C8,C7"


def speech(count: int, seconds: float) -> list[tuple[np.ndarray, int]]:
    """``count`` clips of ``seconds`` at their native rate, real when the fixtures are there."""
    files = sorted(SAMPLES.glob("genuine+*.wav")) if SAMPLES.is_dir() else []
    clips = []
    for index in range(count):
        if files:
            wave, rate = soundfile.read(files[index % len(files)], dtype="float32")
            wave = np.resize(wave, int(rate * seconds))  # repeat a short one, never pad silence
        else:
            rate = 16_000
            wave = speech_like(rate, seconds, seed=index)
        clips.append((wave, rate))
    return clips


def clips_per_second(codec, clips: list[np.ndarray], batch: int, repeats: int) -> float:
    """The best of ``repeats`` passes: on a shared machine the fastest pass is the one least
    disturbed by other work, as ``timeit`` reasons."""
    codec.resynthesize(clips[:1])  # warm-up: first-call allocations and kernel choices
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for first in range(0, len(clips), batch):
            codec.resynthesize(clips[first : first + batch])
        best = min(best, time.perf_counter() - start)
    return len(clips) / best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--codecs", default=DEFAULT, help=f"conditions (default {DEFAULT})")
    parser.add_argument("--clips", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3, help="timed passes; the best is kept")
    parser.add_argument("--size", choices=("full", "small"), default="full")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads (1 is steadiest on a shared machine)"
    )
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    added = parse_codec_definitions(f"{name}={definition}" for name, definition in EXTRA.items())
    source = speech(args.clips, args.seconds)
    speech_kind = "VCTK" if SAMPLES.is_dir() else "synthetic"
    print(
        f"{args.clips} clips x {args.seconds:g} s of {speech_kind} speech, batch {args.batch}, "
        f"best of {args.repeats} passes, "
        f"random weights ({args.size}), {args.threads} torch threads on {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.1f} at the start\n"
    )
    print("| condition | codec | load s | clips/s | audio s per s | identity clips/s ÷ codec's |")
    print("|---|---|---|---|---|---|")
    baseline = None
    for condition in args.codecs.split(","):
        start = time.perf_counter()
        try:
            codec = load_codec(added.get(condition, condition), weights="random", size=args.size)
        except MissingPackageError as error:
            print(f"| {condition} | not installed: {str(error).split('.')[0]} | | | | |")
            continue
        load = time.perf_counter() - start
        clips = [soxr.resample(w, r, codec.sample_rate).astype(np.float32) for w, r in source]
        rate = clips_per_second(codec, clips, args.batch, args.repeats)
        baseline = baseline or rate
        print(
            f"| {condition} | {describe(codec.spec)} | {load:.2f} | {rate:.2f} | "
            f"{rate * args.seconds:.1f} | {baseline / rate:.0f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
