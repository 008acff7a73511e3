"""The reference countermeasure: LFCC features scored by a pair of Gaussian mixtures.

It follows the ASVspoof 2019/2021 LFCC-GMM baseline: linear-frequency cepstra keep the high bands
where codec and vocoder artefacts live (a mel scale would blur them), and one GMM per class turns
every frame into a log-likelihood ratio. Everything runs on CPU with NumPy, SciPy and
scikit-learn, and the trained model is a file of plain arrays that loads without executing code.
"""

from baseline.gmm import GmmPair, load_model, save_model
from baseline.lfcc import LfccConfig, lfcc

__all__ = ["GmmPair", "LfccConfig", "lfcc", "load_model", "save_model"]
