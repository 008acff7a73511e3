"""The paper's table: EER per condition (and per language), with the CAVG and LAVG averages.

Which reals a condition is scored against: the reals tied to it (its own score file's reals, or
A3's own AudioCaps clips), or else the shared real test clips in that condition's languages. So a
folder of one score file per condition reproduces the paper, and so does one score file (or one
dataset split) over everything, where each codec's fakes meet the same reals, as in the paper.
"""

from __future__ import annotations

import warnings
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from codecfake import CODEC_CONDITIONS, CONDITIONS, REAL_CONDITION, Condition
from evaluation.eer import (
    DEFAULT_RESAMPLES,
    EvaluationError,
    Polarity,
    PolarityWarning,
    bootstrap_eers,
    eer_from_classes,
    percentile_interval,
)
from evaluation.scores import Trials

POOLED = "all"
"""The ``language`` of a row that pools every language."""

ALM_CONDITIONS = tuple(n for n, c in CONDITIONS.items() if c.kind == "alm")
AVERAGES = {"CAVG": CODEC_CONDITIONS, "LAVG": ALM_CONDITIONS}
"""The paper's averages: over the codec conditions C1..C7 and the ALM sets A1..A3 present."""

JSON_KEYS = ("condition", "language", "eer", "threshold", "n_real", "n_fake", "ci_low", "ci_high")


@dataclass(frozen=True)
class Group:
    """The real and fake scores behind one row of the table."""

    condition: str
    language: str
    real: np.ndarray
    fake: np.ndarray


@dataclass(frozen=True)
class Row:
    """One row: EER and interval in percent. Average rows have no threshold and no polarity."""

    condition: str
    language: str
    eer: float
    threshold: float | None
    n_real: int
    n_fake: int
    ci_low: float | None
    ci_high: float | None
    flipped: bool | None = None

    def to_json(self) -> dict[str, object]:
        return {key: getattr(self, key) for key in JSON_KEYS}


def _condition_order(name: str, conditions: Mapping[str, Condition]) -> tuple[int, str]:
    names = list(conditions)
    return (names.index(name) if name in names else len(names), name)


def _check_unique(trials: Trials, mask: np.ndarray, condition: str) -> None:
    files = trials.file[mask]
    unique, counts = np.unique(files, return_counts=True)
    if unique.size == files.size:
        return
    twice = unique[counts > 1][0]
    origins = trials.origin[mask][files == twice]
    raise EvaluationError(
        f"{twice!r} is scored twice for {condition} ({origins[0]} and {origins[1]}): "
        "evaluate one detector's scores at a time"
    )


def make_groups(
    trials: Trials,
    by_language: bool = False,
    conditions: Mapping[str, Condition] = CONDITIONS,
) -> list[Group]:
    """The trials behind each row: per condition, pooled, then per language when asked."""
    present = {str(c) for c in np.unique(trials.condition) if c != REAL_CONDITION}
    shared_real = trials.is_real & (trials.condition == REAL_CONDITION)
    groups: list[Group] = []
    for name in sorted(present, key=lambda n: _condition_order(n, conditions)):
        in_condition = trials.condition == name
        fake = in_condition & ~trials.is_real
        real = in_condition & trials.is_real
        if not real.any():
            real = shared_real
            spec = conditions.get(name)
            speech = [lang for lang in spec.languages if lang] if spec else []
            if speech:  # A1/A2 are English only: their reals are the English test clips
                real = real & np.isin(trials.language, speech)
        if not fake.any() or not real.any():
            missing = "fake" if not fake.any() else "real"
            raise EvaluationError(f"condition {name} has no {missing} trials to score against")
        _check_unique(trials, real | fake, name)
        groups.append(Group(name, POOLED, trials.score[real], trials.score[fake]))
        if by_language:
            for language in sorted({str(lang) for lang in trials.language[fake] if lang}):
                in_language = trials.language == language
                if (real & in_language).any():
                    groups.append(
                        Group(
                            name,
                            language,
                            trials.score[real & in_language],
                            trials.score[fake & in_language],
                        )
                    )
    return groups


def _seed_for(seed: int, group: Group) -> np.random.SeedSequence:
    """A stream per condition that does not depend on which other rows are in the table.

    Rows of one condition share it, so a condition with one language (A1) gets the same interval
    on its pooled and its per-language row.
    """
    return np.random.SeedSequence([seed, zlib.crc32(group.condition.encode())])


def evaluate_groups(
    groups: Iterable[Group],
    polarity: Polarity = "fixed",
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> list[Row]:
    """Rows for the groups, then the CAVG/LAVG rows; ``resamples=0`` skips the intervals."""
    rows: list[Row] = []
    replicates: dict[tuple[str, str], np.ndarray] = {}
    for group in groups:
        where = group.condition + ("" if group.language == POOLED else f" ({group.language})")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", PolarityWarning)
            try:
                result = eer_from_classes(group.real, group.fake, polarity)
            except EvaluationError as error:
                raise EvaluationError(f"{where}: {error}") from error
        for warning in caught:
            warnings.warn(f"{where}: {warning.message}", PolarityWarning, stacklevel=2)
        interval: tuple[float | None, float | None] = (None, None)
        if resamples:
            draws = 100 * bootstrap_eers(
                group.real,
                group.fake,
                flipped=result.flipped,
                resamples=resamples,
                seed=_seed_for(seed, group),
            )
            replicates[(group.condition, group.language)] = draws
            interval = percentile_interval(draws)
        rows.append(
            Row(
                group.condition,
                group.language,
                result.percent,
                result.threshold,
                result.n_real,
                result.n_fake,
                *interval,
                flipped=result.flipped,
            )
        )
    return rows + average_rows(rows, replicates)


def average_rows(rows: list[Row], replicates: Mapping[tuple[str, str], np.ndarray]) -> list[Row]:
    """CAVG and LAVG per language level, over the members present (two or more).

    Their interval is the percentile interval of the averaged replicates; ``n_real`` and
    ``n_fake`` add up the member rows, so shared reals count once per member.
    """
    averages: list[Row] = []
    for name, members in AVERAGES.items():
        for language in dict.fromkeys(row.language for row in rows):
            chosen = [r for r in rows if r.condition in members and r.language == language]
            if len(chosen) < 2:
                continue
            interval: tuple[float | None, float | None] = (None, None)
            if replicates:
                mean_draws = np.mean([replicates[(r.condition, language)] for r in chosen], axis=0)
                interval = percentile_interval(mean_draws)
            averages.append(
                Row(
                    name,
                    language,
                    float(np.mean([r.eer for r in chosen])),
                    None,
                    sum(r.n_real for r in chosen),
                    sum(r.n_fake for r in chosen),
                    *interval,
                )
            )
    return averages


def _cell(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def format_table(rows: Iterable[Row], polarity: Polarity) -> str:
    """The table as printed by ``codecfake eval``."""
    explained = {
        "fixed": "fixed (ASVspoof 2021: higher score = more real)",
        "free": "free (min(EER(s), EER(-s)), as in the paper; 'sign' says which was lower)",
    }[polarity]
    header = (
        f"{'condition':<9} {'language':<8} {'EER %':>8} {'95% CI':>18} {'threshold':>11} "
        f"{'n_real':>8} {'n_fake':>8}"
    )
    lines = [f"polarity: {explained}", header + ("  sign" if polarity == "free" else "")]
    for row in rows:
        interval = "-" if row.ci_low is None else f"[{row.ci_low:.3f}, {row.ci_high:.3f}]"
        line = (
            f"{row.condition:<9} {row.language:<8} {row.eer:>8.3f} {interval:>18} "
            f"{_cell(row.threshold, '.4g'):>11} {row.n_real:>8,} {row.n_fake:>8,}"
        )
        if polarity == "free" and row.flipped is not None:
            line += "  -s" if row.flipped else "  s"
        lines.append(line)
    return "\n".join(lines)
