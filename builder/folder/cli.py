"""The dataset folder's command line: ``codecfake prepare`` (and ``prepare --add``).

The work itself is :func:`codecfake_builder.folder.prepare.prepare` and
:func:`codecfake_builder.folder.prepare.add_conditions`; this module only turns options into
their arguments, refuses options that would do nothing, and prints the report.
"""

from __future__ import annotations

import argparse
import re
import sys

from .plan import SKIP_DAMAGED_OPTION, UNKNOWN_LANGUAGE_OPTION

PREPARE_EPILOG = """\
examples:
  # the official release, extracted (zip -s 0 train_split.zip --out train.zip; unzip train.zip; ...)
  codecfake prepare Codecfake/ codecfake-data/ --num-proc 4
  python -c 'import datasets; print(datasets.load_dataset("codecfake-data", "en_C3"))'

  # only some archives extracted (e.g. label/ + test/C1..C7): you get exactly the configs they make
  codecfake prepare Codecfake-test/ codecfake-test/

  # grow a prepared folder by conditions from a rebuilt release (e.g. C8 from `codecfake synthesize`)
  codecfake prepare rebuilt/ codecfake-data/ --add --made-by "Jane Doe, ACME lab" --checkpoint C8=kyutai/mimi

An interrupted run (Ctrl-C, a killed job, a full disk, damaged audio) resumes when rerun: finished
shards are kept while the release still holds the audio they were made from.
Bad label files stop the run before anything is written. Re-preparing replaces only the files
prepare wrote: a notebook or a .git in OUT_DIR stays. Warnings go to stderr, results to stdout."""

_SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB)?$", re.IGNORECASE)
_UNITS = {"B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}


def parse_size(text: str) -> int:
    """``500MB`` -> 500_000_000 (decimal units, as ``datasets`` counts shard sizes)."""
    match = _SIZE.match(text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"expected a size like 500MB or 2GB, got {text!r}")
    return int(float(match.group(1)) * _UNITS[(match.group(2) or "B").upper()])


def _checkpoint(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name or not value:
        raise argparse.ArgumentTypeError(f"expected COND=CHECKPOINT, got {text!r}")
    return name, value


class Prepare:
    """Turn an extracted Codecfake release into a dataset folder that ``load_dataset`` reads."""

    EPILOG = PREPARE_EPILOG

    @staticmethod
    def resumes(args: argparse.Namespace) -> bool:
        return True  # finished shards are kept in the staging folder

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("release_dir", metavar="RELEASE_DIR", help="the extracted release")
        parser.add_argument(
            "out_dir",
            metavar="OUT_DIR",
            help="the dataset folder to write (or, with --add, to grow)",
        )
        parser.add_argument("--num-proc", type=int, default=1, help="processes writing shards")
        parser.add_argument(
            "--max-shard-size",
            type=parse_size,
            default="500MB",
            help="audio bytes per Parquet shard (default: 500MB)",
        )
        parser.add_argument(
            "--allow-missing",
            action="store_true",
            help="leave out label rows whose file is missing (e.g. A3's real clips), with a warning",
        )
        parser.add_argument(
            UNKNOWN_LANGUAGE_OPTION,
            action="store_true",
            help="keep speech clips whose name tells no language (not pNNN_NNN / SSBxxxxyyyy); "
            "they are counted under the pooled configurations (C1, ..., all) only",
        )
        parser.add_argument(
            SKIP_DAMAGED_OPTION,
            action="store_true",
            help="leave out clips whose audio is truncated, empty or undecodable (listed in a "
            "warning) instead of stopping at them",
        )
        parser.add_argument(
            "--no-size-check",
            action="store_true",
            help="do not compare a complete release's sizes with dataset_infos.json (rebuilt releases)",
        )
        parser.add_argument(
            "--add", action="store_true", help="merge the release's new conditions into OUT_DIR"
        )
        parser.add_argument(
            "--into-aggregates",
            action="store_true",
            help="also pool new codec conditions (C8, ...) into en/zh/all: this changes the benchmark",
        )
        parser.add_argument(
            "--made-by", default="", help="who made the new conditions (for the card)"
        )
        parser.add_argument(
            "--checkpoint",
            type=_checkpoint,
            action="append",
            default=[],
            metavar="COND=ID",
            help="the codec checkpoint a new condition was made with (repeatable)",
        )

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        from codecfake import CodecfakeError

        from .prepare import add_conditions
        from .prepare import prepare as prepare_folder

        common = {
            "num_proc": args.num_proc,
            "max_shard_bytes": args.max_shard_size,
            "allow_missing": args.allow_missing,
            "allow_unknown_language": args.allow_unknown_language,
            "skip_damaged_audio": args.skip_damaged_audio,
            "into_aggregates": args.into_aggregates,
            "progress": args.progress,
        }
        if args.add:
            if args.no_size_check:
                raise CodecfakeError(
                    "--no-size-check has no effect with --add, which never compares sizes with "
                    "dataset_infos.json (conditions beyond the paper have none); drop it"
                )
            report = add_conditions(
                args.release_dir,
                args.out_dir,
                made_by=args.made_by,
                checkpoints=dict(args.checkpoint),
                **common,
            )
        else:
            if args.made_by or args.checkpoint:
                raise CodecfakeError(
                    "--made-by and --checkpoint describe conditions added with --add"
                )
            report = prepare_folder(
                args.release_dir, args.out_dir, size_check=not args.no_size_check, **common
            )
        for line in report.warnings():
            print(line, file=sys.stderr)
        for line in report.lines():
            print(line)
        return 0
