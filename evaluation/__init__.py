"""The benchmark's metric: EER per condition, exactly as the paper computes it, and ASVspoof 5's.

``eer`` scores one set of trials; ``evaluate`` turns a dataset split and its scores into the
paper's table; ``codecfake eval`` does the same from score files. See ``codecfake_evaluation.eer``
for the definition and the polarity choice. ``min_dcf``/``act_dcf`` (``codecfake_evaluation.dcf``)
and ``cllr``/``min_cllr`` (``codecfake_evaluation.cllr``) are the ASVspoof 5 measures;
``codecfake results`` compares result records (``codecfake_evaluation.records``) with the
paper's (``codecfake_evaluation.paper``).

The NumPy-only metrics are imported here; ``evaluate`` and ``EvaluationTable`` (score readers,
tables) on first use, so ``import codecfake_evaluation.eer`` costs NumPy and :mod:`codecfake`.
"""

from __future__ import annotations

from codecfake_core.lazy import lazy_exports

from .cllr import cllr, min_cllr
from .dcf import ASVSPOOF5, CostModel, act_dcf, min_dcf
from .eer import EERResult, EvaluationError, PolarityWarning, eer, eer_from_classes

__all__ = [
    "ASVSPOOF5",
    "CostModel",
    "EERResult",
    "EvaluationError",
    "EvaluationTable",
    "PolarityWarning",
    "act_dcf",
    "cllr",
    "eer",
    "eer_from_classes",
    "evaluate",
    "min_cllr",
    "min_dcf",
]


__getattr__, __dir__ = lazy_exports(
    __name__, {"EvaluationTable": ".api", "evaluate": ".api"}, lambda: globals()
)
