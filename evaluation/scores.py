"""Score files in, labelled trials out: each trial knows its label, condition and language.

Formats: the official ``filename score label`` text (plain or ``.gz``; labels ``real``/``fake`` or
``bonafide``/``spoof``), and files without labels (``filename score`` text, CSV or Parquet with
``file``/``score`` columns) whose labels come from a release's label files or a prepared dataset.

A trial's condition comes, in this order, from its file-name prefix (``F05_`` is C5, ``C3-1_`` is
C3-1, ``L1_`` is A1), from the score file's own name (``C5_result.txt``, ``L2_result.txt``), or from
the labels. The score file's name is the only source for A3, whose fakes are bare numbers and whose
reals are YouTube ids. Reals that nothing ties to a condition are the shared real test clips
(condition ``real``), which every codec condition is scored against, as in the paper.
"""

from __future__ import annotations

import csv
import functools
import gzip
import io
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
from tqdm import tqdm

from codecfake import LABEL_NAMES, REAL_CONDITION, ReleaseError, parse_file_name
from codecfake_core.release import iter_release_clips

from .eer import LABEL_WORDS, EvaluationError

_SCORE_FILE_CONDITION = re.compile(r"^(?:(?P<c>C\d+(?:-\d+)?)|L(?P<alm>\d+)|(?P<a>A\d+))(?=[_.-])")


# The shared real test clips recur in every condition's score file: parse each name once.
_parse_name = functools.lru_cache(maxsize=1 << 16)(parse_file_name)


class ScoreFileError(ReleaseError, EvaluationError):
    """A bad score file or row, located as ``path:line`` like a bad label row."""


@dataclass(frozen=True)
class KnownClip:
    """What labels say about one clip."""

    is_real: bool
    condition: str
    language: str


@dataclass(frozen=True)
class Trials:
    """Scored clips, one array per column; ``origin`` says where each came from (``path:line``)."""

    file: np.ndarray
    score: np.ndarray
    is_real: np.ndarray
    condition: np.ndarray
    language: np.ndarray
    origin: np.ndarray

    def __len__(self) -> int:
        return int(self.score.size)

    @classmethod
    def concat(cls, parts: Iterable[Trials]) -> Trials:
        parts = list(parts)
        return cls(
            *(
                np.concatenate([getattr(p, name) for p in parts])
                for name in ("file", "score", "is_real", "condition", "language", "origin")
            )
        )


def condition_of_score_file(path: os.PathLike[str] | str) -> str | None:
    """``C5`` for ``C5_result.txt``, ``A2`` for ``L2_result.txt``; ``None`` when the name says nothing."""
    match = _SCORE_FILE_CONDITION.match(Path(path).name)
    if not match:
        return None
    if match.group("alm"):
        return f"A{int(match.group('alm'))}"
    return match.group("c") or match.group("a")


# --------------------------------------------------------------------------------------------
# Where labels come from when a score file has none
# --------------------------------------------------------------------------------------------


def release_label_index(
    release_dir: os.PathLike[str] | str, *, progress: bool = False
) -> dict[str, KnownClip]:
    """Labels of every clip an extracted release's label files name (test split wins on clashes)."""
    if not (Path(release_dir) / "label").is_dir():
        raise EvaluationError(f"{release_dir}: not a release (no label/ folder with label files)")
    return {
        clip.file: KnownClip(clip.label == "real", clip.condition, clip.language)
        for _split, clip in tqdm(
            iter_release_clips(release_dir),
            desc="reading label files",
            unit=" rows",
            disable=not progress,
        )
    }


def dataset_label_index(dataset_dir: os.PathLike[str] | str) -> dict[str, KnownClip]:
    """Labels from a prepared dataset folder's Parquet shards, reading only the metadata columns."""
    import pyarrow.parquet as pq

    shards = sorted(Path(dataset_dir).glob("data/*/*/*.parquet"), key=_test_split_last)
    if not shards:
        raise EvaluationError(
            f"{dataset_dir}: no Parquet shards under data/<group>/<split>/ (is it a folder "
            "written by `codecfake prepare`?)"
        )
    index: dict[str, KnownClip] = {}
    for shard in shards:
        try:
            table = pq.read_table(shard, columns=["file", "label", "condition", "language"])
        except (OSError, ValueError, KeyError) as error:
            raise ScoreFileError(shard, f"cannot read its metadata columns ({error})") from error
        columns = table.to_pydict()
        for file, label, condition, language in zip(
            columns["file"],
            columns["label"],
            columns["condition"],
            columns["language"],
            strict=True,
        ):
            index[file] = KnownClip(LABEL_NAMES[label] == "real", condition, language)
    return index


def _test_split_last(shard: Path) -> tuple[bool, str]:
    return shard.parent.name == "test", str(shard)


# --------------------------------------------------------------------------------------------
# Reading score files
# --------------------------------------------------------------------------------------------


class _Row(NamedTuple):
    line: int
    file: str
    score: float
    label: str | None


def read_score_file(
    path: os.PathLike[str] | str, labels: Mapping[str, KnownClip] | None = None
) -> Trials:
    """Trials of one score file; ``labels`` fills in what the file itself does not say."""
    path = Path(path)
    if not path.is_file():
        raise EvaluationError(f"{path}: no such score file")
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes[-1:] == [".parquet"]:
        rows: Iterable[_Row] = _parquet_rows(path)
    elif ".csv" in suffixes[-2:]:
        rows = _csv_rows(path)
    else:
        rows = _text_rows(path)
    return _label_rows(path, rows, labels)


def _open_text(path: Path) -> io.TextIOBase:
    if path.suffix.lower() == ".gz":
        return gzip.open(path, "rt", encoding="utf-8")  # type: ignore[return-value]
    return open(path, encoding="utf-8")


def _parse_score(path: Path, text: str, line: int) -> float:
    """A score as a float; whether it is finite is checked for all rows at once, later."""
    try:
        return float(text)
    except ValueError:
        raise ScoreFileError(path, f"score {text!r} is not a number", line) from None


def _text_rows(path: Path) -> Iterator[_Row]:
    try:
        with _open_text(path) as handle:
            for number, text in enumerate(handle, start=1):
                parts = text.split()
                if not parts:
                    continue
                if len(parts) not in (2, 3):
                    raise ScoreFileError(
                        path,
                        f"expected 'filename score label' or 'filename score', got {len(parts)} columns",
                        number,
                    )
                label = parts[2] if len(parts) == 3 else None
                yield _Row(number, parts[0], _parse_score(path, parts[1], number), label)
    except (UnicodeDecodeError, gzip.BadGzipFile, EOFError) as error:
        raise ScoreFileError(path, f"not a readable text score file ({error})") from error


def _csv_rows(path: Path) -> Iterator[_Row]:
    with _open_text(path) as handle:
        reader = csv.DictReader(handle)
        missing = {"file", "score"} - set(reader.fieldnames or [])
        if missing:
            raise ScoreFileError(
                path, f"CSV header lacks column(s) {sorted(missing)} (need file,score[,label])", 1
            )
        for record in reader:
            number = reader.line_num
            yield _Row(
                number,
                record["file"] or "",
                _parse_score(path, record["score"] or "", number),
                record.get("label") or None,
            )


def _parquet_rows(path: Path) -> Iterator[_Row]:
    import pyarrow.parquet as pq

    names = pq.read_schema(path).names
    missing = {"file", "score"} - set(names)
    if missing:
        raise ScoreFileError(path, f"Parquet file lacks column(s) {sorted(missing)}")
    columns = ["file", "score"] + (["label"] if "label" in names else [])
    table = pq.read_table(path, columns=columns).to_pydict()
    labels = table.get("label") or [None] * len(table["file"])
    for row, (file, score, label) in enumerate(
        zip(table["file"], table["score"], labels, strict=True), start=1
    ):
        # Parquet has rows, not lines: row N is reported as line N.
        yield _Row(row, file, _parse_score(path, str(score), row), _label_text(label))


def _label_text(label: object) -> str | None:
    """Parquet labels may be strings or the dataset's class indices (0 real, 1 fake)."""
    if label is None or isinstance(label, str):
        return label
    if isinstance(label, int) and 0 <= label < len(LABEL_NAMES):
        return LABEL_NAMES[label]
    return str(label)


def _label_rows(path: Path, rows: Iterable[_Row], labels: Mapping[str, KnownClip] | None) -> Trials:
    """Columns of the trials; one tight loop, since official runs hold half a million rows."""
    file_condition = condition_of_score_file(path)
    files: list[str] = []
    scores: list[float] = []
    reals: list[bool] = []
    conditions: list[str] = []
    languages: list[str] = []
    lines: list[int] = []
    first_line: dict[str, int] = {}
    for line, file, score, label in rows:
        name = file.rsplit("/", 1)[-1]  # score files may hold paths; labels name bare files
        if name in first_line:
            raise ScoreFileError(
                path, f"{name!r} is scored twice (first at line {first_line[name]})", line
            )
        first_line[name] = line
        known = labels.get(name) if labels is not None else None
        real = _is_real(path, line, name, label, known, labels is not None)
        condition, language = _condition_and_language(path, line, name, real, file_condition, known)
        files.append(name)
        scores.append(score)
        reals.append(real)
        conditions.append(condition)
        languages.append(language)
        lines.append(line)
    if not first_line:
        raise ScoreFileError(path, "holds no scores")
    values = np.array(scores, dtype=np.float64)
    if not (finite := np.isfinite(values)).all():
        first = int(np.argmin(finite))
        raise ScoreFileError(path, f"score {scores[first]} is not finite", lines[first])
    return Trials(
        file=np.array(files, dtype=object),
        score=values,
        is_real=np.array(reals, dtype=bool),
        condition=np.array(conditions, dtype=object),
        language=np.array(languages, dtype=object),
        origin=np.array([f"{path}:{line}" for line in lines], dtype=object),
    )


def _is_real(
    path: Path, line: int, name: str, label: str | None, known: KnownClip | None, have_labels: bool
) -> bool:
    if label is not None:
        real = LABEL_WORDS.get(label.lower())
        if real is None:
            raise ScoreFileError(
                path, f"unknown label {label!r} (expected real/fake or bonafide/spoof)", line
            )
        return real
    if known is not None:
        return known.is_real
    if have_labels:
        raise ScoreFileError(path, f"{name!r} is in none of the given label files", line)
    raise ScoreFileError(
        path, "no label column: pass --labels RELEASE_DIR or --dataset DATASET_DIR", line
    )


def _condition_and_language(
    path: Path,
    line: int,
    name: str,
    real: bool,
    file_condition: str | None,
    known: KnownClip | None,
) -> tuple[str, str]:
    """From the clip's name, then the score file's name, then the labels."""
    parsed = _parse_name(name)
    if parsed.condition and real:
        raise ScoreFileError(
            path,
            f"{name!r} is labelled real but its prefix names condition {parsed.condition}",
            line,
        )
    if parsed.condition and file_condition and parsed.condition != file_condition:
        raise ScoreFileError(
            path,
            f"{name!r} has the {parsed.condition} prefix but the score file is named after "
            f"{file_condition}; rename the file if it holds several conditions",
            line,
        )
    condition = parsed.condition or file_condition or (known.condition if known else None)
    if condition is None:
        if not real:
            raise ScoreFileError(
                path,
                f"cannot tell the condition of fake {name!r}: name the score file after it "
                "(e.g. A3_scores.txt) or pass --labels/--dataset",
                line,
            )
        condition = REAL_CONDITION
    return condition, parsed.language or (known.language if known else "")


def read_score_files(
    paths: Iterable[os.PathLike[str] | str],
    labels: Mapping[str, KnownClip] | None = None,
    *,
    progress: bool = False,
) -> Trials:
    """All trials of several score files, e.g. one official file per condition; ``progress``
    shows a bar of files (the caller's choice, so pipes and logs stay clean)."""
    paths = list(paths)
    bar = tqdm(paths, desc="reading score files", unit=" files", disable=not progress)
    return Trials.concat(read_score_file(path, labels) for path in bar)
