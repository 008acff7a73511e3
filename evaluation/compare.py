"""Several result records side by side: one row per record, one column per condition.

Only the pooled rows (language ``all``) are shown, for one metric at a time. The columns are
every condition any record has, in the benchmark's order, then CAVG and LAVG. A record without
a condition shows ``-`` there, and so does a published record for a metric the paper did not
report.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from codecfake import CONDITIONS

from .eer import EvaluationError
from .table import AVERAGES, METRIC_KEYS, METRIC_TITLES, POOLED

COMPARABLE = ("eer", *METRIC_KEYS)
TITLES = {"eer": "EER %", **METRIC_TITLES}
_PRECISION = {"eer": ".3f"}


def _cells(record: dict[str, Any], metric: str) -> dict[str, float]:
    return {
        row["condition"]: row[metric]
        for row in record["rows"]
        if row.get("language") == POOLED and row.get(metric) is not None
    }


def _columns(
    records: Sequence[dict[str, Any]], metric: str, wanted: Sequence[str] | None
) -> list[str]:
    present = {c for r in records for c in _cells(r, metric)}
    if wanted:
        absent = [c for c in wanted if c not in present]
        if absent:
            raise EvaluationError(
                f"no record has {', '.join(absent)} for {metric} "
                f"(present: {', '.join(_columns(records, metric, None))})"
            )
        return list(dict.fromkeys(wanted))
    order = [*CONDITIONS, *sorted(present - set(CONDITIONS) - set(AVERAGES)), *AVERAGES]
    return [c for c in order if c in present]


def table_cells(
    records: Sequence[dict[str, Any]], metric: str, columns: Sequence[str] | None = None
) -> tuple[list[str], list[list[str]]]:
    """The header and the rows of text cells: record, kind, polarity, then the conditions.

    ``columns`` picks conditions (and averages) in the order given; by default every one present.
    """
    columns = _columns(records, metric, columns)
    spec = _PRECISION.get(metric, ".4f")
    header = ["record", "kind", "polarity", *columns]
    body = []
    for record in records:
        cells = _cells(record, metric)
        values = [format(cells[c], spec) if c in cells else "-" for c in columns]
        body.append([record["name"], record["kind"], record["polarity"]["mode"], *values])
    return header, body


def _notes(records: Sequence[dict[str, Any]]) -> list[str]:
    return [f"{r['name']}: {note}" for r in records for note in r.get("notes", [])]


def format_text(
    records: Sequence[dict[str, Any]], metric: str = "eer", columns: Sequence[str] | None = None
) -> str:
    header, body = table_cells(records, metric, columns)
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    left = 3  # record, kind and polarity are text; the numbers align right

    def line(cells: list[str]) -> str:
        return "  ".join(
            cell.ljust(width) if i < left else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    lines = [f"{TITLES[metric]}, pooled over languages", line(header)]
    lines += [line(row) for row in body]
    notes = _notes(records)
    return "\n".join(lines + (["", "notes:", *(f"  {n}" for n in notes)] if notes else []))


def format_markdown(
    records: Sequence[dict[str, Any]], metric: str = "eer", columns: Sequence[str] | None = None
) -> str:
    header, body = table_cells(records, metric, columns)
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(["---"] * 3 + ["---:"] * (len(header) - 3)) + "|",
        *("| " + " | ".join(row) + " |" for row in body),
    ]
    notes = _notes(records)
    intro = f"{TITLES[metric]}, pooled over languages."
    return (
        "\n".join([intro, "", *lines, *([""] + [f"- {n}" for n in notes] if notes else [])]) + "\n"
    )
