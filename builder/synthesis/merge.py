"""Fold finished synthesis shards into the release: label files, provenance, failure report.

Everything it writes is derived from the records alone and sorted, so N shards merged give the
same bytes as one run, whichever order the shards finished in.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from codecfake import CONDITIONS, CodecfakeError
from codecfake_core.io import temporaries

from ..codecs.registry import release_condition, spec_from_record
from .provenance import PROVENANCE_FILE, FileRecord, file_of, iter_lines, write_lines
from .recorded import (
    CONDITIONS_KEY,
    SETTINGS_FILE,
    ConditionRecord,
    describe_records,
    read_settings,
    record_of_file,
)
from .release import write_conditions_file, write_label_files
from .settings import STATE_DIR

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
    sources = record_sources(release)
    lines = {}
    for source in sources:
        lines.update((file_of(line), line) for line in iter_lines(source))
    failures: set[str] = set()
    if state.is_dir():
        for report in sorted(state.glob("*.failures.jsonl")):
            failures.update(iter_lines(report))
    present = [lines[f] for f in sorted(lines) if (release / f).is_file()]
    rows, specs, agreed, disagreeing = [], {}, {}, set()
    for line in present:
        record = FileRecord.from_json(line)
        rows.append((record.file, record.label, record.idx))
        if record.codec:
            setting = record_of_file(record)
            if agreed.setdefault(record.condition, setting) != setting:
                disagreeing.add(record.condition)
            if record.condition not in CONDITIONS:
                specs[record.condition] = record.codec
    recorded = (read_settings(release / SETTINGS_FILE) or {}).get(CONDITIONS_KEY) or {}
    disagreeing |= {n for n, r in agreed.items() if n in recorded and recorded[n] != r}
    if disagreeing:
        raise CodecfakeError(disagreement(release, sources, lines, recorded, sorted(disagreeing)))
    labels = write_label_files(release, rows)
    write_conditions_file(
        release, {n: release_condition(spec_from_record(s)) for n, s in specs.items()}
    )
    write_lines(release / PROVENANCE_FILE, present)
    report = release / FAILURES_FILE
    if failures:
        write_lines(report, sorted(failures))
    else:
        report.unlink(missing_ok=True)
    for stale in temporaries(release):
        stale.unlink()  # a temporary file a killed run left behind
    shutil.rmtree(state, ignore_errors=True)
    return MergeSummary(release, len(present), len(labels), len(failures))


def record_sources(release: Path) -> list[Path]:
    """Where records come from, in precedence order: the merged provenance, then shard logs."""
    logs = sorted((release / STATE_DIR).glob("*.log.jsonl"))
    return [release / PROVENANCE_FILE, *logs]


def disagreement(
    release: Path,
    sources: list[Path],
    lines: dict[str, str],
    recorded: dict[str, ConditionRecord],
    names: list[str],
) -> str:
    """The refusal for conditions whose files were made with different codecs or weights.

    Found again from the sources (the rare slow path), to say which file holds which setting.
    """
    parts = []
    for name in names:
        held: dict[str, tuple[ConditionRecord, set[str], list[int]]] = {}
        if name in recorded:
            held[json.dumps(recorded[name], sort_keys=True)] = (
                recorded[name],
                {SETTINGS_FILE},
                [0],
            )
        for source in sources:
            for line in iter_lines(source):
                record = FileRecord.from_json(line)
                if record.condition == name and lines[record.file] == line:
                    setting = record_of_file(record)
                    key = json.dumps(setting, sort_keys=True)
                    _, where, count = held.setdefault(key, (setting, set(), [0]))
                    where.add(source.relative_to(release).as_posix())
                    count[0] += 1
        texts = describe_records([setting for setting, _, _ in held.values()])
        listing = [
            f"{', '.join(sorted(where))}: {text!r}" + (f" ({count[0]} files)" if count[0] else "")
            for text, (_, where, count) in zip(texts, held.values(), strict=True)
        ]
        parts.append(f"{name} has {'; '.join(listing)}")
    return (
        f"{release}: a condition's files were made with different codec settings or weights "
        f"({' | '.join(parts)}); delete the files made with the wrong settings and rerun their "
        f"shard with those in {SETTINGS_FILE}"
    )
