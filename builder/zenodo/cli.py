"""Zenodo's command line: ``codecfake download``.

The work is :func:`codecfake_builder.zenodo.download.download_release`; this module turns
options into its arguments and prints the plan or the summary.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .records import PARTS
from .session import DEFAULT_ENDPOINT, ENDPOINT_VARIABLE

DOWNLOAD_EPILOG = f"""\
parts (--only): {", ".join(PARTS)}
  train and dev are every volume of their split zip archive; labels are the label files.

examples:
  codecfake download Codecfake-zips/ --dry-run            what would be fetched, and the disk needed
  codecfake download Codecfake-zips/                      the whole release
  codecfake download Codecfake-zips/ --only labels,C1,C7  the label files and two test sets

a rerun fetches only what is missing and resumes partial files; a finished file is always
verified against Zenodo's md5. {ENDPOINT_VARIABLE} (or --endpoint) points at a mirror."""


def parse_parts(text: str) -> list[str]:
    """``"labels,c1, C7"`` -> ``["labels", "C1", "C7"]``; an unknown name is a usage error."""
    canonical = {part.lower(): part for part in PARTS}
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name.lower() not in canonical]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown part(s) {', '.join(unknown) or repr(text)}; choose from {', '.join(PARTS)}"
        )
    return [canonical[name.lower()] for name in names]


def positive_jobs(text: str) -> int:
    try:
        jobs = int(text)
    except ValueError:
        jobs = 0
    if not 1 <= jobs <= 32:
        raise argparse.ArgumentTypeError(f"{text!r}: give a whole number from 1 to 32")
    return jobs


class Download:
    """Download the Codecfake release from Zenodo into DEST: resumable, verified, in parallel.

    The release is about 30 zip files in six Zenodo records. Each finished file is checked
    against Zenodo's md5; a dropped connection resumes where it stopped.
    """

    EPILOG = DOWNLOAD_EPILOG

    @staticmethod
    def resumes(args: argparse.Namespace) -> bool:
        return True  # partial files stay; a rerun resumes them and skips verified files

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "dest", type=Path, metavar="DEST", help="folder to download into (created if needed)"
        )
        parser.add_argument(
            "--only",
            type=parse_parts,
            default=None,
            metavar="PARTS",
            help="comma-separated parts to fetch (default: all); see below",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="list the files, their sizes, what DEST already holds and the disk needed",
        )
        parser.add_argument(
            "--jobs",
            type=positive_jobs,
            default=4,
            metavar="N",
            help="files downloaded at once (default: 4)",
        )
        parser.add_argument(
            "--endpoint",
            default=None,
            metavar="URL",
            help=f"Zenodo server (default: {ENDPOINT_VARIABLE}, else {DEFAULT_ENDPOINT})",
        )

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        from codecfake_core.units import format_duration, format_rate, format_size

        from .download import download_release

        result = download_release(
            args.dest,
            args.only,
            endpoint=args.endpoint,
            jobs=args.jobs,
            dry_run=args.dry_run,
            progress=args.progress,
        )
        if result.summary is None:
            for line in result.plan.describe():
                print(line)
            return 0
        done = result.summary
        complete = (
            f"{len(done.complete)} already complete "
            f"({format_size(sum(remote.size for remote in done.complete))})"
        )
        if done.fetched:
            fetched = sum(remote.size for remote in done.fetched)
            print(
                f"fetched {len(done.fetched)} file(s) ({format_size(fetched)}) in "
                f"{format_duration(done.seconds)}, {format_rate(done.received, done.seconds)}; "
                f"{complete}; all verified in {args.dest}"
            )
        else:
            print(f"nothing to fetch: {complete}, all verified in {args.dest}")
        return 0
