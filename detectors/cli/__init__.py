"""``codecfake train``, ``codecfake score`` and ``codecfake detect``: the paper's detectors.

`train` fits Mel-LCNN, W2V2-LCNN or W2V2-AASIST with the paper's recipe straight from a prepared
dataset (no feature files), on CPU, a GPU or N ranks under torchrun, and resumes when rerun.
`score` writes the official `filename score label` file that `codecfake eval` reads. `detect`
scores your own audio files. `--model lfcc-gmm` (train) and an lfcc-gmm run folder (score,
detect) run the reference baseline under the same commands; `codecfake baseline train|score`
runs it with all of its own options (the work is :mod:`codecfake_detectors.lfcc_gmm`).

Each command is a class of its own module here (``codecfake_cli`` reads
``codecfake_detectors.cli:Train`` and so on); what they share is :mod:`.options`.
"""

from .baseline import Baseline
from .detect import Detect
from .score import Score
from .train import Train

__all__ = ["Baseline", "Detect", "Score", "Train"]
