"""The paper's three detectors as torch modules: a fixed front-end, then a trainable back-end.

Every detector reads the official 64,600-sample cut at 16 kHz and returns two logits; class 0 is
real, so the score written to a score file is ``softmax(logits)[:, 0]`` (higher = more real).
"""

from __future__ import annotations

from ..cut import OFFICIAL_INPUT_SAMPLES
from .aasist import W2VAASIST
from .detector import MODEL_NAMES, Detector, build_backend, build_detector, build_frontend
from .lcnn import LCNN
from .mel import MelFrontend
from .ssl import SSLFrontend

__all__ = [
    "LCNN",
    "MODEL_NAMES",
    "OFFICIAL_INPUT_SAMPLES",
    "W2VAASIST",
    "Detector",
    "MelFrontend",
    "SSLFrontend",
    "build_backend",
    "build_detector",
    "build_frontend",
]
