"""The equal error rate, exactly as the ASVspoof 2021 evaluation package defines it.

Polarity: **real (bona fide) is the target class and a higher score means more likely real.**
All trials are sorted by score (stable, reals before fakes among ties, as the package concatenates
them), a threshold is swept over every sorted position, and the EER is the mean of FRR (reals
rejected) and FAR (fakes accepted) at the first position where ``|FRR - FAR|`` is smallest.

The Codecfake paper reports that number *polarity-free*, ``min(EER(s), EER(-s))``; the official
repository's script does not flip. Both are here (``polarity="fixed"`` or ``"free"``) because both
are in use and can differ by up to 50 points; the result always says which one was used.

Why a search instead of the package's full sweep: ``FRR - FAR`` only ever grows along the sorted
trials, so its smallest magnitude sits where it changes sign. A binary search over the sorted
positions finds that place in ``O(log n)``, and the same search, drawing the bootstrap sample's
counts of each half as binomials on the way down, gives an exact bootstrap replicate without
materialising the resample. Both compare the same floats as the package, so the values are
bit-identical to it (see ``benchmarks/bench_eer.py``).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from codecfake import LABEL_NAMES, CodecfakeError

Polarity = Literal["fixed", "free"]
POLARITIES: tuple[str, ...] = ("fixed", "free")

DEFAULT_RESAMPLES = 1000
"""Bootstrap replicates behind each 95% interval. The search draws a replicate in ``O(log n)``,
so 1,000 of them cost about as much as one sort of the scores."""

LABEL_WORDS = {"real": True, "bonafide": True, "fake": False, "spoof": False}
"""Label words (lower case) -> whether they mean real: Codecfake's and ASVspoof's spellings."""


class EvaluationError(CodecfakeError, ValueError):
    """Scores or labels that no EER can be computed from; the message says which and why."""


class PolarityWarning(UserWarning):
    """A fixed-polarity EER above 50%: the scores probably mean "more likely fake"."""


@dataclass(frozen=True)
class EERResult:
    """An EER (a fraction, 0..1) and where it was taken.

    ``threshold`` is on the caller's score scale: a trial is called real when its score is above
    it, or, when ``flipped`` (free polarity chose ``-s``), when its score is below it.
    """

    eer: float
    threshold: float
    polarity: str
    flipped: bool
    n_real: int
    n_fake: int

    @property
    def percent(self) -> float:
        return 100.0 * self.eer


def labels_to_real(labels: Sequence[object] | np.ndarray) -> np.ndarray:
    """``True`` where a label means real: ``real``/``bonafide``, or the dataset's class index 0.

    Integer labels follow the dataset's ``ClassLabel`` (``codecfake.LABEL_NAMES``: 0 real, 1 fake),
    which is the opposite of the ASVspoof habit of 1 = target; booleans are refused for that reason.
    """
    array = np.asarray(labels)
    if array.dtype == bool:
        raise EvaluationError(
            "boolean labels are ambiguous; pass 'real'/'fake' strings or class indices "
            f"({', '.join(f'{i} = {n}' for i, n in enumerate(LABEL_NAMES))})"
        )
    if array.dtype.kind in "iu":
        unknown = sorted(set(np.unique(array).tolist()) - set(range(len(LABEL_NAMES))))
        if unknown:
            raise EvaluationError(
                f"unknown label indices {unknown[:5]} (expected 0 = real, 1 = fake)"
            )
        return array == LABEL_NAMES.index("real")
    values, inverse = np.unique(array.astype(str), return_inverse=True)
    unknown = [v for v in values.tolist() if v.lower() not in LABEL_WORDS]
    if unknown:
        raise EvaluationError(
            f"unknown labels {unknown[:5]} (expected real/fake or bonafide/spoof)"
        )
    return np.array([LABEL_WORDS[v.lower()] for v in values.tolist()], dtype=bool)[inverse]


def checked_scores(scores: Sequence[float] | np.ndarray, what: str) -> np.ndarray:
    """Scores as a flat float64 array, refused when empty or not finite (``what`` names them)."""
    array = np.asarray(scores, dtype=np.float64).ravel()
    if array.size == 0:
        raise EvaluationError(f"no {what} trials: every metric needs both real and fake scores")
    bad = ~np.isfinite(array)
    if bad.any():
        first = int(np.argmax(bad))
        raise EvaluationError(
            f"{int(bad.sum())} {what} score(s) are NaN or infinite (first: {array[first]} "
            f"at {what} trial {first})"
        )
    return array


@dataclass(frozen=True)
class SortedTrials:
    """Real and fake scores merged into the package's sort order, ready for threshold sweeps."""

    scores: np.ndarray  # ascending; reals before fakes among equal scores
    is_real: np.ndarray
    real_before: np.ndarray  # real_before[i]: reals among the first i sorted trials (len n + 1)
    n_real: int
    n_fake: int

    @classmethod
    def from_classes(cls, real: np.ndarray, fake: np.ndarray) -> SortedTrials:
        real, fake = np.sort(real), np.sort(fake)
        # Merge positions: a real goes after the fakes strictly below it, a fake after the reals
        # at or below it; that is the package's stable sort of [reals, fakes].
        real_pos = np.arange(real.size) + np.searchsorted(fake, real, side="left")
        fake_pos = np.arange(fake.size) + np.searchsorted(real, fake, side="right")
        scores = np.empty(real.size + fake.size)
        scores[real_pos], scores[fake_pos] = real, fake
        is_real = np.zeros(scores.size, dtype=bool)
        is_real[real_pos] = True
        real_before = np.concatenate(([0], np.cumsum(is_real)))
        return cls(scores, is_real, real_before, real.size, fake.size)

    def error_rates(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """FRR, FAR and threshold at every sweep position (the package's arrays, for DET plots)."""
        positions = np.arange(self.scores.size + 1)
        frr = self.real_before / self.n_real
        far = (self.n_fake - (positions - self.real_before)) / self.n_fake
        thresholds = np.concatenate(([self.scores[0] - 0.001], self.scores))
        return frr, far, thresholds


Draw = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
"""(count in an interval, trials in its left half, trials in it) -> count in the left half."""


def _exact_draw(count: np.ndarray, left: np.ndarray, total: np.ndarray) -> np.ndarray:
    return left


def _crossing(trials: SortedTrials, replicates: int, draw: Draw) -> tuple[np.ndarray, np.ndarray]:
    """Reals and fakes below the EER point, per replicate, by binary search for the sign change.

    Counts are kept as integers scaled by ``n_real * n_fake``, so ``gap = FRR - FAR`` is exact:
    ``gap * n_real * n_fake = reals_below * n_fake + fakes_below * n_real - n_real * n_fake``.
    """
    n_r, n_f = trials.n_real, trials.n_fake
    prefix_real = trials.real_before
    prefix_fake = np.arange(prefix_real.size) - prefix_real
    lo = np.zeros(replicates, dtype=np.int64)  # invariant: gap after the trials < lo is < 0
    hi = np.full(replicates, trials.scores.size, dtype=np.int64)  # ... and after < hi is >= 0
    real_lo = np.zeros(replicates, dtype=np.int64)
    fake_lo = np.zeros(replicates, dtype=np.int64)
    real_in = np.full(replicates, n_r, dtype=np.int64)
    fake_in = np.full(replicates, n_f, dtype=np.int64)
    while (open_ := hi - lo > 1).any():
        mid = np.where(open_, (lo + hi) // 2, hi)
        real_left = draw(
            real_in, prefix_real[mid] - prefix_real[lo], prefix_real[hi] - prefix_real[lo]
        )
        fake_left = draw(
            fake_in, prefix_fake[mid] - prefix_fake[lo], prefix_fake[hi] - prefix_fake[lo]
        )
        gap_mid = (real_lo + real_left) * n_f + (fake_lo + fake_left) * n_r - n_r * n_f
        go_left = gap_mid >= 0
        hi = np.where(go_left, mid, hi)
        lo = np.where(go_left, lo, mid)
        real_lo = np.where(go_left, real_lo, real_lo + real_left)
        fake_lo = np.where(go_left, fake_lo, fake_lo + fake_left)
        real_in = np.where(go_left, real_left, real_in - real_left)
        fake_in = np.where(go_left, fake_left, fake_in - fake_left)
    # Trial `lo` (with its resampled copies) carries the sign change. Step through its copies:
    # the smallest |gap| is at the last copy count k0 with gap <= 0 or at k0 + 1.
    lands_real = trials.is_real[lo]
    step = np.where(lands_real, n_f, n_r)
    copies = real_in + fake_in
    gap_before = real_lo * n_f + fake_lo * n_r - n_r * n_f
    k0 = np.minimum(-gap_before // step, copies)
    k1 = np.minimum(k0 + 1, copies)
    real_k = [real_lo + np.where(lands_real, k, 0) for k in (k0, k1)]
    fake_k = [fake_lo + np.where(lands_real, 0, k) for k in (k0, k1)]
    # Compare the same floats the package compares, so ties between the two resolve alike.
    frr = [r / n_r for r in real_k]
    far = [(n_f - f) / n_f for f in fake_k]
    first = np.abs(frr[0] - far[0]) <= np.abs(frr[1] - far[1])
    return np.where(first, real_k[0], real_k[1]), np.where(first, fake_k[0], fake_k[1])


def _eer_at(real_below: np.ndarray, fake_below: np.ndarray, n_real: int, n_fake: int) -> np.ndarray:
    frr = real_below / n_real
    far = (n_fake - fake_below) / n_fake
    return (frr + far) / 2


def _fixed_eer(real: np.ndarray, fake: np.ndarray) -> tuple[float, float]:
    trials = SortedTrials.from_classes(real, fake)
    real_below, fake_below = _crossing(trials, 1, _exact_draw)
    position = int(real_below[0] + fake_below[0])
    threshold = trials.scores[position - 1] if position else trials.scores[0] - 0.001
    return float(_eer_at(real_below, fake_below, real.size, fake.size)[0]), float(threshold)


def eer_from_classes(
    real: Sequence[float] | np.ndarray,
    fake: Sequence[float] | np.ndarray,
    polarity: Polarity = "fixed",
) -> EERResult:
    """EER of real against fake scores (higher = more real), with ``fixed`` or ``free`` polarity.

    ``free`` is the paper's ``min(EER(s), EER(-s))``: it also scores a detector whose outputs mean
    "more likely fake". ``fixed`` warns (:class:`PolarityWarning`) when the EER exceeds 50%.
    """
    if polarity not in POLARITIES:
        raise EvaluationError(f"unknown polarity {polarity!r} (expected one of {POLARITIES})")
    real = checked_scores(real, "real")
    fake = checked_scores(fake, "fake")
    if min(real.min(), fake.min()) == max(real.max(), fake.max()):
        raise EvaluationError("all scores are equal: an EER needs at least two distinct scores")
    value, threshold = _fixed_eer(real, fake)
    flipped = False
    if polarity == "free":
        flipped_value, flipped_threshold = _fixed_eer(-real, -fake)
        if flipped_value < value:
            value, threshold, flipped = flipped_value, -flipped_threshold, True
    elif value > 0.5:
        warnings.warn(
            f"fixed-polarity EER is {100 * value:.3f}% (> 50%): these scores may mean "
            "'more likely fake'; the paper's polarity-free EER (polarity 'free') flips them",
            PolarityWarning,
            stacklevel=2,
        )
    return EERResult(value, threshold, polarity, flipped, real.size, fake.size)


def eer(
    scores: Sequence[float] | np.ndarray,
    labels: Sequence[object] | np.ndarray,
    polarity: Polarity = "fixed",
) -> EERResult:
    """EER of scores (higher = more real) with labels ``real``/``fake`` (or ``bonafide``/``spoof``,
    or the dataset's class indices 0 = real, 1 = fake)."""
    values = np.asarray(scores, dtype=np.float64).ravel()
    is_real = labels_to_real(labels).ravel()
    if values.size != is_real.size:
        raise EvaluationError(f"{values.size} scores but {is_real.size} labels")
    return eer_from_classes(values[is_real], values[~is_real], polarity)


def bootstrap_eers(
    real: np.ndarray,
    fake: np.ndarray,
    *,
    flipped: bool = False,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int | np.random.SeedSequence = 0,
) -> np.ndarray:
    """EERs of ``resamples`` bootstrap replicates (reals and fakes resampled separately).

    A free-polarity EER keeps the polarity chosen on the full sample (``flipped``) in every
    replicate: choosing again per replicate would bias the interval towards zero.
    """
    real = np.asarray(real, dtype=np.float64)
    fake = np.asarray(fake, dtype=np.float64)
    if flipped:
        real, fake = -real, -fake
    rng = np.random.default_rng(seed)

    def binomial_split(count: np.ndarray, left: np.ndarray, total: np.ndarray) -> np.ndarray:
        share = np.divide(left, total, out=np.zeros(left.shape), where=total > 0)
        return rng.binomial(count, share)

    trials = SortedTrials.from_classes(real, fake)
    real_below, fake_below = _crossing(trials, resamples, binomial_split)
    return _eer_at(real_below, fake_below, real.size, fake.size)


def percentile_interval(replicates: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """The percentile bootstrap interval of ``replicates``."""
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(replicates, [tail, 100 - tail])
    return float(low), float(high)
