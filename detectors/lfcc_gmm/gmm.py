"""A pair of diagonal Gaussian mixtures, one for real speech and one for fakes, stored as arrays.

Why a GMM pair rather than a classifier on pooled statistics: it is the ASVspoof LFCC-GMM
tradition, it models frames, so a handful of utterances already gives thousands of training
vectors, and its score, the mean frame log-likelihood ratio log p(x|real) - log p(x|fake), has the
official polarity (higher = more real) by construction. scikit-learn fits the mixtures; scoring
is plain NumPy on the saved arrays, so a model file is data only: an ``.npz`` read with
``allow_pickle=False`` and a JSON metadata string, never a pickle.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from codecfake_core.io import atomic_open

from .lfcc import LfccConfig

MODEL_FORMAT = "codecfake-lfcc-gmm/1"
CLASSES = ("real", "fake")


@dataclass(frozen=True)
class DiagonalGmm:
    """Mixture weights (K,), means (K, D) and variances (K, D) of a diagonal-covariance GMM."""

    weights: np.ndarray
    means: np.ndarray
    variances: np.ndarray

    def log_likelihood(self, frames: np.ndarray) -> np.ndarray:
        """log p(x) of each frame (N,), through log-sum-exp over the components."""
        x = np.asarray(frames, dtype=np.float64)
        precision = 1.0 / self.variances
        # -0.5 * sum_d (x_d - mu_kd)^2 / var_kd, expanded so it is three matrix products.
        quadratic = (
            (x**2) @ precision.T
            - 2.0 * x @ (self.means * precision).T
            + np.sum(self.means**2 * precision, axis=1)
        )
        log_norm = -0.5 * (x.shape[1] * np.log(2 * np.pi) + np.sum(np.log(self.variances), axis=1))
        joint = np.log(self.weights) + log_norm - 0.5 * quadratic
        peak = joint.max(axis=1, keepdims=True)
        return (peak + np.log(np.exp(joint - peak).sum(axis=1, keepdims=True)))[:, 0]


def fit_gmm(frames: np.ndarray, components: int, seed: int, max_iter: int = 100) -> DiagonalGmm:
    """EM on ``frames`` with scikit-learn; returns only the arrays that scoring needs."""
    from sklearn.mixture import GaussianMixture

    if len(frames) < components:
        raise ValueError(f"{len(frames)} frames cannot fit {components} mixture components")
    mixture = GaussianMixture(
        n_components=components,
        covariance_type="diag",
        max_iter=max_iter,
        reg_covar=1e-4,
        random_state=seed,
    ).fit(np.asarray(frames, dtype=np.float64))  # float32 variances of silent frames can go < 0
    return DiagonalGmm(
        weights=mixture.weights_.astype(np.float64),
        means=mixture.means_.astype(np.float64),
        variances=mixture.covariances_.astype(np.float64),
    )


@dataclass(frozen=True)
class GmmPair:
    """The trained countermeasure: features, one GMM per class, and what it was trained on."""

    features: LfccConfig
    real: DiagonalGmm
    fake: DiagonalGmm
    metadata: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def fit(
        cls,
        real_frames: np.ndarray,
        fake_frames: np.ndarray,
        features: LfccConfig,
        components: int = 64,
        seed: int = 0,
        metadata: dict[str, Any] | None = None,
    ) -> GmmPair:
        return cls(
            features=features,
            real=fit_gmm(real_frames, components, seed),
            fake=fit_gmm(fake_frames, components, seed),
            metadata=dict(metadata or {}),
        )

    def score_frames(self, frames: np.ndarray) -> float:
        """Mean frame log-likelihood ratio: higher means more likely real."""
        ratio = self.real.log_likelihood(frames) - self.fake.log_likelihood(frames)
        return float(np.mean(ratio))

    def score(self, waveform: np.ndarray) -> float:
        from .lfcc import lfcc

        return self.score_frames(lfcc(waveform, self.features))


def save_model(model: GmmPair, path: os.PathLike[str] | str) -> Path:
    """Write ``model`` as an ``.npz`` of float arrays plus a JSON string, atomically."""
    target = Path(path)
    header = {"format": MODEL_FORMAT, "features": model.features.to_dict(), **model.metadata}
    arrays = {"metadata": np.array(json.dumps(header, sort_keys=True))}
    for name, gmm in zip(CLASSES, (model.real, model.fake), strict=True):
        arrays[f"{name}_weights"] = gmm.weights
        arrays[f"{name}_means"] = gmm.means
        arrays[f"{name}_variances"] = gmm.variances
    with atomic_open(target, "wb") as out:
        np.savez(out, **arrays)
    return target


def load_model(path: os.PathLike[str] | str) -> GmmPair:
    """Read a model written by :func:`save_model`; object arrays (pickles) are refused."""
    from codecfake import CodecfakeError

    try:
        with np.load(path, allow_pickle=False) as data:
            header = json.loads(str(data["metadata"]))
            if header.get("format") != MODEL_FORMAT:
                raise CodecfakeError(
                    f"{path}: not a {MODEL_FORMAT} model (format {header.get('format')!r})"
                )
            gmms = [
                DiagonalGmm(
                    data[f"{name}_weights"], data[f"{name}_means"], data[f"{name}_variances"]
                )
                for name in CLASSES
            ]
    except (OSError, ValueError, KeyError) as error:
        raise CodecfakeError(f"{path}: cannot read baseline model ({error})") from error
    features = LfccConfig(**header.pop("features"))
    header.pop("format")
    return GmmPair(features=features, real=gmms[0], fake=gmms[1], metadata=header)
