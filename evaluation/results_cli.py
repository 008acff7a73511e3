"""Compare detectors: result records side by side, the paper's as the first rows, re-checked.

Each record is a JSON written by `codecfake eval --record`. The table has one row per record
and one column per condition, then CAVG and LAVG. --paper puts the paper's published EERs first,
marked "as published". --check re-scores every record from its files and fails, naming the file,
when a checksum or a number has moved.
"""

from __future__ import annotations

import argparse
import sys

from .compare import COMPARABLE

EPILOG = """\
examples:
  # record two detectors, then compare them with the paper's
  codecfake eval --polarity free --record results/lcnn.json ../shared/fixtures/official_scores/codec_w2v2lcnn/*.txt.gz
  codecfake eval --polarity free --record results/mine.json scores/*_result.txt
  codecfake results --paper results/*.json

  # the same table as Markdown, for a README or a dataset card
  codecfake results --paper results/*.json --markdown results/README.md

  # another metric (records made with --metrics mindcf,...; the paper reports only EERs)
  codecfake results --metric mindcf results/*.json

  # before citing a table: re-score every record from its files
  codecfake results --check results/*.json

Cells are the pooled rows (language 'all'). '-' means the record has no such row or metric.
Published averages are computed, like measured ones, over the conditions present; where the
paper quotes an average over other conditions, a note under the table says so."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("records", nargs="*", metavar="RECORD.json", help="result records")
    parser.add_argument(
        "--paper", action="store_true", help="put the paper's published EERs first, as records"
    )
    parser.add_argument(
        "--metric",
        choices=COMPARABLE,
        default="eer",
        help="the metric in the cells (default eer)",
    )
    parser.add_argument(
        "--columns",
        type=lambda text: tuple(c.strip() for c in text.split(",") if c.strip()),
        metavar="LIST",
        help="only these conditions (and CAVG/LAVG), e.g. C1,C2,C3,A3,CAVG (default: all present)",
    )
    parser.add_argument("--markdown", metavar="FILE.md", help="also write the table as Markdown")
    parser.add_argument(
        "--check",
        action="store_true",
        help="re-score each record from its files; exit 1 if a checksum or number moved",
    )


def _check(paths: list[str]) -> int:
    from .records import check_record

    failed = 0
    for path in paths:
        problems = check_record(path)
        if problems:
            failed += 1
            for problem in problems:
                print(f"{path}: {problem}", file=sys.stderr)
        else:
            print(f"{path}: ok")
    if failed:
        print(f"{failed} of {len(paths)} record(s) no longer hold", file=sys.stderr)
    return 1 if failed else 0


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from codecfake import CodecfakeError
    from codecfake_builder.io import atomic_write_text

    from .compare import format_markdown, format_text
    from .paper import published_records
    from .records import read_record

    if args.check:
        if not args.records:
            raise CodecfakeError("--check needs record files to re-score")
        return _check(args.records)
    if not args.records and not args.paper:
        raise CodecfakeError("nothing to compare: give result records, --paper, or both")
    records = (published_records() if args.paper else []) + [read_record(p) for p in args.records]
    print(format_text(records, args.metric, args.columns))
    if args.markdown:
        markdown = format_markdown(records, args.metric, args.columns)
        atomic_write_text(Path(args.markdown), markdown)
        print(f"Markdown table written to {args.markdown}", file=sys.stderr)
    return 0
