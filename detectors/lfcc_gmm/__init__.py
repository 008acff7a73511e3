"""The reference countermeasure: LFCC features scored by a pair of Gaussian mixtures.

It follows the ASVspoof 2019/2021 LFCC-GMM baseline: linear-frequency cepstra keep the high bands
where codec and vocoder artefacts live (a mel scale would blur them), and one GMM per class turns
every frame into a log-likelihood ratio. Everything runs on CPU with NumPy, SciPy and
scikit-learn, and the trained model is a file of plain arrays that loads without executing code.

Modules: :mod:`codecfake_detectors.lfcc_gmm.lfcc` (features), :mod:`codecfake_detectors.lfcc_gmm.gmm` (the model and its file),
:mod:`codecfake_detectors.lfcc_gmm.stream` (clips from a dataset), :mod:`codecfake_detectors.lfcc_gmm.train`, :mod:`codecfake_detectors.lfcc_gmm.score`,
and :mod:`codecfake_detectors.lfcc_gmm.leave_one_out` (the fixture EER); ``codecfake baseline``
is :class:`codecfake_detectors.cli.Baseline`.
Nothing is imported here, so ``codecfake --help`` does not pay for SciPy.
"""
