"""What ``codecfake synthesize`` costs on top of the audio work itself.

The same corpus (the project's synthetic VCTK + AISHELL-3 trees, 48 and 44.1 kHz) goes, in the
same process, through

- **bare**: for every source file, ``soundfile.read``, one ``soxr`` resample to 16 kHz, and a
  16-bit PCM WAV written for each file the pipeline makes from it (its identity fake, and its
  real copy for test utterances), either by ``soundfile.write`` to the path or encoded in memory
  and written at once: the floor any tool producing the same files pays;
- **pipeline**: ``synthesize`` with the identity codec as condition C8, then the merge: corpus
  listing, split plan, batching, atomic writes, hashes, the provenance log, the label files.

They alternate so a warm or cold page cache favours none; each writes into fresh folders. The
best of each is reported (the run least disturbed by other load), and the ratio to the faster
bare run is the pipeline's overhead (target: at most 1.10).

    python -m benchmarks.bench_pipeline_overhead
    python -m benchmarks.bench_pipeline_overhead --speakers 8 --utterances 20 --repeats 5
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import soundfile
import soxr

from codecfake_builder.codecs import parse_codec_definition
from codecfake_builder.sources.synthetic import make_synthetic_corpora
from codecfake_builder.synthesis.merge import merge_release
from codecfake_builder.synthesis.pipeline import run_shard
from codecfake_builder.synthesis.provenance import iter_records
from codecfake_builder.synthesis.settings import Settings

RATE = 16_000
ROWS = ("bare, sf.write", "bare, one write", "pipeline")


def pipeline(corpora: dict[str, Path], out: Path) -> tuple[float, int]:
    settings = Settings(
        out=out,
        corpora=corpora,
        conditions=(),
        codecs=(parse_codec_definition("C8=identity"),),
        device="cpu",
    )
    started = time.perf_counter()
    run_shard(settings)
    merge_release(out)
    seconds = time.perf_counter() - started
    return seconds, sum(1 for _ in out.rglob("*.wav"))


def bare(jobs: list[tuple[Path, list[str]]], out: Path, *, in_memory: bool) -> float:
    """Read, resample and write exactly the files the pipeline made, into fresh folders.

    ``soundfile.write`` to a path issues many small writes; encoding into memory and writing once
    is about twice as fast here, so that floor is the one the pipeline is held to.
    """
    for folder in {Path(f).parent for _, files in jobs for f in files}:
        (out / folder).mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    for source, files in jobs:
        samples, rate = soundfile.read(source, dtype="float32")
        audio = soxr.resample(samples, rate, RATE)
        if in_memory:
            buffer = io.BytesIO()
            soundfile.write(buffer, audio, RATE, format="WAV", subtype="PCM_16")
            for file in files:
                (out / file).write_bytes(buffer.getvalue())
        else:
            for file in files:
                soundfile.write(out / file, audio, RATE, subtype="PCM_16")
    return time.perf_counter() - started


def bare_jobs(corpora: dict[str, Path], release: Path) -> list[tuple[Path, list[str]]]:
    """(source file, the release paths made from it), from the pipeline's own provenance."""
    roots = {"VCTK": corpora["en"], "AISHELL-3": corpora["zh"]}
    by_source: dict[Path, list[str]] = {}
    for record in iter_records(release / "provenance.jsonl"):
        source = roots[record.source["corpus"]] / record.source["path"]
        by_source.setdefault(source, []).append(record.file)
    return sorted(by_source.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--speakers", type=int, default=10, help="speakers per language")
    parser.add_argument("--utterances", type=int, default=24, help="utterances per speaker")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        made = make_synthetic_corpora(
            root / "corpora",
            speakers_per_language=args.speakers,
            utterances_per_speaker=args.utterances,
            engine="formant",
        )
        corpora = {"en": made.vctk, "zh": made.aishell3}
        pipeline(corpora, root / "warm-up")  # imports and first-touch costs, not timed
        jobs = bare_jobs(corpora, root / "warm-up")
        audio_seconds = sum(soundfile.info(s).duration for s, _ in jobs)
        times: dict[str, list[float]] = {name: [] for name in ROWS}
        files = 0
        for repeat in range(args.repeats):
            for name in ROWS:
                out = root / f"{name}-{repeat}"
                if name == "pipeline":
                    seconds, files = pipeline(corpora, out)
                else:
                    seconds = bare(jobs, out, in_memory=name == "bare, one write")
                times[name].append(seconds)
                shutil.rmtree(out)
    best = {name: min(values) for name, values in times.items()}
    print(
        f"{len(jobs)} source utterances ({audio_seconds:.0f} s of audio) -> {files} files "
        f"of 16-bit PCM at {RATE} Hz; best of {args.repeats}"
    )
    print(f"{'':<18} {'seconds':>8} {'files/s':>8}")
    for name in ROWS:
        print(f"{name:<18} {best[name]:>8.2f} {files / best[name]:>8.1f}")
    floor = min(best["bare, sf.write"], best["bare, one write"])
    print(f"pipeline / fastest bare = {best['pipeline'] / floor:.3f} (target <= 1.10)")


if __name__ == "__main__":
    main()
