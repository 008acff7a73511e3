"""The EER by its definition, spelled out slowly, to check the fast implementation against.

Tests that see an EER printed or recorded by the code under test recompute it here from the
scores themselves, so a wrong grouping of trials or a wrong formula shows up as a mismatch.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def definition_eer(real: Sequence[float], fake: Sequence[float]) -> tuple[float, float]:
    """(EER as a fraction, threshold) by the ASVspoof 2021 definition: stable sort of reals then
    fakes, a threshold after every sorted position, the first position with the smallest gap."""
    real, fake = list(real), list(fake)
    trials = sorted([(s, True) for s in real] + [(s, False) for s in fake], key=lambda t: t[0])
    best = None
    for cut in range(len(trials) + 1):  # threshold after the first `cut` sorted trials
        frr = sum(1 for _, is_real in trials[:cut] if is_real) / len(real)
        far = sum(1 for _, is_real in trials[cut:] if not is_real) / len(fake)
        threshold = trials[cut - 1][0] if cut else trials[0][0] - 0.001
        if best is None or abs(frr - far) < best[0]:
            best = (abs(frr - far), np.mean((frr, far)), threshold)
    assert best is not None
    return float(best[1]), float(best[2])
