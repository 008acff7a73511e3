"""C1 SoundStream: AcademiCodec's ``encodec_16k_320d.pth`` (its class ``SoundStream``).

The paper's SoundStream checkpoint is not public; this is the closest public one (inferred). Its
file is a bare ``torch.save`` of a DataParallel state dict (every key prefixed ``module.``) with
old-style weight norm (``weight_g``/``weight_v``) and one codebook per layer
(``quantizer.vq.layers.K._codebook.embed``). The release has no config (the recipe hard-codes
``n_filters=32, D=512``), so the widths, LSTM depth and codebook count are read off the tensors;
a ``config.json`` beside the file may declare what tensors cannot show (``sample_rate``,
``ratios``) or override them (``n_filters``, ``D``, ``bins``).

Inference follows the recipe's ``test.py``: no normalisation, weight norm removed, codes from the
first ``n_q`` layers (4 kbps: 8 of the 24), the decoder's ``frames * 320`` samples. Unlike the
official path, the output is cut to the input's length, and the recipe's write-time peak
rescale (``-r``: ``min(0.99 / max|y|, 1)``) is not applied.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from codecfake_core.checkpoints import is_state_dict, read_torch_file, strip_data_parallel

from ..errors import CheckpointLoadError, CheckpointMismatchError
from .seanet import Checkpoint, SeanetFamily, SeanetLayout, fetch_hint
from .seanet_weights import vq_layers_slot

FULL = SeanetLayout(
    sample_rate=16_000, n_filters=32, dimension=512, codebooks=24, norm="weight_norm"
)
SMALL = SeanetLayout(
    sample_rate=16_000, n_filters=8, dimension=32, codebooks=24, norm="weight_norm"
)
CONFIG_NAME = "config.json"

_FIRST_CONV = "encoder.model.0.conv.conv.weight_v"
_CODEBOOK = re.compile(r"^quantizer\.vq\.layers\.(\d+)\._codebook\.embed$")
_LSTM = re.compile(r"^encoder\.model\.\d+\.lstm\.weight_ih_l\d+$")


def read(checkpoint: str) -> Checkpoint:
    """The released ``.pth`` file (and a ``config.json`` beside it, if any)."""
    path = Path(checkpoint)
    if not path.is_file():
        raise CheckpointLoadError(
            f"{path}: no such file; SoundStream (C1) loads AcademiCodec's encodec_16k_320d.pth, "
            f"the file itself: fetch it from {fetch_hint('soundstream')}"
        )
    state = read_torch_file(path)
    if not is_state_dict(state):
        raise CheckpointMismatchError(
            f"{path}: holds a {type(state).__name__}, not a state dict of tensors as "
            f"encodec_16k_320d.pth does; re-download it from {fetch_hint('soundstream')}"
        )
    state = strip_data_parallel(state)
    return Checkpoint(path, state, _layout(state, _config(path), path), normalize=False)


def _config(path: Path) -> dict[str, Any]:
    beside = path.with_name(CONFIG_NAME)
    if not beside.is_file():
        return {}
    remedy = "fix or remove it (the widths are then read off the checkpoint's tensors)"
    try:
        config = json.loads(beside.read_text(encoding="utf-8"))
    except ValueError as error:
        raise CheckpointMismatchError(f"{beside}: not valid JSON ({error}); {remedy}") from None
    if not isinstance(config, dict):
        raise CheckpointMismatchError(
            f"{beside}: not a JSON object of SoundStream settings; {remedy}"
        )
    return config


def _layout(state: dict[str, Any], config: dict[str, Any], path: Path) -> SeanetLayout:
    """The architecture: ``config`` where it says, else what the tensors show."""
    books = sorted(int(m[1]) for key in state if (m := _CODEBOOK.match(key)))
    if _FIRST_CONV not in state or not books:
        missing = (
            _FIRST_CONV if _FIRST_CONV not in state else "quantizer.vq.layers.0._codebook.embed"
        )
        raise CheckpointMismatchError(
            f"{path}: key {missing} is missing, so this is not a SoundStream "
            f"(encodec_16k_320d) checkpoint; fetch it from {fetch_hint('soundstream')}"
        )
    embed = state[f"quantizer.vq.layers.{books[0]}._codebook.embed"]
    return SeanetLayout(
        sample_rate=int(config.get("sample_rate", FULL.sample_rate)),
        ratios=tuple(config.get("ratios", FULL.ratios)),
        n_filters=int(config.get("n_filters", state[_FIRST_CONV].shape[0])),
        dimension=int(config.get("D", embed.shape[1])),
        codebook_size=int(config.get("bins", embed.shape[0])),
        codebooks=books[-1] + 1,  # a layer missing in between is then reported by name
        lstm_layers=max(1, sum(1 for key in state if _LSTM.match(key))),
        norm="weight_norm",
    )


FAMILY = SeanetFamily(
    name="soundstream",
    display="SoundStream (AcademiCodec encodec_16k_320d)",
    full=FULL,
    small=SMALL,
    normalize=False,
    quantizer=vq_layers_slot,
    read=read,
)

build = FAMILY.build
"""Load C1 (or an added condition of this family): the factory :func:`load_codec` calls."""
