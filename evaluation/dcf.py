"""The detection cost function, as ASVspoof 5 scores countermeasures: minDCF and actDCF.

Convention: **bona fide (real) is the target class, and a higher score means more likely real.**
A trial is accepted as real when its score is at or above the threshold. Then

    DCF(t) = C_miss * P_bona * P_miss(t) + C_fa * P_spoof * P_fa(t)

with ``P_miss(t)`` the share of real trials scored below ``t`` and ``P_fa(t)`` the share of fake
trials scored at or above it. The value is divided by ``min(C_miss * P_bona, C_fa * P_spoof)``,
the cost of the better of the two systems that decide without listening (accept all, reject
all). So 1 means "no better than not looking", and 0 is perfect. With ASVspoof 5's countermeasure
costs (P_spoof 0.05, C_miss 1, C_fa 10), accepting everything scores 1 and rejecting everything
1.9.

- **minDCF** is the lowest DCF over every threshold. Like the EER it only ranks the scores, so
  it works on any score.
- **actDCF** is the DCF at the Bayes threshold ``log(C_fa * P_spoof / (C_miss * P_bona))``
  (-0.642 here), which is where an LLR should be cut. It says how good the detector's own
  decisions are, so it is only meaningful on LLRs (see :mod:`codecfake_evaluation.llr`).

actDCF's threshold is one of minDCF's sweep positions (the real trials below it come first in
the sort), so ``minDCF <= actDCF`` holds exactly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .eer import EvaluationError, SortedTrials, checked_scores


@dataclass(frozen=True)
class CostModel:
    """The prior of a spoof and the costs of the two errors."""

    p_spoof: float
    c_miss: float
    c_fa: float

    def __post_init__(self) -> None:
        if not 0.0 < self.p_spoof < 1.0:
            raise EvaluationError(f"P_spoof must lie strictly between 0 and 1, got {self.p_spoof}")
        if self.c_miss <= 0 or self.c_fa <= 0:
            raise EvaluationError(
                f"costs must be positive, got C_miss {self.c_miss}, C_fa {self.c_fa}"
            )

    @property
    def p_bona(self) -> float:
        return 1.0 - self.p_spoof

    @property
    def default_cost(self) -> float:
        """The cost of the better trivial system: the normaliser."""
        return min(self.c_miss * self.p_bona, self.c_fa * self.p_spoof)

    @property
    def bayes_threshold(self) -> float:
        """Where an LLR is cut: accepting real above it costs less, on average, than rejecting."""
        return math.log(self.c_fa * self.p_spoof / (self.c_miss * self.p_bona))

    def normalised(self, p_miss: np.ndarray | float, p_fa: np.ndarray | float) -> np.ndarray:
        cost = self.c_miss * self.p_bona * np.asarray(
            p_miss
        ) + self.c_fa * self.p_spoof * np.asarray(p_fa)
        return cost / self.default_cost


ASVSPOOF5 = CostModel(p_spoof=0.05, c_miss=1.0, c_fa=10.0)
"""The ASVspoof 5 countermeasure (track 1) costs."""


def min_dcf(
    real: Sequence[float] | np.ndarray,
    fake: Sequence[float] | np.ndarray,
    costs: CostModel = ASVSPOOF5,
) -> float:
    """The lowest normalised DCF over every threshold (any score, higher = more real)."""
    trials = SortedTrials.from_classes(checked_scores(real, "real"), checked_scores(fake, "fake"))
    frr, far, _thresholds = trials.error_rates()
    return float(costs.normalised(frr, far).min())


def dcf_at(
    real: Sequence[float] | np.ndarray,
    fake: Sequence[float] | np.ndarray,
    threshold: float,
    costs: CostModel = ASVSPOOF5,
) -> float:
    """The normalised DCF when trials scored at or above ``threshold`` are accepted as real."""
    real = checked_scores(real, "real")
    fake = checked_scores(fake, "fake")
    p_miss = np.count_nonzero(real < threshold) / real.size
    p_fa = np.count_nonzero(fake >= threshold) / fake.size
    return float(costs.normalised(p_miss, p_fa))


def act_dcf(
    real_llr: Sequence[float] | np.ndarray,
    fake_llr: Sequence[float] | np.ndarray,
    costs: CostModel = ASVSPOOF5,
) -> float:
    """The normalised DCF of LLRs (higher = more real) cut at the Bayes threshold."""
    return dcf_at(real_llr, fake_llr, costs.bayes_threshold, costs)
