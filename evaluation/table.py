"""The paper's table: EER per condition (and per language), with the CAVG and LAVG averages.

Which reals a condition is scored against: the reals tied to it (its own score file's reals, or
A3's own AudioCaps clips), or else the shared real test clips in that condition's languages. So a
folder of one score file per condition reproduces the paper, and so does one score file (or one
dataset split) over everything, where each codec's fakes meet the same reals, as in the paper.
"""

from __future__ import annotations

import warnings
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields

import numpy as np

from codecfake import CODEC_CONDITIONS, CONDITIONS, REAL_CONDITION, Condition

from .cllr import cllr, min_cllr
from .dcf import act_dcf, min_dcf
from .eer import (
    DEFAULT_RESAMPLES,
    EvaluationError,
    Polarity,
    PolarityWarning,
    bootstrap_eers,
    eer_from_classes,
    percentile_interval,
)
from .llr import ScoreKind, check_score_kind, to_llr
from .scores import Trials

POOLED = "all"
"""The ``language`` of a row that pools every language."""

ALM_CONDITIONS = tuple(n for n, c in CONDITIONS.items() if c.kind == "alm")
AVERAGES = {"CAVG": CODEC_CONDITIONS, "LAVG": ALM_CONDITIONS}
"""The paper's averages: over the codec conditions C1..C7 and the ALM sets A1..A3 present."""

JSON_KEYS = ("condition", "language", "eer", "threshold", "n_real", "n_fake", "ci_low", "ci_high")
"""The keys of every row; the metrics asked beyond the EER follow them (:data:`METRIC_KEYS`)."""

METRICS = ("eer", "mindcf", "actdcf", "cllr", "mincllr")
"""What ``--metrics`` takes. The EER is always computed: it is the benchmark's number, and under
free polarity it picks the orientation that every other metric of the row then uses. ``cllr``
brings ``mincllr`` with it, since their difference is the calibration loss."""
METRIC_KEYS = ("mindcf", "actdcf", "cllr", "mincllr")
NEEDS_LLR = ("actdcf", "cllr")
"""The metrics that read each score as a log-likelihood ratio (see :mod:`codecfake_evaluation.llr`)."""
METRIC_TITLES = {"mindcf": "minDCF", "actdcf": "actDCF", "cllr": "CLLR", "mincllr": "minCLLR"}

POLARITY_RULES = {
    "fixed": "fixed (ASVspoof 2021: higher score = more real)",
    "free": "free (min(EER(s), EER(-s)), as in the paper; 'sign' says which was lower)",
}


def metric_keys(metrics: Iterable[str]) -> tuple[str, ...]:
    """The row keys, beyond the EER's, that the named metrics fill, in table order."""
    names = set(metrics)
    unknown = sorted(names - set(METRICS))
    if unknown:
        raise EvaluationError(
            f"unknown metric(s) {unknown} (expected some of {', '.join(METRICS)})"
        )
    if "cllr" in names:
        names.add("mincllr")
    return tuple(key for key in METRIC_KEYS if key in names)


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
    mindcf: float | None = None
    actdcf: float | None = None
    cllr: float | None = None  # bits
    mincllr: float | None = None  # bits

    def to_json(self) -> dict[str, object]:
        """The fixed keys, then those metrics of :data:`METRIC_KEYS` that were computed."""
        extra = {key: getattr(self, key) for key in METRIC_KEYS if getattr(self, key) is not None}
        return {**{key: getattr(self, key) for key in JSON_KEYS}, **extra}

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Row:
        """A row read back from :meth:`to_json` (a result record's table)."""
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})  # type: ignore[arg-type]


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
    if not present:
        raise EvaluationError(
            f"no fake trials among the {len(trials.score):,} scored ({int(shared_real.sum()):,} "
            "real): an EER needs fakes too. Score a test split with its fakes (F0k_/C3-1_/L1_ "
            "names, or label 'fake' in the score file's third column)"
        )
    groups: list[Group] = []
    for name in sorted(present, key=lambda n: _condition_order(n, conditions)):
        in_condition = trials.condition == name
        fake = in_condition & ~trials.is_real
        real = in_condition & trials.is_real
        if not real.any():
            real = shared_real
            spec = conditions.get(name)
            speech = [lang for lang in spec.languages if lang] if spec else []
            if len(speech) == 1:  # A1/A2 are English only: their reals are the English clips
                real = real & (trials.language == speech[0])
            elif speech:  # a codec pools its languages, and reals no name places (as C1 does)
                real = real & np.isin(trials.language, [*speech, ""])
        if not fake.any():
            raise EvaluationError(f"condition {name} has no fake trials to score against")
        if not real.any():
            raise EvaluationError(_no_reals(name, trials, shared_real))
        _check_unique(trials, real | fake, name)
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


def _no_reals(name: str, trials: Trials, shared_real: np.ndarray) -> str:
    """Why ``name`` has no reals to meet: none scored, or none in its language."""
    if not shared_real.any():
        return (
            f"condition {name} has no real trials to score against: the scores hold fakes only; "
            "score the real test clips too"
        )
    unplaced = int((shared_real & (trials.language == "")).sum())
    return (
        f"condition {name} has no real trials in its language to score against: {unplaced:,} "
        "real trials have names that tell no language (expected VCTK 'pNNN_NNN.wav' or "
        "AISHELL-3 'SSBxxxxyyyy.wav'); name them so, or label them with --labels or --dataset"
    )


def _seed_for(seed: int, group: Group) -> np.random.SeedSequence:
    """A stream per condition that does not depend on which other rows are in the table.

    Rows of one condition share it, so a condition with one language (A1) gets the same interval
    on its pooled and its per-language row.
    """
    return np.random.SeedSequence([seed, zlib.crc32(group.condition.encode())])


def _metrics_of(
    group: Group, flipped: bool, keys: Sequence[str], score_kind: ScoreKind | None
) -> dict[str, float]:
    """The metrics beyond the EER, on the scores turned the way the row's EER took them."""
    sign = -1.0 if flipped else 1.0
    real, fake = sign * group.real, sign * group.fake
    values: dict[str, float] = {}
    if "mindcf" in keys:
        values["mindcf"] = min_dcf(real, fake)
    if "mincllr" in keys:
        values["mincllr"] = min_cllr(real, fake)
    if any(key in NEEDS_LLR for key in keys):
        # logit(1 - p) = -logit(p): flipping a probability flips its LLR.
        real_llr = sign * to_llr(group.real, score_kind)
        fake_llr = sign * to_llr(group.fake, score_kind)
        if "actdcf" in keys:
            values["actdcf"] = act_dcf(real_llr, fake_llr)
        if "cllr" in keys:
            values["cllr"] = cllr(real_llr, fake_llr)
    return values


def evaluate_groups(
    groups: Iterable[Group],
    polarity: Polarity = "fixed",
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    metrics: Iterable[str] = ("eer",),
    score_kind: ScoreKind | None = None,
) -> list[Row]:
    """Rows for the groups, then the CAVG/LAVG rows; ``resamples=0`` skips the intervals.

    ``metrics`` adds minDCF, actDCF and CLLR/minCLLR (see :data:`METRICS`); actDCF and CLLR need
    ``score_kind`` when every score lies in [0, 1] (:func:`codecfake_evaluation.llr.check_score_kind`).
    """
    groups = list(groups)
    keys = metric_keys(metrics)
    llr_metrics = [METRIC_TITLES[key] for key in keys if key in NEEDS_LLR]
    check_score_kind((a for g in groups for a in (g.real, g.fake)), score_kind, llr_metrics)
    rows: list[Row] = []
    replicates: dict[tuple[str, str], np.ndarray] = {}
    for group in groups:
        where = group.condition + ("" if group.language == POOLED else f" ({group.language})")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", PolarityWarning)
            try:
                result = eer_from_classes(group.real, group.fake, polarity)
                extra = _metrics_of(group, result.flipped, keys, score_kind)
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
                **extra,
            )
        )
    return rows + average_rows(rows, replicates)


def average_members(conditions: Iterable[str]) -> dict[str, list[str]]:
    """CAVG and LAVG with the conditions they average, where two or more of them are present."""
    present = list(dict.fromkeys(conditions))
    chosen = {name: [c for c in present if c in members] for name, members in AVERAGES.items()}
    return {name: members for name, members in chosen.items() if len(members) >= 2}


def average_rows(rows: list[Row], replicates: Mapping[tuple[str, str], np.ndarray]) -> list[Row]:
    """CAVG and LAVG per language level, over the members present (two or more).

    Their interval is the percentile interval of the averaged replicates; ``n_real`` and
    ``n_fake`` add up the member rows, so shared reals count once per member.
    """
    averages: list[Row] = []
    for name in AVERAGES:
        for language in dict.fromkeys(row.language for row in rows):
            at_language = {r.condition: r for r in rows if r.language == language}
            members = average_members(at_language).get(name)
            if not members:
                continue
            chosen = [at_language[c] for c in members]
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
                    **{
                        key: float(np.mean([getattr(r, key) for r in chosen]))
                        for key in METRIC_KEYS
                        if all(getattr(r, key) is not None for r in chosen)
                    },
                )
            )
    return averages


def _cell(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def format_table(rows: Iterable[Row], polarity: Polarity) -> str:
    """The table as printed by ``codecfake eval``: the EER's columns, then any other metric's.

    DCFs are plain numbers (1 = the better trivial system) and CLLRs are in bits.
    """
    rows = list(rows)
    keys = [k for k in METRIC_KEYS if any(getattr(r, k) is not None for r in rows)]
    header = (
        f"{'condition':<9} {'language':<8} {'EER %':>8} {'95% CI':>18} {'threshold':>11} "
        f"{'n_real':>8} {'n_fake':>8}" + "".join(f" {METRIC_TITLES[k]:>8}" for k in keys)
    )
    lines = [
        f"polarity: {POLARITY_RULES[polarity]}",
        header + ("  sign" if polarity == "free" else ""),
    ]
    if any(k in ("cllr", "mincllr") for k in keys):
        lines.insert(
            1,
            "CLLR and minCLLR in bits; DCFs with ASVspoof 5 costs, 1 = no better than a trivial system",
        )
    elif keys:
        lines.insert(
            1, "DCFs with ASVspoof 5 costs (P_spoof 0.05, C_miss 1, C_fa 10): 1 = a trivial system"
        )
    for row in rows:
        interval = "-" if row.ci_low is None else f"[{row.ci_low:.3f}, {row.ci_high:.3f}]"
        line = (
            f"{row.condition:<9} {row.language:<8} {row.eer:>8.3f} {interval:>18} "
            f"{_cell(row.threshold, '.4g'):>11} {row.n_real:>8,} {row.n_fake:>8,}"
        ) + "".join(f" {_cell(getattr(row, k), '.4f'):>8}" for k in keys)
        if polarity == "free" and row.flipped is not None:
            line += "  -s" if row.flipped else "  s"
        lines.append(line)
    return "\n".join(lines)
