"""Codec cost on this machine: seconds of compute per second of audio, for the paper's seven
codec families and a few added ones, at one and two threads, batched against unbatched.

Every neural codec runs its *real checkpoint's architecture* (``--size full``: encodec_24khz,
dac_44khz, SoundStream 16k 320d, FunCodec nq32ds320, AudioDec symAD + v1 vocoder, HiFi-Codec
24k 320d, SpeechTokenizer's published config) with seeded random weights, which costs the same
compute as the trained weights. Clips are the real VCTK utterances from the shared fixtures when
present (else speech-like audio), cut to ``--seconds`` and resampled to each codec's rate; model
loading is timed apart from resynthesis. "batched" hands the codec all ``--clips`` clips in one
call (the pipeline's batches), "unbatched" one clip per call; a family that must run clips alone
(FunCodec and HiFi-Codec normalise over the whole clip) shows about the same for both.

    python -m benchmarks.bench_codecs                   # C1..C7, 1 and 2 threads, CPU
    python -m benchmarks.bench_codecs --codecs C4,C9 --threads 1 --size small
    python -m benchmarks.bench_codecs --device cuda     # on a GPU machine
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Sequence

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
from testkit.codecs_audio import speech_like
from testkit.shared_fixtures import VCTK_SAMPLES

EXTRA = {"C8": "mimi:kyutai/mimi@1.1kbps", "C9": "opus@12kbps"}
DEFAULT = "C1,C2,C3,C4,C5,C6,C7"


def speech(count: int, seconds: float) -> list[tuple[np.ndarray, int]]:
    """``count`` clips of ``seconds`` at their native rate, real when the fixtures are there."""
    files = sorted(VCTK_SAMPLES.glob("genuine+*.wav")) if VCTK_SAMPLES.is_dir() else []
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


def compute_per_audio(codec, clips: Sequence[np.ndarray], batch: int, repeats: int) -> float:
    """Seconds of compute per second of audio, the best of ``repeats`` passes: on a shared
    machine the fastest pass is the one least disturbed by other work, as ``timeit`` reasons."""
    codec.resynthesize(list(clips[:1]))  # warm-up: first-call allocations and kernel choices
    audio = sum(len(c) for c in clips) / codec.sample_rate
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for first in range(0, len(clips), batch):
            codec.resynthesize(list(clips[first : first + batch]))
        best = min(best, time.perf_counter() - start)
    return best / audio


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--codecs", default=DEFAULT, help=f"conditions (default {DEFAULT})")
    parser.add_argument("--clips", type=int, default=4, help="clips per pass (one batch)")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--repeats", type=int, default=2, help="timed passes; the best is kept")
    parser.add_argument("--size", choices=("full", "small"), default="full")
    parser.add_argument("--threads", default="1,2", help="torch thread counts to measure")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    import torch

    added = parse_codec_definitions(f"{name}={definition}" for name, definition in EXTRA.items())
    source = speech(args.clips, args.seconds)
    speech_kind = "VCTK" if VCTK_SAMPLES.is_dir() else "synthetic"
    print(
        f"{args.clips} clips x {args.seconds:g} s of {speech_kind} speech, best of "
        f"{args.repeats} passes, random weights ({args.size}), {args.device}, "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start\n"
    )
    print(
        "| condition | codec | load s | threads | unbatched s/s | batched s/s "
        "| unbatched ÷ batched |"
    )
    print("|---|---|---|---|---|---|---|")
    for condition in args.codecs.split(","):
        start = time.perf_counter()
        try:
            codec = load_codec(
                added.get(condition, condition),
                weights="random",
                size=args.size,
                device=args.device,
            )
        except MissingPackageError as error:
            print(f"| {condition} | not installed: {str(error).split('.')[0]} | | | | | |")
            continue
        load = time.perf_counter() - start
        clips = [soxr.resample(w, r, codec.sample_rate).astype(np.float32) for w, r in source]
        for threads in (int(t) for t in args.threads.split(",")):
            torch.set_num_threads(threads)
            alone = compute_per_audio(codec, clips, 1, args.repeats)
            together = compute_per_audio(codec, clips, len(clips), args.repeats)
            print(
                f"| {condition} | {describe(codec.spec)} | {load:.2f} | {threads} | "
                f"{alone:.3f} | {together:.3f} | {alone / together:.2f} |"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
