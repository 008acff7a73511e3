"""The Mel-LCNN front-end: an 80-band mel power spectrogram, as the published checkpoint expects.

Written in torch rather than taken from torchaudio (not a dependency), with torchaudio's
``MelSpectrogram`` defaults that the authors' commented-out extraction used: periodic Hann window,
centred frames with reflect padding, power 2, HTK mel scale, no filter normalisation and no log
(the checkpoint saturates on log-mel inputs, see docs/COUNTERMEASURES.md).
"""

from __future__ import annotations

import torch

from ..cut import OFFICIAL_INPUT_SAMPLES

SAMPLE_RATE = 16_000
N_FFT = 512
HOP_LENGTH = 128
N_MELS = 80


def hz_to_mel(hz: torch.Tensor) -> torch.Tensor:
    """The HTK mel scale."""
    return 2595.0 * torch.log10(1.0 + hz / 700.0)


def mel_to_hz(mel: torch.Tensor) -> torch.Tensor:
    return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)


def mel_filterbank(
    n_freqs: int = N_FFT // 2 + 1, n_mels: int = N_MELS, sample_rate: int = SAMPLE_RATE
) -> torch.Tensor:
    """Triangular filters (n_freqs, n_mels), peak 1, edges equally spaced in HTK mel, 0 Hz to Nyquist.

    Computed in float64 so the float32 result does not depend on the order of operations.
    """
    freqs = torch.linspace(0.0, sample_rate / 2, n_freqs, dtype=torch.float64)
    top = hz_to_mel(torch.tensor(sample_rate / 2, dtype=torch.float64))
    edges = mel_to_hz(torch.linspace(0.0, float(top), n_mels + 2, dtype=torch.float64))
    widths = edges[1:] - edges[:-1]
    offsets = edges.unsqueeze(0) - freqs.unsqueeze(1)  # (n_freqs, n_mels + 2)
    rising = -offsets[:, :-2] / widths[:-1]
    falling = offsets[:, 2:] / widths[1:]
    return torch.clamp(torch.minimum(rising, falling), min=0.0).to(torch.float32)


class MelFrontend(torch.nn.Module):
    """Waveform (B, samples) -> mel power (B, 1, frames, 80): (B, 1, 505, 80) for 64,600 samples.

    The window and filters are non-persistent buffers: they follow ``.to(device)`` but stay out
    of state dicts, so a saved detector holds its back-end alone.
    """

    output_shape = (1 + OFFICIAL_INPUT_SAMPLES // HOP_LENGTH, N_MELS)
    """The back-end's input (frames, bands) for the official cut: (505, 80)."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("window", torch.hann_window(N_FFT, periodic=True), persistent=False)
        self.register_buffer("filterbank", mel_filterbank(), persistent=False)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        spectrum = torch.stft(
            waveform,
            n_fft=N_FFT,
            hop_length=HOP_LENGTH,
            window=self.window,
            center=True,
            pad_mode="reflect",
            return_complex=True,
        )
        power = spectrum.abs().square()  # (B, 257, frames)
        # The authors' features are (1, 80, frames) and their trainer swaps the last two axes.
        return (power.transpose(1, 2) @ self.filterbank).unsqueeze(1)
