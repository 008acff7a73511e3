"""What a score means: a log-likelihood ratio, or a probability that is turned into one.

actDCF and CLLR judge each score as a decision, so they need log-likelihood ratios,
``log p(score | bona fide) - log p(score | spoof)``, with higher meaning more likely real. A
probability read as an LLR gives numbers that look plausible and mean nothing. Scores that all
lie in [0, 1] are almost surely probabilities (the official score files hold ``softmax[:, 0]``).
So these metrics refuse them unless the caller says what they are (``--scores llr|prob``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import numpy as np

from .eer import EvaluationError

ScoreKind = Literal["llr", "prob"]
SCORE_KINDS: tuple[str, ...] = ("llr", "prob")

_TINY = 2.0**-53
"""``1 - 2**-53`` is the largest float64 below 1, so a probability of exactly 0 or 1 becomes the
log-odds ``-/+ 36.7``: the most that float64 can tell apart from certainty."""


class ScoreKindError(EvaluationError):
    """A metric that needs LLRs got scores whose meaning is unknown or impossible."""


def check_score_kind(
    scores: Iterable[np.ndarray], kind: ScoreKind | None, metrics: Iterable[str]
) -> None:
    """Refuse to read scores that all lie in [0, 1] as LLRs, unless ``kind`` says what they are.

    ``scores`` is every score of the evaluation, not of one condition: one condition's LLRs may
    happen to fall in [0, 1], a whole score file's rarely do.
    """
    if kind is not None and kind not in SCORE_KINDS:
        raise ScoreKindError(f"unknown score kind {kind!r} (expected one of {SCORE_KINDS})")
    wanted = ", ".join(metrics)
    if kind is not None or not wanted:
        return
    arrays = [np.asarray(a, dtype=np.float64) for a in scores]
    if all(a.size == 0 or (a.min() >= 0.0 and a.max() <= 1.0) for a in arrays):
        raise ScoreKindError(
            f"{wanted} must be computed on log-likelihood ratios, but every score lies in [0, 1], as "
            "probabilities do: say what they are with --scores prob (turned into LLRs by logit) "
            "or --scores llr (score_kind= in evaluate())"
        )


def to_llr(scores: np.ndarray, kind: ScoreKind | None) -> np.ndarray:
    """The scores as LLRs: ``prob`` through the logit, anything else as it is.

    ``logit(p) = log(p / (1 - p))`` is the log posterior odds of real. It equals the LLR when the
    detector's effective training prior was even, which is the usual reading of a softmax score;
    a detector trained on other odds is off by a constant, which actDCF and CLLR then show as
    miscalibration (minDCF and minCLLR do not change).
    """
    values = np.asarray(scores, dtype=np.float64)
    if kind != "prob":
        return values
    outside = (values < 0.0) | (values > 1.0)
    if outside.any():
        first = float(values[int(np.argmax(outside))])
        raise ScoreKindError(
            f"--scores prob, but {int(outside.sum())} score(s) lie outside [0, 1] "
            f"(first: {first}); these look like LLRs: use --scores llr"
        )
    clipped = np.clip(values, _TINY, 1.0 - _TINY)
    return np.log(clipped) - np.log1p(-clipped)
