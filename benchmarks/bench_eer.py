"""EER of 1,058,216 scores (the size of the whole benchmark): ours against the definition.

Two references run on the same scores in the same process: the ASVspoof 2021 package's NumPy
recipe (stable argsort, cumulative sums over every threshold), and the definition as a plain
Python sweep. All three must agree to the bit. Scores are drawn from the published official
score files when ``../shared/fixtures/official_scores`` is present (real score distributions with
real ties), otherwise from two Gaussians rounded to float32.

    python -m benchmarks.bench_eer
"""

from __future__ import annotations

import gzip
import os
import time
from collections.abc import Callable

import numpy as np

from codecfake import TOTAL_CLIPS
from codecfake_evaluation.eer import bootstrap_eers, eer_from_classes
from testkit.shared_fixtures import OFFICIAL_SCORES as OFFICIAL


def load_scores(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, str]:
    """(real scores, fake scores, where they came from), n in all."""
    rng = np.random.default_rng(seed)
    files = sorted(OFFICIAL.glob("*/*.txt.gz"))
    if files:
        values, is_real = [], []
        for path in files:
            with gzip.open(path, "rt") as lines:
                for line in lines:
                    _, score, label = line.split()
                    values.append(float(score))
                    is_real.append(label == "real")
        pick = rng.integers(0, len(values), n)
        scores, real = np.array(values)[pick], np.array(is_real)[pick]
        source = f"resampled from {len(files)} official score files"
    else:
        real = rng.random(n) < 0.5
        scores = rng.normal(np.where(real, 1.0, 0.0), 1.0).astype(np.float32).astype(np.float64)
        source = "two Gaussians (official score files not found)"
    return scores[real], scores[~real], source


def asvspoof_recipe(real: np.ndarray, fake: np.ndarray) -> tuple[float, float]:
    """The ASVspoof 2021 evaluation package's computation, transcribed."""
    all_scores = np.concatenate((real, fake))
    labels = np.concatenate((np.ones(real.size), np.zeros(fake.size)))
    indices = np.argsort(all_scores, kind="mergesort")
    labels = labels[indices]
    target_sums = np.cumsum(labels)
    nontarget_sums = fake.size - (np.arange(1, labels.size + 1) - target_sums)
    frr = np.concatenate((np.atleast_1d(0), target_sums / real.size))
    far = np.concatenate((np.atleast_1d(1), nontarget_sums / fake.size))
    thresholds = np.concatenate(
        (np.atleast_1d(all_scores[indices[0]] - 0.001), all_scores[indices])
    )
    best = np.argmin(np.abs(frr - far))
    return float(np.mean((frr[best], far[best]))), float(thresholds[best])


def definition_sweep(real: np.ndarray, fake: np.ndarray) -> tuple[float, float]:
    """The definition as a loop: walk the sorted trials, keep the first smallest |FRR - FAR|."""
    order = np.argsort(np.concatenate((real, fake)), kind="stable")
    sorted_scores = np.concatenate((real, fake))[order].tolist()
    sorted_real = (order < real.size).tolist()
    rejected_real, accepted_fake = 0, fake.size
    best_gap, best = 2.0, (0.0, sorted_scores[0] - 0.001)
    frr, far = 0.0, 1.0
    for position in range(len(sorted_scores) + 1):
        if position:
            if sorted_real[position - 1]:
                rejected_real += 1
            else:
                accepted_fake -= 1
            frr, far = rejected_real / real.size, accepted_fake / fake.size
        if abs(frr - far) < best_gap:
            threshold = sorted_scores[position - 1] if position else sorted_scores[0] - 0.001
            best_gap, best = abs(frr - far), (float(np.mean((frr, far))), threshold)
    return best


def ours(real: np.ndarray, fake: np.ndarray) -> tuple[float, float]:
    result = eer_from_classes(real, fake)
    return result.eer, result.threshold


def best_time(function: Callable[[], object], repeats: int) -> tuple[float, object]:
    times, value = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        value = function()
        times.append(time.perf_counter() - started)
    return min(times), value


def main() -> None:
    real, fake, source = load_scores(TOTAL_CLIPS)
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"{os.cpu_count()} cores, load average {load} (a shared machine skews absolute times)")
    print(f"{real.size + fake.size:,} scores ({real.size:,} real, {fake.size:,} fake), {source}")
    results = {}
    for name, function, repeats in (
        ("codecfake (binary search)", ours, 5),
        ("ASVspoof 2021 recipe", asvspoof_recipe, 5),
        ("definition, Python sweep", definition_sweep, 1),
    ):
        results[name] = best_time(lambda f=function: f(real, fake), repeats)
    base = results["codecfake (binary search)"][0]
    print(f"{'implementation':<28} {'seconds':>8} {'x ours':>7}  EER %        threshold")
    for name, (seconds, (value, threshold)) in results.items():
        print(
            f"{name:<28} {seconds:>8.3f} {seconds / base:>7.1f}  {100 * value:.6f}  {threshold!r}"
        )
    values = {v for _, v in results.values()}
    assert len(values) == 1, f"implementations disagree: {values}"
    print("all three agree bit for bit")
    seconds, _ = best_time(lambda: bootstrap_eers(real, fake, resamples=1000, seed=0), 3)
    print(f"bootstrap, 1000 resamples of all {real.size + fake.size:,} trials: {seconds:.3f} s")


if __name__ == "__main__":
    main()
