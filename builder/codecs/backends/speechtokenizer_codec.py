"""SpeechTokenizer (C2) through its own PyPI package, ``speechtokenizer``.

A checkpoint is the folder the authors publish: ``config.json`` (their own keys, not a
transformers config) beside one ``*.pt`` state dict, e.g. ``speechtokenizer_hubert_avg/`` of the
Hub repo ``fnlp/SpeechTokenizer``. A Hub id is read from that sub-folder. Random weights build
the same architecture from the published config (``full``) or a narrower copy (``small``).
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..base import CodecSpec
from ..errors import (
    CheckpointLoadError,
    CheckpointMismatchError,
    CodecSpecError,
    MissingPackageError,
)
from ..neural import NeuralCodec, build_seeded, wrap_model

HUB_SUBFOLDER = "speechtokenizer_hubert_avg"

# The published speechtokenizer_hubert_avg/config.json, architecture keys only.
FULL_CONFIG: dict[str, Any] = {
    "n_filters": 64,
    "strides": [8, 5, 4, 2],
    "dimension": 1024,
    "semantic_dimension": 768,
    "bidirectional": True,
    "dilation_base": 2,
    "residual_kernel_size": 3,
    "n_residual_layers": 1,
    "lstm_layers": 2,
    "activation": "ELU",
    "codebook_size": 1024,
    "n_q": 8,
    "sample_rate": 16_000,
}
SMALL_CONFIG = {**FULL_CONFIG, "n_filters": 8, "dimension": 64, "lstm_layers": 1}
_REQUIRED_KEYS = ("n_filters", "strides", "dimension", "n_q", "codebook_size", "sample_rate")

INSTALL_HINT = (
    "pip install 'codecfake[speechtokenizer]'. On a CPU-only torch, its torchaudio dependency "
    "(a CUDA build on PyPI) must then lose its compiled libraries so it falls back to pure "
    "Python: bash scripts/bootstrap.sh does it, or delete site-packages/torchaudio/lib/*.so"
)


def require_package() -> Any:
    """The ``SpeechTokenizer`` class, or :class:`MissingPackageError` saying how to install it."""
    try:
        from speechtokenizer import SpeechTokenizer
    except (ImportError, OSError) as error:  # OSError: torchaudio's CUDA libraries
        raise MissingPackageError(
            f"C2 (SpeechTokenizer) needs the speechtokenizer package ({type(error).__name__}: "
            f"{error}). {INSTALL_HINT}"
        ) from None
    return SpeechTokenizer


def _checkpoint_files(checkpoint: str) -> tuple[Path, Path]:
    folder = Path(checkpoint)
    if folder.is_dir():
        weights = sorted(folder.glob("*.pt"))
        if not (folder / "config.json").is_file() or len(weights) != 1:
            raise CheckpointMismatchError(
                f"SpeechTokenizer checkpoint {checkpoint!r} must hold config.json and exactly "
                f"one *.pt state dict; found {sorted(p.name for p in folder.iterdir())}"
            )
        return folder / "config.json", weights[0]
    from huggingface_hub import hf_hub_download

    try:
        return tuple(  # type: ignore[return-value]
            Path(hf_hub_download(checkpoint, f"{HUB_SUBFOLDER}/{name}"))
            for name in ("config.json", "SpeechTokenizer.pt")
        )
    except Exception as error:  # offline, unknown repo, missing file: all say the same to users
        raise CheckpointLoadError(
            f"cannot read SpeechTokenizer checkpoint {checkpoint!r}: give a local folder with "
            f"config.json and a .pt file, or a Hub repo with {HUB_SUBFOLDER}/ while online. "
            f"{type(error).__name__}: {error}"
        ) from None


def _read_config(path: Path, checkpoint: str) -> dict[str, Any]:
    config = json.loads(path.read_text(encoding="utf-8"))
    missing = [key for key in _REQUIRED_KEYS if key not in config]
    if "model_type" in config or missing:
        kind = (
            f"a transformers {config['model_type']!r} model"
            if "model_type" in config
            else (f"missing {missing}")
        )
        raise CheckpointMismatchError(
            f"checkpoint {checkpoint!r} is not a SpeechTokenizer checkpoint: its config.json is {kind}"
        )
    return config


def _pretrained(model_class: Any, checkpoint: str) -> tuple[Any, dict[str, Any]]:
    import torch

    config_path, weights_path = _checkpoint_files(checkpoint)
    config = _read_config(config_path, checkpoint)
    model = model_class(config)
    try:
        model.load_state_dict(torch.load(weights_path, map_location="cpu", weights_only=True))
    except (RuntimeError, ValueError) as error:
        raise CheckpointMismatchError(
            f"the weights in {weights_path} do not fit its config.json: {error}"
        ) from None
    return model, config


def _forward(model: Any, audio: Any, quantizers: int) -> Any:
    return model.decode(model.encode(audio, n_q=quantizers))[:, 0]


def build(
    spec: CodecSpec,
    checkpoint: str | None,
    weights: str,
    device: str,
    seed: int,
    size: str = "small",
) -> NeuralCodec:
    model_class = require_package()
    if weights == "pretrained":
        assert checkpoint is not None
        model, config = _pretrained(model_class, checkpoint)
    else:
        config = SMALL_CONFIG if size == "small" else FULL_CONFIG
        model = build_seeded(lambda: model_class(config), seed)
    if config["sample_rate"] != spec.sample_rate:
        raise CheckpointMismatchError(
            f"{spec.condition} runs at {spec.sample_rate} Hz, checkpoint {checkpoint!r} at "
            f"{config['sample_rate']} Hz"
        )
    quantizers = spec.quantizers or config["n_q"]
    if quantizers > config["n_q"]:
        raise CodecSpecError(
            f"{spec.condition}: {quantizers} quantizers asked, the model has {config['n_q']}"
        )
    spec = replace(spec, checkpoint=checkpoint, quantizers=quantizers)
    return wrap_model(
        spec,
        model,
        hop=math.prod(config["strides"]),
        forward=lambda m, audio: _forward(m, audio, quantizers),
        weights=weights,
        seed=seed,
        device=device,
        backend="speechtokenizer.SpeechTokenizer",
        packages=("speechtokenizer",),
        size=size,
    )
