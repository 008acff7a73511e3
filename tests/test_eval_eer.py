"""The EER core against the ASVspoof 2021 definition, its invariances, the flip rule and errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from helpers.eer_reference import definition_eer
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from codecfake_evaluation.eer import (
    EvaluationError,
    PolarityWarning,
    bootstrap_eers,
    eer,
    eer_from_classes,
    percentile_interval,
)

# Small integer grids make ties between and within classes common.
scores = st.lists(st.integers(-12, 12).map(float), min_size=1, max_size=30)


def _quiet_fixed(real: list[float] | np.ndarray, fake: list[float] | np.ndarray):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PolarityWarning)
        return eer_from_classes(real, fake, "fixed")


@settings(max_examples=300, deadline=None)
@given(real=scores, fake=scores)
def test_matches_the_definition_with_ties(real: list[float], fake: list[float]) -> None:
    assume(len(set(real + fake)) >= 2)
    result = _quiet_fixed(real, fake)
    assert (result.eer, result.threshold) == definition_eer(real, fake)
    assert (result.n_real, result.n_fake) == (len(real), len(fake))


@settings(max_examples=150, deadline=None)
@given(real=scores, fake=scores, data=st.data())
def test_invariant_to_strictly_increasing_transforms(real, fake, data) -> None:
    assume(len(set(real + fake)) >= 2)
    transform = data.draw(
        st.sampled_from(
            [lambda x: np.exp(x / 5.0), lambda x: x**3 + 7 * x - 100, lambda x: np.arctan(x) * 9]
        )
    )
    before = _quiet_fixed(real, fake)
    after = _quiet_fixed(transform(np.array(real)), transform(np.array(fake)))
    assert after.eer == before.eer
    assert after.threshold == pytest.approx(transform(np.float64(before.threshold)))


@settings(max_examples=150, deadline=None)
@given(real=scores, fake=scores, seed=st.integers(0, 2**32 - 1))
def test_invariant_to_trial_order(real, fake, seed) -> None:
    assume(len(set(real + fake)) >= 2)
    values = np.array(real + fake)
    labels = np.array(["real"] * len(real) + ["fake"] * len(fake))
    order = np.random.default_rng(seed).permutation(values.size)
    for polarity in ("fixed", "free"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PolarityWarning)
            assert eer(values[order], labels[order], polarity) == eer(values, labels, polarity)


@settings(max_examples=100, deadline=None)
@given(real=scores, fake=scores, gap=st.floats(0.5, 100))
def test_zero_for_perfectly_separated_scores(real, fake, gap) -> None:
    shifted = np.array(real) - min(real) + max(fake) + gap  # every real above every fake
    assert eer_from_classes(shifted, fake).eer == 0.0
    # The same scores read the other way round fail completely unless polarity is free.
    with pytest.warns(PolarityWarning, match="> 50%"):
        assert eer_from_classes(-shifted, -np.array(fake)).eer == 1.0
    free = eer_from_classes(-shifted, -np.array(fake), "free")
    assert (free.eer, free.flipped) == (0.0, True)


@settings(max_examples=200, deadline=None)
@given(real=scores, fake=scores)
def test_free_polarity_is_the_smaller_of_both_readings(real, fake) -> None:
    assume(len(set(real + fake)) >= 2)
    plain = _quiet_fixed(real, fake)
    negated = _quiet_fixed(-np.array(real), -np.array(fake))
    free = eer_from_classes(real, fake, "free")
    assert free.eer == min(plain.eer, negated.eer)
    assert free.flipped == (negated.eer < plain.eer)
    assert free.polarity == "free"
    expected_threshold = -negated.threshold if free.flipped else plain.threshold
    assert free.threshold == expected_threshold


@settings(max_examples=200, deadline=None)
@given(
    real=st.lists(st.floats(-50, 50), min_size=1, max_size=40),
    fake=st.lists(st.floats(-50, 50), min_size=1, max_size=40),
)
def test_negating_distinct_scores_mirrors_the_eer(real, fake) -> None:
    """Without ties, EER(-s) = 1 - EER(s) up to the sweep's half step, 1 / (2 min(n_real, n_fake))."""
    assume(len(set(real + fake)) == len(real) + len(fake))
    plain = _quiet_fixed(real, fake)
    negated = _quiet_fixed(-np.array(real), -np.array(fake))
    assert abs(plain.eer + negated.eer - 1) <= 1 / (2 * min(len(real), len(fake))) + 1e-12


def test_labels_may_be_words_or_class_indices() -> None:
    rng = np.random.default_rng(3)
    values = np.concatenate([rng.normal(1, 1, 50), rng.normal(0, 1, 60)])
    words = ["real"] * 50 + ["fake"] * 60
    asvspoof = ["bonafide"] * 50 + ["spoof"] * 60
    indices = [0] * 50 + [1] * 60  # the dataset's ClassLabel: 0 real, 1 fake
    expected = eer_from_classes(values[:50], values[50:])
    assert eer(values, words) == eer(values, asvspoof) == eer(values, indices) == expected
    assert 0.2 < expected.eer < 0.45  # two unit Gaussians one apart: about 31%


@pytest.mark.parametrize(
    ("real", "fake", "message"),
    [
        ([0.1, float("nan")], [0.2], "NaN or infinite"),
        ([0.1], [float("inf"), 0.3], "NaN or infinite"),
        ([], [0.2, 0.3], "no real trials"),
        ([0.1, 0.4], [], "no fake trials"),
        ([0.5, 0.5], [0.5], "two distinct scores"),
    ],
)
def test_bad_scores_are_refused(real, fake, message) -> None:
    with pytest.raises(EvaluationError, match=message):
        eer_from_classes(real, fake)


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (["real", "fake", "genuine"], "unknown labels \\['genuine'\\]"),
        ([0, 1, 2], "unknown label indices \\[2\\]"),
        ([True, False, True], "boolean labels are ambiguous"),
        (["real", "fake"], "3 scores but 2 labels"),
    ],
)
def test_bad_labels_are_refused(labels, message) -> None:
    with pytest.raises(EvaluationError, match=message):
        eer([0.1, 0.2, 0.3], labels)


def test_unknown_polarity_is_refused() -> None:
    with pytest.raises(EvaluationError, match="unknown polarity 'flipped'"):
        eer_from_classes([1.0], [0.0], "flipped")  # type: ignore[arg-type]


def test_fixed_polarity_above_half_warns_and_says_so() -> None:
    with pytest.warns(PolarityWarning, match=r"75\.000% \(> 50%\)"):
        result = eer_from_classes([0.0, 1.0, 2.0, 7.0], [3.0, 4.0, 5.0, 6.0])
    assert (result.eer, result.polarity, result.flipped) == (0.75, "fixed", False)


def _resampled_eers(real: np.ndarray, fake: np.ndarray, resamples: int, seed: int) -> np.ndarray:
    """Bootstrap the slow, obvious way: resample each class, then take the EER of the copy."""
    rng = np.random.default_rng(seed)
    return np.array(
        [
            _quiet_fixed(rng.choice(real, real.size), rng.choice(fake, fake.size)).eer
            for _ in range(resamples)
        ]
    )


def test_bootstrap_matches_resampling_the_trials() -> None:
    rng = np.random.default_rng(7)
    real = np.round(rng.normal(1.0, 1.0, 80), 1)  # rounding makes ties
    fake = np.round(rng.normal(0.0, 1.0, 70), 1)
    fast = bootstrap_eers(real, fake, resamples=4000, seed=1)
    slow = _resampled_eers(real, fake, 1500, seed=2)
    assert fast.mean() == pytest.approx(slow.mean(), abs=0.006)
    assert fast.std() == pytest.approx(slow.std(), rel=0.12)
    assert np.percentile(fast, [5, 50, 95]) == pytest.approx(
        np.percentile(slow, [5, 50, 95]), abs=0.02
    )


def test_bootstrap_is_seeded_and_brackets_the_estimate() -> None:
    rng = np.random.default_rng(11)
    real, fake = rng.normal(1.5, 1, 3000), rng.normal(0, 1, 2500)
    first = bootstrap_eers(real, fake, resamples=500, seed=4)
    assert np.array_equal(first, bootstrap_eers(real, fake, resamples=500, seed=4))
    assert not np.array_equal(first, bootstrap_eers(real, fake, resamples=500, seed=5))
    low, high = percentile_interval(first)
    point = eer_from_classes(real, fake).eer
    assert low < point < high
    assert high - low < 0.05


def test_bootstrap_keeps_the_chosen_polarity() -> None:
    real, fake = np.arange(10.0), np.arange(10.0) + 20  # reversed and separated
    assert np.all(bootstrap_eers(real, fake, flipped=True, resamples=50) == 0.0)
    assert np.all(bootstrap_eers(real, fake, flipped=False, resamples=50) == 1.0)
