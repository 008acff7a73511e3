"""What every detector hears of a clip: the official cut of about 4 s at 16 kHz.

The official AASIST/LCNN loaders crop each clip to its first 64,600 samples and repeat a shorter
one whole until it is that long, for training and for scoring alike (COUNTERMEASURES.md). The
neural detectors and the LFCC-GMM baseline read the length from here (the baseline crops but
never repeats: its score is a mean over frames).
"""

from __future__ import annotations

import numpy as np

OFFICIAL_INPUT_SAMPLES = 64_600
"""About 4 s at 16 kHz: what the official AASIST/LCNN detectors read from each clip."""


def official_cut(waveform: np.ndarray, samples: int = OFFICIAL_INPUT_SAMPLES) -> np.ndarray:
    """The first ``samples`` samples; a shorter clip is repeated whole until it is long enough.

    This is what every official loader feeds the detectors, for training and for scoring alike.
    """
    if len(waveform) == 0:
        raise ValueError("empty clip")
    cut = np.empty(samples, dtype=np.float32)
    filled = 0
    while filled < samples:
        piece = waveform[: samples - filled]
        cut[filled : filled + len(piece)] = piece
        filled += len(piece)
    return cut
