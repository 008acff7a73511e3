"""A detector = a fixed front-end (mel or XLS-R) + a trainable back-end (LCNN or AASIST).

The back-end is a module of its own, so a saved run holds ``backend.state_dict()`` alone (the
300M-parameter SSL model is rebuilt from ``--ssl``), and a published checkpoint, which holds only
a back-end, plugs in as one.
"""

from __future__ import annotations

import torch

import codecfake

from .aasist import W2VAASIST
from .lcnn import LCNN, MEL_SHAPE, XLSR_SHAPE
from .mel import MelFrontend
from .ssl import SSLFrontend

MODEL_NAMES: tuple[str, ...] = ("mel-lcnn", "w2v2-lcnn", "w2v2-aasist")


def check_model_name(name: str) -> str:
    if name not in MODEL_NAMES:
        raise codecfake.CodecfakeError(
            f"unknown model {name!r}; choose one of {', '.join(MODEL_NAMES)}"
        )
    return name


def build_backend(name: str, input_shape: tuple[int, int] | None = None) -> torch.nn.Module:
    """The back-end of model ``name``, randomly initialised.

    ``input_shape`` is what the front-end gives for 64,600 samples (the last two axes); by
    default the published one, (505, 80) mel or (1024, 201) XLS-R. A small test SSL model gives
    a smaller one.
    """
    check_model_name(name)
    if name == "w2v2-aasist":
        return W2VAASIST((input_shape or XLSR_SHAPE)[0])
    return LCNN(input_shape or (MEL_SHAPE if name == "mel-lcnn" else XLSR_SHAPE))


def build_frontend(name: str, ssl: str | None = None) -> MelFrontend | SSLFrontend:
    """The fixed front-end of model ``name``; the W2V2 ones need ``ssl``."""
    if check_model_name(name) == "mel-lcnn":
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

    def __init__(
        self,
        name: str,
        frontend: MelFrontend | SSLFrontend,
        backend: torch.nn.Module,
        ssl: str | None = None,
    ) -> None:
        super().__init__()
        self.name = check_model_name(name)
        self.ssl = None if name == "mel-lcnn" else ssl
        self.frontend = frontend.requires_grad_(False)
        self.backend = backend

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            features = self.frontend(waveform)
        return self.backend(features)


def build_detector(name: str, ssl: str | None = None) -> Detector:
    """A randomly initialised detector; ``ssl`` (Hub id or local directory) for the W2V2 ones.

    The back-end is sized to what the front-end gives (1024 x 201 features for XLS-R).
    """
    frontend = build_frontend(name, ssl)
    return Detector(name, frontend, build_backend(name, frontend.output_shape), ssl)
