"""C2 SpeechTokenizer: the released ``speechtokenizer_hubert_avg/`` folder on transformers'
``EncodecModel``, no package needed.

The paper's own SpeechTokenizer weights are not public; the closest public checkpoint (inferred)
is ``speechtokenizer_hubert_avg/`` in the Hub repository ``fnlp/SpeechTokenizer``. The
``speechtokenizer`` package cannot be the route: it imports torchaudio, which PyPI ships as a CUDA
build that fails beside a CPU torch. Facts relied on, from the public code
(github ZhangXInFD/SpeechTokenizer, unchanged in ``speechtokenizer/`` since 2023-09) and the
Hub folder:

- Files. ``config.json`` holds the authors' own keys, architecture and training settings mixed;
  the published values are ``n_filters 64``, ``strides [8, 5, 4, 2]``, ``dimension 1024``,
  ``semantic_dimension 768``, ``bidirectional true``, ``lstm_layers 2``, ``dilation_base 2``,
  ``residual_kernel_size 3``, ``n_residual_layers 1``, ``activation ELU``, ``codebook_size 1024``,
  ``n_q 8``, ``sample_rate 16000``. ``SpeechTokenizer.pt`` is ``torch.save`` of the model's state
  dict (the Hub's pickle scan lists only ``OrderedDict``, ``FloatStorage`` and the tensor
  rebuilder), which ``SpeechTokenizer.load_from_checkpoint`` loads strictly. It is read here
  through :func:`codecfake_core.checkpoints.read_torch_file`, which runs nothing from the pickle.
- Model (``speechtokenizer/model.py``). ``SEANetEncoder`` and ``SEANetDecoder``
  (``modules/seanet.py``) take ``strides`` as ratios and the widths and depths above, everything
  else at its defaults: weight norm, non-causal, reflect padding, conv shortcuts, compress 2,
  kernels 7. The encoder's LSTM is bidirectional (``bidirectional`` from the config), the
  decoder's is not (``bidirectional=False`` hard-coded): see :mod:`.seanet_bilstm`. The quantizer
  is Meta's encodec ``ResidualVectorQuantizer(dimension, n_q, bins=codebook_size)``
  (``quantization/``): one ``quantizer.vq.layers.K._codebook`` per codebook, no projections.
- Training only. ``transform`` (``nn.Linear(dimension, semantic_dimension)``) maps the first
  codebook's quantized output onto the HuBERT teacher's width for the distillation loss; only
  ``forward`` (training) calls it, never ``encode`` or ``decode``. Its keys (:data:`TRAINING_ONLY`)
  are left out by name; any other key the model does not have is an error.
- Inference (``model.encode`` / ``model.decode``, as the README and ``example.py`` call them): the
  mono clip as loaded (float in [-1, 1], resampled to 16 kHz), no normalisation, shaped
  ``(1, 1, T)``, one utterance per call. ``encode(wav)`` without ``n_q`` uses all ``n_q = 8``
  codebooks, from the first (``st = 0``): 8 x 50 frames/s x 10 bits = 4 kbps, C2's rate. The RVQ
  takes each codebook's nearest entry to the residual, subtracts its vector, and returns codes
  ``(n_q, batch, frames)``; ``decode(codes)`` sums the codebooks' vectors (embedding look-ups) and
  runs the decoder. SEANet's reflect padding completes the last frame: ``ceil(T / 320)`` frames,
  ``frames * 320`` samples decoded, not trimmed by the official path. Weight norm stays on there
  (no ``remove_weight_norm``); folding it once computes the same weights.

Here each clip's codes are ``(8, ceil(T / 320))`` and its output is cut to the input's length.
The bidirectional encoder LSTM carries a batch's zero padding back into every frame of a shorter
clip, so clips run one at a time (:mod:`.seanet_codec`'s padding policy).
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

from codecfake import CodecfakeError
from codecfake_core.checkpoints import is_state_dict, read_torch_file
from codecfake_core.hub import require_hub_model

from ..errors import CheckpointLoadError, CheckpointMismatchError
from .seanet import Checkpoint, SeanetFamily, SeanetLayout, fetch_hint
from .seanet_weights import vq_layers_slot

log = logging.getLogger("codecfake")

HUB_SUBFOLDER = "speechtokenizer_hubert_avg"
CONFIG_NAME = "config.json"
WEIGHTS_PATTERN = "*.pt"

FULL = SeanetLayout(
    sample_rate=16_000,
    n_filters=64,
    dimension=1024,
    codebooks=8,
    norm="weight_norm",
    bidirectional=True,
)
SMALL = replace(FULL, n_filters=8, dimension=64)

TRAINING_ONLY = ("transform.",)
"""Key prefix of the semantic-distillation head (see the module docstring): training only."""

_REQUIRED = (
    "n_filters",
    "strides",
    "dimension",
    "bidirectional",
    "lstm_layers",
    "codebook_size",
    "n_q",
    "sample_rate",
)
_FIXED: dict[str, Any] = {
    "dilation_base": 2,
    "residual_kernel_size": 3,
    "n_residual_layers": 1,
    "activation": "ELU",
}
"""Settings ``EncodecModel`` has at these values only: a config that changes one is refused by
name rather than run differently from how it was trained."""


def read(checkpoint: str) -> Checkpoint:
    """The released folder (local, or the Hub id's ``speechtokenizer_hubert_avg/``), or its
    ``.pt`` file with ``config.json`` beside it."""
    weights = _weights_file(_local(checkpoint))
    config = weights.with_name(CONFIG_NAME)
    layout = _layout(_config(config), config)
    state = read_torch_file(weights)
    if not is_state_dict(state):
        raise CheckpointMismatchError(
            f"{weights}: holds a {type(state).__name__}, not the state dict SpeechTokenizer "
            f"saves; re-download it from {fetch_hint('speechtokenizer')} ({HUB_SUBFOLDER}/)"
        )
    kept = {k: v for k, v in state.items() if not k.startswith(TRAINING_ONLY)}
    log.debug("%s: %d training-only tensors left out", weights, len(state) - len(kept))
    return Checkpoint(weights, kept, layout, normalize=False)


def _local(checkpoint: str) -> Path:
    """``checkpoint`` as a local path: itself, or the Hub id's sub-folder once downloaded."""
    path = Path(checkpoint).expanduser()
    if path.exists():
        return path
    remedy = f"for SpeechTokenizer, the local folder is {HUB_SUBFOLDER}/ as released"
    try:
        require_hub_model(
            checkpoint, "SpeechTokenizer checkpoint", probe_file=f"{HUB_SUBFOLDER}/{CONFIG_NAME}"
        )
    except CodecfakeError as error:
        raise CheckpointLoadError(f"{error} ({remedy})") from None
    from huggingface_hub import snapshot_download

    try:
        root = snapshot_download(checkpoint, allow_patterns=[f"{HUB_SUBFOLDER}/*"])
    except Exception as error:  # unknown repo, revoked access, broken transfer: one message
        raise CheckpointLoadError(
            f"cannot download {HUB_SUBFOLDER}/ of Hub repository {checkpoint!r} "
            f"({type(error).__name__}: {error}); {remedy}"
        ) from None
    return Path(root) / HUB_SUBFOLDER


def _weights_file(path: Path) -> Path:
    """The one ``*.pt`` state dict of a released folder, or the file given."""
    if path.is_file():
        return path
    found = sorted(path.glob(WEIGHTS_PATTERN)) if path.is_dir() else []
    if len(found) != 1 or not (path / CONFIG_NAME).is_file():
        held = sorted(p.name for p in path.iterdir()) if path.is_dir() else "nothing"
        raise CheckpointLoadError(
            f"{path}: a SpeechTokenizer checkpoint is a folder with {CONFIG_NAME} and one "
            f"{WEIGHTS_PATTERN} state dict, as {HUB_SUBFOLDER}/ of "
            f"{fetch_hint('speechtokenizer')} is; found {held}"
        )
    return found[0]


def _config(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise CheckpointLoadError(
            f"{path}: no such file; SpeechTokenizer's {CONFIG_NAME} must sit beside its weights, "
            f"as in {HUB_SUBFOLDER}/ of {fetch_hint('speechtokenizer')}"
        )
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise CheckpointMismatchError(
            f"{path}: not valid JSON ({error}); re-download it from {fetch_hint('speechtokenizer')}"
        ) from None
    if not isinstance(config, dict):
        raise CheckpointMismatchError(f"{path}: not a SpeechTokenizer config (a JSON object)")
    return config


def _layout(config: dict[str, Any], path: Path) -> SeanetLayout:
    """The architecture ``config.json`` declares, in the authors' keys."""
    if "model_type" in config:
        raise CheckpointMismatchError(
            f"{path}: a transformers {config['model_type']!r} config, not SpeechTokenizer's; "
            f"C2 loads {HUB_SUBFOLDER}/ of {fetch_hint('speechtokenizer')}"
        )
    missing = [key for key in _REQUIRED if key not in config]
    if missing:
        raise CheckpointMismatchError(
            f"{path}: no {', '.join(missing)}, so not a SpeechTokenizer config; C2 loads "
            f"{HUB_SUBFOLDER}/ of {fetch_hint('speechtokenizer')}"
        )
    for key, wanted in _FIXED.items():
        if config.get(key, wanted) != wanted:
            raise CheckpointMismatchError(
                f"{path}: {key} is {config[key]!r}; codecfake runs SpeechTokenizer with "
                f"{key} {wanted!r} only"
            )
    if int(config["lstm_layers"]) < 1:
        raise CheckpointMismatchError(
            f"{path}: lstm_layers is {config['lstm_layers']!r}; codecfake runs SpeechTokenizer "
            "with its LSTMs (lstm_layers 1 or more) only"
        )
    return SeanetLayout(
        sample_rate=int(config["sample_rate"]),
        n_filters=int(config["n_filters"]),
        dimension=int(config["dimension"]),
        codebooks=int(config["n_q"]),
        codebook_size=int(config["codebook_size"]),
        norm="weight_norm",
        ratios=tuple(int(r) for r in config["strides"]),
        lstm_layers=int(config["lstm_layers"]),
        bidirectional=bool(config["bidirectional"]),
    )


FAMILY = SeanetFamily(
    name="speechtokenizer",
    display=f"SpeechTokenizer ({HUB_SUBFOLDER})",
    full=FULL,
    small=SMALL,
    normalize=False,
    quantizer=vq_layers_slot,
    read=read,
)

build = FAMILY.build
"""Load C2 (or an added condition of this family): the factory :func:`load_codec` calls."""
