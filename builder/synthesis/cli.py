"""Rebuild or extend Codecfake: pass VCTK and AISHELL-3 through neural codecs into a release tree.

The tree has the official layout (``label/*.txt``, ``train/``, ``dev/``, ``test/C<k>/``) and
official file names, so ``codecfake prepare`` reads it like the published release. Every clip,
real and fake, is 16-bit PCM WAV at one rate. ``provenance.jsonl`` says where each file came from.

This module is the synthesis room's command line: ``codecfake synthesize`` and
``codecfake merge-shards``. The run itself is :mod:`codecfake_builder.synthesis.pipeline`, which
reads through :mod:`codecfake_builder.synthesis.decode`, codes and writes through
:mod:`codecfake_builder.synthesis.writer`, and leaves the label files to
:mod:`codecfake_builder.synthesis.merge` (automatic for a single run, ``codecfake merge-shards``
after shards).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from codecfake import CODEC_CONDITIONS, SAMPLING_RATE, CodecfakeError

from ..sources.vctk import MICROPHONES
from .pipeline import run_shard
from .settings import Settings

SYNTHESIZE_EPILOG = """\
examples:
  # offline smoke run: each codec family's real architecture with random weights
  codecfake synthesize --vctk VCTK-Corpus-0.92 --aishell3 data_aishell3 --out rebuilt/ \\
      --conditions C4,C7 --codec C8=opus@12kbps --codec-weights random

  # the official split, your own checkpoints
  codecfake synthesize --vctk VCTK-Corpus-0.92 --aishell3 data_aishell3 --out rebuilt/ \\
      --splits-from Codecfake/label --checkpoint C4=facebook/encodec_24khz \\
      --checkpoint C7=descript/dac_44khz --conditions C4,C7

  # eight workers (a job array), then one merge
  codecfake synthesize ... --out rebuilt/ --shard $SLURM_ARRAY_TASK_ID/8
  codecfake merge-shards rebuilt/

Rerun the same command after a crash: finished files are kept, the rest is made again."""

MERGE_EPILOG = """\
example:
  codecfake synthesize ... --out rebuilt/ --shard 0/2   # on one machine
  codecfake synthesize ... --out rebuilt/ --shard 1/2   # on another, same --out (shared disk)
  codecfake merge-shards rebuilt/"""


def parse_shard(text: str) -> tuple[int, int]:
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected I/N such as 0/8, got {text!r}") from None
    if not 0 <= index < count:
        raise argparse.ArgumentTypeError(f"shard index must be in 0..{count - 1}, got {index}")
    return index, count


class Synthesize:
    """Rebuild or extend Codecfake: pass VCTK and AISHELL-3 through neural codecs into a release tree."""

    EPILOG = SYNTHESIZE_EPILOG

    @staticmethod
    def resumes(args: argparse.Namespace) -> bool:
        return True  # finished files are kept

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        corpora = parser.add_argument_group("source corpora (either may be left out)")
        corpora.add_argument("--vctk", type=Path, metavar="DIR", help="VCTK 0.92 or 0.80 root")
        corpora.add_argument(
            "--vctk-mic", choices=MICROPHONES, default="mic1", help="VCTK 0.92 microphone"
        )
        corpora.add_argument("--aishell3", type=Path, metavar="DIR", help="AISHELL-3 root")
        parser.add_argument(
            "--out",
            type=Path,
            required=True,
            metavar="RELEASE_DIR",
            help="the release tree to write; rerun the same command to resume",
        )
        parser.add_argument(
            "--conditions",
            default=",".join(CODEC_CONDITIONS),
            help="comma-separated conditions (default: C1..C7; also C3-1 .. C4-3)",
        )
        parser.add_argument(
            "--codec",
            action="append",
            default=[],
            metavar="NAME=FAMILY[:CHECKPOINT][@SETTING,...]",
            help="add a new condition (C8 and up), e.g. C8=mimi:kyutai/mimi@q8 or C9=opus@12kbps",
        )
        parser.add_argument(
            "--codec-weights",
            choices=("pretrained", "random"),
            default="pretrained",
            help="random: each family's real architecture with seeded random weights (offline)",
        )
        parser.add_argument(
            "--checkpoint",
            action="append",
            default=[],
            metavar="COND=PATH_OR_HUB_ID",
            help="override one condition's checkpoint (repeatable)",
        )
        parser.add_argument(
            "--splits-from",
            type=Path,
            metavar="LABEL_DIR",
            help="official label/ folder: reproduce its train/dev/test assignment exactly",
        )
        parser.add_argument("--seed", type=int, default=0, help="split order and random weights")
        parser.add_argument(
            "--device",
            default="auto",
            help="torch device: cpu, cuda, cuda:1, mps... (default auto: cuda when present, else cpu)",
        )
        parser.add_argument("--batch-size", type=int, default=8, help="clips per codec call")
        parser.add_argument(
            "--shard",
            type=parse_shard,
            default=(0, 1),
            metavar="I/N",
            help="this worker's share: every N-th batch from I (0 <= I < N); then merge-shards",
        )
        parser.add_argument("--sample-rate", type=int, default=SAMPLING_RATE, help="output rate")
        parser.add_argument(
            "--max-failures", type=int, default=100, help="stop after this many per-file failures"
        )

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        from .merge import FAILURES_FILE, merge_release

        settings = settings_from_args(args)
        summary = run_shard(settings, progress=args.progress)
        index, count = settings.shard
        merged = merge_release(settings.out) if count == 1 else None  # before any printing can fail
        print(
            f"shard {index}/{count}: wrote {summary.written} files "
            f"({summary.clips_per_second:.1f} clips/s), {summary.finished_before} already finished"
        )
        for split, by_language in summary.counts.items():
            print(
                f"  {split:<10} " + "  ".join(f"{k} {v:,}" for k, v in sorted(by_language.items()))
            )
        if summary.left_out:
            print(
                f"  left out {summary.left_out} corpus utterances the official labels do not list"
            )
        if summary.failures:
            report = settings.out / FAILURES_FILE if merged else summary.report
            print(f"  {len(summary.failures)} failures, all listed in {report}:")
            for failure in summary.failures[:5]:
                print(
                    f"    {failure['utterance']} {failure['condition'] or ''}: {failure['error']}"
                )
        print(
            merged.describe()
            if merged
            else f"when all {count} shards are done: codecfake merge-shards {settings.out}"
        )
        return 0


def settings_from_args(args: argparse.Namespace) -> Settings:
    """The run's settings; an option that would change nothing is refused, saying why."""
    from ..codecs import parse_checkpoint_overrides, parse_codec_definitions

    if args.checkpoint and args.codec_weights == "random":
        raise CodecfakeError(
            "--checkpoint names weights to load, but --codec-weights random loads none; "
            "drop one of them"
        )
    if args.vctk is None and args.vctk_mic != "mic1":
        raise CodecfakeError(f"--vctk-mic {args.vctk_mic} picks a VCTK microphone: give --vctk")

    defined = parse_codec_definitions(args.codec)  # the overrides may name a new condition
    corpora = {lang: d for lang, d in (("en", args.vctk), ("zh", args.aishell3)) if d is not None}
    return Settings(
        out=args.out,
        corpora=corpora,
        conditions=tuple(c.strip() for c in args.conditions.split(",") if c.strip()),
        codecs=tuple(defined.values()),
        weights=args.codec_weights,
        checkpoints=parse_checkpoint_overrides(args.checkpoint, defined),
        splits_from=args.splits_from,
        seed=args.seed,
        device=args.device,
        batch_size=args.batch_size,
        shard=args.shard,
        sample_rate=args.sample_rate,
        max_failures=args.max_failures,
        vctk_mic=args.vctk_mic,
    )


class MergeShards:
    """Fold finished synthesis shards into the release: label files, provenance, failure report."""

    EPILOG = MERGE_EPILOG

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "release", type=Path, metavar="RELEASE_DIR", help="the --out of synthesize"
        )

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        from .merge import merge_release

        print(merge_release(args.release).describe())
        return 0
