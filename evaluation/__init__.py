"""The benchmark's metric: EER per condition, exactly as the paper computes it.

``eer`` scores one set of trials; ``evaluate`` turns a dataset split and its scores into the
paper's table; ``codecfake eval`` does the same from score files. See ``evaluation.eer`` for the
definition and the polarity choice.
"""

from .api import EvaluationTable, evaluate
from .eer import EERResult, EvaluationError, PolarityWarning, eer, eer_from_classes

__all__ = [
    "EERResult",
    "EvaluationError",
    "EvaluationTable",
    "PolarityWarning",
    "eer",
    "eer_from_classes",
    "evaluate",
]
