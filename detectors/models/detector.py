"""A detector = a fixed front-end (mel or XLS-R) + a trainable back-end (LCNN or AASIST).

The back-end is a module of its own, so a saved run holds ``backend.state_dict()`` alone (the
300M-parameter SSL model is rebuilt from ``--ssl``), and a published checkpoint, which holds only
a back-end, plugs in as one.
"""

from __future__ import annotations

import torch

import codecfake

from .aasist import W2VAASIST
from .lcnn import LCNN, MEL_FLAT_FEATURES, W2V2_FLAT_FEATURES
from .mel import MelFrontend
from .ssl import SSLFrontend

MODEL_NAMES: tuple[str, ...] = ("mel-lcnn", "w2v2-lcnn", "w2v2-aasist")


def build_backend(name: str) -> torch.nn.Module:
    """The back-end of model ``name``, randomly initialised."""
    if name == "mel-lcnn":
        return LCNN(MEL_FLAT_FEATURES)
    if name == "w2v2-lcnn":
        return LCNN(W2V2_FLAT_FEATURES)
    if name == "w2v2-aasist":
        return W2VAASIST()
    raise codecfake.CodecfakeError(
        f"unknown model {name!r}; choose one of {', '.join(MODEL_NAMES)}"
    )


def build_frontend(name: str, ssl: str | None) -> torch.nn.Module:
    if name == "mel-lcnn":
        return MelFrontend()
    if ssl is None:
        raise codecfake.CodecfakeError(
            f"model {name!r} reads XLS-R features: give --ssl, a Hub id (the paper's is "
            "facebook/wav2vec2-xls-r-300m) or a local Wav2Vec2Model directory"
        )
    return SSLFrontend(ssl)


class Detector(torch.nn.Module):
    """Waveform (B, 64600) float32 at 16 kHz -> logits (B, 2); class 0 = real.

    ``train()`` reaches the back-end only: the SSL front-end stays in eval mode (see
    :class:`SSLFrontend`), and no front-end has trainable parameters.
    """

    def __init__(self, name: str, backend: torch.nn.Module, ssl: str | None = None) -> None:
        super().__init__()
        self.name = name
        self.ssl = ssl if name != "mel-lcnn" else None
        self.frontend = build_frontend(name, ssl)
        self.frontend.requires_grad_(False)
        self.backend = backend

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            features = self.frontend(waveform)
        return self.backend(features)


def build_detector(name: str, ssl: str | None = None) -> Detector:
    """A randomly initialised detector; ``ssl`` (Hub id or local directory) for the W2V2 ones."""
    return Detector(name, build_backend(name), ssl)
