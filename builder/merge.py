"""Fold finished synthesis shards into the release: label files, provenance, failure report.

Everything it writes is derived from the records alone and sorted, so N shards merged give the
same bytes as one run, whichever order the shards finished in.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from builder.codecs import CodecSpec, release_condition
from builder.pipeline import STATE_DIR
from builder.provenance import PROVENANCE_FILE, file_of, iter_lines, write_lines
from builder.release import write_conditions_file, write_label_files
from codecfake import CONDITIONS, CodecfakeError

EPILOG = """\
example:
  codecfake synthesize ... --out rebuilt/ --shard 0/2   # on one machine
  codecfake synthesize ... --out rebuilt/ --shard 1/2   # on another, same --out (shared disk)
  codecfake merge-shards rebuilt/"""

FAILURES_FILE = "failures.jsonl"
_SHARD_FILE = re.compile(r"^shard-(\d+)-of-(\d+)\.")


@dataclass(frozen=True)
class MergeSummary:
    release: Path
    files: int
    label_files: int
    failures: int

    def describe(self) -> str:
        text = f"release {self.release}: {self.files} files in {self.label_files} label files"
        if self.failures:
            text += f"; {self.failures} failures in {self.release / FAILURES_FILE}"
        return text


def unfinished_shards(state: Path) -> list[str]:
    """Shards that have a log but no done marker, and missing shards of each N seen."""
    seen: dict[int, set[int]] = {}
    for path in state.iterdir():
        if m := _SHARD_FILE.match(path.name):
            seen.setdefault(int(m.group(2)), set())
    done = {
        (int(m.group(1)), int(m.group(2)))
        for p in state.glob("*.done")
        if (m := _SHARD_FILE.match(p.name))
    }
    return [f"{i}/{n}" for n in sorted(seen) for i in range(n) if (i, n) not in done]


def merge_release(release_dir: Path) -> MergeSummary:
    """Write label files, ``conditions.json``, ``provenance.jsonl`` and ``failures.jsonl``."""
    release = Path(release_dir)
    state = release / STATE_DIR
    if not state.is_dir() and not (release / PROVENANCE_FILE).is_file():
        raise CodecfakeError(
            f"{release}: no synthesis output here (run codecfake synthesize first)"
        )
    if state.is_dir() and (unfinished := unfinished_shards(state)):
        raise CodecfakeError(
            f"{release}: shards {', '.join(unfinished)} have not finished; rerun them first"
        )
    # Raw lines, not parsed records: a full release has a million of them.
    lines = {file_of(line): line for line in iter_lines(release / PROVENANCE_FILE)}
    failures: set[str] = set()
    if state.is_dir():
        for log in sorted(state.glob("*.log.jsonl")):
            lines.update((file_of(line), line) for line in iter_lines(log))
        for report in sorted(state.glob("*.failures.jsonl")):
            failures.update(iter_lines(report))
    present = [lines[f] for f in sorted(lines) if (release / f).is_file()]
    rows, specs = [], {}
    for line in present:
        record = json.loads(line)
        rows.append((record["file"], record["label"], record["idx"]))
        if record["codec"] and record["condition"] not in CONDITIONS:
            specs[record["condition"]] = record["codec"]
    labels = write_label_files(release, rows)
    write_conditions_file(release, {n: release_condition(CodecSpec(**s)) for n, s in specs.items()})
    write_lines(release / PROVENANCE_FILE, present)
    report = release / FAILURES_FILE
    if failures:
        write_lines(report, sorted(failures))
    else:
        report.unlink(missing_ok=True)
    for stale in release.glob("**/.*.tmp"):
        stale.unlink()  # a temporary file a killed run left behind
    shutil.rmtree(state, ignore_errors=True)
    return MergeSummary(release, len(present), len(labels), len(failures))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("release", type=Path, metavar="RELEASE_DIR", help="the --out of synthesize")


def run(args: argparse.Namespace) -> int:
    print(merge_release(args.release).describe())
    return 0
