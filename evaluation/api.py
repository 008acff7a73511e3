"""The notebook API: a dataset split (or table) and an array of scores in, the paper's table out.

``evaluate(split, scores)`` does the join users would otherwise write: it reads only the
``file``/``label``/``condition``/``language`` columns (never the audio), lines them up with the
scores row by row, and returns the same table as ``codecfake eval``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from codecfake import CONDITIONS, Condition

from .eer import DEFAULT_RESAMPLES, EvaluationError, Polarity, labels_to_real
from .llr import ScoreKind
from .scores import Trials
from .table import JSON_KEYS, POOLED, Row, evaluate_groups, format_table, make_groups

METADATA_COLUMNS = ("file", "label", "condition", "language")


@dataclass(frozen=True)
class EvaluationTable:
    """Rows of the table; ``print()`` it, or take it as records, JSON or a pandas DataFrame."""

    rows: list[Row]
    polarity: Polarity

    def __str__(self) -> str:
        return format_table(self.rows, self.polarity)

    def __len__(self) -> int:
        return len(self.rows)

    def to_records(self) -> list[dict[str, object]]:
        return [row.to_json() for row in self.rows]

    def to_json(self) -> str:
        return json.dumps(self.to_records(), indent=2)

    def to_pandas(self) -> Any:
        import pandas  # a core requirement (datasets needs it too); imported on first use

        records = self.to_records()
        columns = list(dict.fromkeys(key for record in records for key in record)) or JSON_KEYS
        return pandas.DataFrame(records, columns=list(columns))

    def get(self, condition: str, language: str = POOLED) -> Row:
        """The row of one condition (or ``CAVG``/``LAVG``) and language."""
        for row in self.rows:
            if (row.condition, row.language) == (condition, language):
                return row
        raise KeyError((condition, language))


def metadata_columns(data: Any) -> dict[str, list[Any]]:
    """The metadata columns of a ``datasets`` split, an Arrow table, a DataFrame or a dict.

    A ``Dataset`` or ``IterableDataset`` is narrowed with ``select_columns`` first, so its audio
    is neither read into Python nor decoded.
    """
    import datasets

    if isinstance(data, (datasets.DatasetDict, datasets.IterableDatasetDict)):
        raise EvaluationError(f"pass one split (e.g. data['test']), not the splits {list(data)}")
    if isinstance(data, (datasets.Dataset, datasets.IterableDataset)):
        missing = [c for c in METADATA_COLUMNS if c not in (data.column_names or [])]
        if missing:
            raise EvaluationError(f"the split lacks the column(s) {missing}")
        narrow = data.select_columns(list(METADATA_COLUMNS))
        if isinstance(narrow, datasets.Dataset):
            return narrow.with_format("arrow")[:].to_pydict()
        columns: dict[str, list[Any]] = {c: [] for c in METADATA_COLUMNS}
        for batch in narrow.iter(batch_size=10_000):
            for c in METADATA_COLUMNS:
                columns[c].extend(batch[c])
        return columns
    if hasattr(data, "to_pydict"):  # pyarrow.Table
        table = data
    elif hasattr(data, "to_dict") and hasattr(data, "columns"):  # pandas.DataFrame
        table = {c: list(data[c]) for c in data.columns if c in METADATA_COLUMNS}
    elif isinstance(data, Mapping):
        table = data
    else:
        raise EvaluationError(
            f"cannot read metadata from a {type(data).__name__}: pass a datasets split, "
            "a pyarrow Table, a pandas DataFrame or a dict of columns"
        )
    names = list(table.column_names) if hasattr(table, "column_names") else list(table)
    missing = [c for c in ("file", "label", "condition") if c not in names]
    if missing:
        raise EvaluationError(f"the table lacks the column(s) {missing}")
    wanted = [c for c in METADATA_COLUMNS if c in names]
    if hasattr(table, "select"):
        return table.select(wanted).to_pydict()
    return {c: list(table[c]) for c in wanted}


def evaluate(
    data: Any,
    scores: Sequence[float] | np.ndarray,
    *,
    polarity: Polarity = "fixed",
    by_language: bool = False,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    conditions: Mapping[str, Condition] = CONDITIONS,
    metrics: Sequence[str] = ("eer",),
    score_kind: ScoreKind | None = None,
) -> EvaluationTable:
    """The EER table of ``scores`` (higher = more real), one per row of ``data``, in its order.

    ``data`` is a split of the prepared dataset (``Dataset`` or ``IterableDataset``), a pyarrow
    Table, a pandas DataFrame or a dict with ``file``, ``label`` (``real``/``fake`` or the class
    index: 0 real, 1 fake), ``condition`` and optionally ``language`` columns. As in the paper,
    each codec condition's fakes are scored against the split's shared real clips.

    ``metrics`` adds ``mindcf``, ``actdcf``, ``cllr`` (with ``mincllr``) or ``mincllr`` to each
    row, as ``codecfake eval --metrics`` does. actDCF and CLLR read the scores as LLRs, so scores
    that all lie in [0, 1] need ``score_kind="prob"`` (turned into LLRs by logit) or ``"llr"``.
    """
    columns = metadata_columns(data)
    values = np.asarray(scores, dtype=np.float64).ravel()
    if values.size != len(columns["file"]):
        raise EvaluationError(
            f"{values.size} scores for {len(columns['file'])} rows: pass one score per row, "
            "in the split's order"
        )
    files = np.array(columns["file"], dtype=object)
    languages = columns.get("language") or [""] * values.size
    trials = Trials(
        file=files,
        score=values,
        is_real=labels_to_real(columns["label"]),
        condition=np.array(columns["condition"], dtype=object),
        language=np.array([lang or "" for lang in languages], dtype=object),
        origin=np.array([f"row {i}" for i in range(values.size)], dtype=object),
    )
    groups = make_groups(trials, by_language=by_language, conditions=conditions)
    rows = evaluate_groups(
        groups, polarity, resamples, seed, metrics=metrics, score_kind=score_kind
    )
    return EvaluationTable(rows, polarity)
