"""Label files: ``filename label idx`` rows, read and checked the same way everywhere.

The columns' meaning is the benchmark's (:data:`codecfake.LABEL_NAMES`, the condition indexes);
reading them is I/O, done here for ``prepare``, the HF builder, the evaluation of score files and
the synthesis split plan alike. A label file may come from a folder or from inside an archive, so
the rows are parsed from text, with ``shown`` naming where that text came from in every error.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass

from codecfake import LABEL_NAMES, ReleaseError


@dataclass(frozen=True)
class LabelRow:
    file: str
    label: str
    idx: str
    line: int


_SAFE_NAME = re.compile(r"^[^/\\\x00]+$")
_INVISIBLE = re.compile(
    r"[\x00-\x08\x0e-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]"
)
"""Control and invisible characters (whitespace aside, which separates the columns): in a file
name they make two names that look the same differ, so a row would name no file on disk (a BOM
glued to the first name, say)."""


def parse_label_line(text: str, path: os.PathLike[str] | str, line: int) -> LabelRow | None:
    """One ``filename label idx`` row; ``None`` for a blank line. Raises :class:`ReleaseError`."""
    stripped = text.strip()
    if not stripped:
        return None
    parts = stripped.split()
    if len(parts) != 3:
        raise ReleaseError(path, f"expected 3 columns 'filename label idx', got {len(parts)}", line)
    name, label, idx = parts
    if _INVISIBLE.search(stripped):
        shown = ascii(stripped)
        raise ReleaseError(
            path,
            f"holds an invisible or control character: {shown}; remove it and save the file as "
            "plain UTF-8",
            line,
        )
    if label not in LABEL_NAMES:
        raise ReleaseError(path, f"unknown label {label!r} (expected 'real' or 'fake')", line)
    if not _SAFE_NAME.match(name) or name in {".", ".."} or name.startswith("~"):
        raise ReleaseError(path, f"file name {name!r} escapes its folder", line)
    if label == "real" and idx not in {"0"} and not idx.startswith("L"):
        raise ReleaseError(
            path, f"real row has idx {idx!r} (expected 0, or L1..L3 in A sets)", line
        )
    if label == "fake" and (idx == "0" or not re.fullmatch(r"\d+|L\d+", idx)):
        raise ReleaseError(path, f"fake row has idx {idx!r} (expected 1..7, or L1..L3)", line)
    return LabelRow(name, label, idx, line)


def read_label_file(path: os.PathLike[str] | str) -> list[LabelRow]:
    """All rows of the label file ``path`` (see :func:`label_rows`)."""
    with open(path, encoding="utf-8-sig") as handle:
        return label_rows(handle, path)


def label_rows(lines: Iterable[str], shown: os.PathLike[str] | str) -> list[LabelRow]:
    """All rows of a label file's ``lines``, with duplicate names reported at their second line.

    Text is decoded as ``utf-8-sig`` by the callers: a byte-order mark, which Windows editors
    write, is not part of the first file's name.
    """
    rows: list[LabelRow] = []
    first_seen: dict[str, int] = {}
    for number, text in enumerate(lines, start=1):
        row = parse_label_line(text, shown, number)
        if row is None:
            continue
        if row.file in first_seen:
            raise ReleaseError(
                shown,
                f"duplicate file {row.file!r} (first at line {first_seen[row.file]})",
                number,
            )
        first_seen[row.file] = number
        rows.append(row)
    return rows


def label_text_rows(data: bytes, shown: str) -> list[LabelRow]:
    """The rows of a label file's bytes (from a folder or an archive), checked to be text."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ReleaseError(shown, "is not UTF-8 text (a damaged or misnamed file?)", line) from None
    return label_rows(text.splitlines(), shown)


def format_label_line(file: str, label: str, idx: str) -> str:
    return f"{file} {label} {idx}\n"
