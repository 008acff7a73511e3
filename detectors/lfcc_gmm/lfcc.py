"""Linear-frequency cepstral coefficients (LFCC), as in the ASVspoof LFCC-GMM baseline.

LFCC is MFCC with the mel warping removed: the triangular filters are spaced evenly up to Nyquist,
so the 4-8 kHz band, where codecs quantise most coarsely and vocoders leave their traces, gets
as many coefficients as the low band. The defaults are the ASVspoof 2019 ones: 20 ms Hamming
frames every 10 ms, a 512-point FFT, 20 filters, 20 cepstra, plus deltas and delta-deltas.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import cache
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy.fft import dct

ENERGY_FLOOR = 1e-10


@dataclass(frozen=True)
class LfccConfig:
    """Every setting that changes the features; stored with a model so scoring matches training."""

    sample_rate: int = 16_000
    win_length: int = 320
    hop_length: int = 160
    n_fft: int = 512
    n_filters: int = 20
    n_ceps: int = 20
    pre_emphasis: float = 0.97
    delta_width: int = 1
    """Frames each side in the delta regression; 0 keeps the static cepstra only."""

    @property
    def dim(self) -> int:
        return self.n_ceps * (3 if self.delta_width else 1)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@cache
def linear_filterbank(n_filters: int, n_fft: int, sample_rate: int) -> np.ndarray:
    """(n_filters, n_fft // 2 + 1) triangles with edges evenly spaced from 0 Hz to Nyquist."""
    bins = np.linspace(0.0, sample_rate / 2, n_fft // 2 + 1)
    edges = np.linspace(0.0, sample_rate / 2, n_filters + 2)
    left, centre, right = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bins - left) / (centre - left)
    falling = (right - bins) / (right - centre)
    bank = np.clip(np.minimum(rising, falling), 0.0, None)
    bank.setflags(write=False)
    return bank


def deltas(features: np.ndarray, width: int) -> np.ndarray:
    """Regression deltas over ``width`` frames each side, with edge frames repeated."""
    padded = np.pad(features, ((width, width), (0, 0)), mode="edge")
    count = len(features)
    weights = np.arange(1, width + 1)
    total = sum(
        w * (padded[width + w : width + w + count] - padded[width - w : width - w + count])
        for w in weights
    )
    return total / (2 * float(np.sum(weights**2)))


def lfcc(signal: np.ndarray, config: LfccConfig = LfccConfig()) -> np.ndarray:
    """(frames, config.dim) float32 LFCC of a mono waveform at ``config.sample_rate``.

    A clip shorter than one window is zero-padded to one frame, so every clip yields features.
    """
    x = np.asarray(signal, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"expected a mono waveform, got shape {x.shape}")
    if len(x) == 0:
        raise ValueError("cannot compute LFCC of an empty waveform")
    emphasised = np.append(x[0], x[1:] - config.pre_emphasis * x[:-1])
    if len(emphasised) < config.win_length:
        emphasised = np.pad(emphasised, (0, config.win_length - len(emphasised)))
    frames = sliding_window_view(emphasised, config.win_length)[:: config.hop_length]
    spectrum = np.fft.rfft(frames * np.hamming(config.win_length), n=config.n_fft)
    power = spectrum.real**2 + spectrum.imag**2
    bank = linear_filterbank(config.n_filters, config.n_fft, config.sample_rate)
    # A -100 dB floor: digital silence (padding, muted codec output) gives one finite point.
    log_energies = np.log(np.maximum(power @ bank.T, ENERGY_FLOOR))
    ceps = dct(log_energies, type=2, norm="ortho", axis=1)[:, : config.n_ceps]
    if config.delta_width:
        first = deltas(ceps, config.delta_width)
        ceps = np.hstack([ceps, first, deltas(first, config.delta_width)])
    return ceps.astype(np.float32)
