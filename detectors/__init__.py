"""The paper's detectors (Mel-LCNN, W2V2-LCNN, W2V2-AASIST): models, data, training and scoring.

The names users reach for, imported on first use (nothing heavy is imported by the package
itself, so ``codecfake --help`` stays light)::

    from codecfake_detectors import build_detector, load_official_checkpoint
"""

from __future__ import annotations

from codecfake_core.lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "build_detector": ".models.detector",
        "load_official_checkpoint": ".official",
        "detector_from_official": ".official",
    },
    lambda: globals(),
)
