"""The log-likelihood-ratio cost CLLR, and minCLLR after PAV calibration; both in bits.

Convention: **bona fide (real) is the target class, and an LLR above 0 favours real.**

    CLLR = 1/2 * ( mean over real trials of log2(1 + exp(-llr))
                 + mean over fake trials of log2(1 + exp(+llr)) )

It is 0 for certain, correct LLRs, and 1 for a detector that always says "can't tell" (llr = 0).
It grows without bound for confident mistakes. So CLLR judges the scores as LLRs and needs them
(see :mod:`codecfake_evaluation.llr`).

**minCLLR** is the CLLR of the best monotone recalibration of the same scores. Pool adjacent
violators (PAV) fits the posterior of real as a non-decreasing step function of the score, with
tied scores pooled. Each step's LLR is its log odds less the log odds of the whole set. The
steps are the same whether the classes are weighted or not, so this minimises CLLR over every
monotone map, and ``minCLLR <= CLLR`` for any scores. Like the EER it only uses the order, so it
works on any score. ``CLLR - minCLLR`` is the calibration loss.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .eer import checked_scores

_LN2 = float(np.log(2.0))


def cllr(real_llr: Sequence[float] | np.ndarray, fake_llr: Sequence[float] | np.ndarray) -> float:
    """CLLR in bits of LLRs for real (target) and fake trials."""
    real = checked_scores(real_llr, "real")
    fake = checked_scores(fake_llr, "fake")
    real_cost = np.logaddexp(0.0, -real).mean() / _LN2
    fake_cost = np.logaddexp(0.0, fake).mean() / _LN2
    return float(0.5 * (real_cost + fake_cost))


def _pav_blocks(
    scores: np.ndarray, is_real: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """PAV over the distinct scores, ascending: each trial's block, and the blocks' counts.

    Counts stay integers and the merge test compares ``reals / trials`` by cross-multiplying, so
    the blocks are exact, with no floating-point ties.
    """
    distinct, trial_bin = np.unique(scores, return_inverse=True)
    bin_reals = np.bincount(trial_bin, weights=is_real, minlength=distinct.size).astype(np.int64)
    bin_trials = np.bincount(trial_bin, minlength=distinct.size).astype(np.int64)
    reals: list[int] = []
    trials: list[int] = []
    starts: list[int] = []
    for index, (r, n) in enumerate(zip(bin_reals.tolist(), bin_trials.tolist(), strict=True)):
        start = index
        while reals and reals[-1] * n >= r * trials[-1]:  # the block before is not lower: pool
            r += reals.pop()
            n += trials.pop()
            start = starts.pop()
        reals.append(r)
        trials.append(n)
        starts.append(start)
    bin_block = np.zeros(distinct.size, dtype=np.int64)
    bin_block[np.array(starts[1:], dtype=np.int64)] = 1
    return np.cumsum(bin_block)[trial_bin], np.array(reals), np.array(trials)


def pav(scores: Sequence[float] | np.ndarray, is_real: Sequence[bool] | np.ndarray) -> np.ndarray:
    """Each trial's PAV posterior of real: the isotonic (non-decreasing) fit of the labels."""
    values = checked_scores(scores, "scored")
    labels = np.asarray(is_real, dtype=bool).ravel()
    block, reals, trials = _pav_blocks(values, labels)
    return (reals / trials)[block]


def min_cllr(real: Sequence[float] | np.ndarray, fake: Sequence[float] | np.ndarray) -> float:
    """CLLR in bits after the optimal monotone (PAV) calibration of any scores (higher = more real).

    A block with ``r`` reals and ``f`` fakes gets ``llr = log((r / f) / (N_real / N_fake))``, so a
    real trial in it costs ``log2(1 + (f / r) * (N_real / N_fake))`` and a fake one
    ``log2(1 + (r / f) * (N_fake / N_real))``. A block of one class costs nothing.
    """
    real = checked_scores(real, "real")
    fake = checked_scores(fake, "fake")
    scores = np.concatenate((real, fake))
    is_real = np.concatenate((np.ones(real.size, bool), np.zeros(fake.size, bool)))
    _block, reals, trials = _pav_blocks(scores, is_real)
    fakes = trials - reals
    mixed = (reals > 0) & (fakes > 0)
    r, f = reals[mixed].astype(np.float64), fakes[mixed].astype(np.float64)
    odds = real.size / fake.size
    real_cost = np.sum(r * np.log1p(f / r * odds)) / _LN2
    fake_cost = np.sum(f * np.log1p(r / f / odds)) / _LN2
    return float(0.5 * (real_cost / real.size + fake_cost / fake.size))
