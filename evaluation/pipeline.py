"""From score files to the table's rows: the one path that ``codecfake eval`` and
``codecfake results --check`` both take, so a record is re-scored exactly as it was made.
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codecfake import CONDITIONS, Condition

from .eer import DEFAULT_RESAMPLES, EvaluationError, Polarity
from .llr import ScoreKind
from .table import Group, Row, evaluate_groups, make_groups


@dataclass(frozen=True)
class EvalSettings:
    """One evaluation's inputs and options: the command line's, as data a record can keep."""

    scores: tuple[str, ...]
    polarity: Polarity = "fixed"
    by_language: bool = False
    metrics: tuple[str, ...] = ("eer",)
    score_kind: ScoreKind | None = None
    labels: str | None = None  # an extracted release's folder
    dataset: str | None = None  # a prepared dataset folder
    resamples: int = DEFAULT_RESAMPLES
    seed: int = 0

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EvalSettings:
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["scores"] = tuple(values.get("scores", ()))
        values["metrics"] = tuple(values.get("metrics", ("eer",)))
        return cls(**values)

    def with_paths(self, relocate: Any) -> EvalSettings:
        """The same settings with every path passed through ``relocate`` (a str -> str map)."""
        return dataclasses.replace(
            self,
            scores=tuple(relocate(p) for p in self.scores),
            labels=relocate(self.labels) if self.labels else None,
            dataset=relocate(self.dataset) if self.dataset else None,
        )


@dataclass(frozen=True)
class Scored:
    groups: list[Group]
    rows: list[Row]
    warnings: list[str]


def score(settings: EvalSettings, *, progress: bool = False) -> Scored:
    """Read the score files, label them, and compute every row; warnings are returned, not shown.

    ``progress`` shows bars while label and score files are read (the caller's choice).
    """
    from codecfake_core.release import release_conditions

    from .scores import dataset_label_index, read_score_files, release_label_index

    if settings.resamples < 0:
        raise EvaluationError(f"--bootstrap must be 0 or more, got {settings.resamples}")
    labels = None
    conditions: dict[str, Condition] = dict(CONDITIONS)
    if settings.labels:
        labels = release_label_index(settings.labels, progress=progress)
        conditions = release_conditions(settings.labels)
    elif settings.dataset:
        labels = dataset_label_index(settings.dataset)
    trials = read_score_files([Path(p) for p in settings.scores], labels, progress=progress)
    try:
        groups = make_groups(trials, by_language=settings.by_language, conditions=conditions)
    except EvaluationError as error:  # say which files, since the rows do not
        raise EvaluationError(f"{', '.join(settings.scores)}: {error}") from error
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rows = evaluate_groups(
            groups,
            settings.polarity,
            settings.resamples,
            settings.seed,
            metrics=settings.metrics,
            score_kind=settings.score_kind,
        )
    return Scored(groups, rows, [str(w.message) for w in caught])
