"""SEANet codec checkpoints in the encodec layout, moved onto transformers' ``EncodecModel``.

AcademiCodec's SoundStream, SpeechTokenizer and FunCodec all save Meta's encodec modules:
``SConv1d`` as ``<path>.conv.conv.{weight,bias}`` (old-style weight norm: ``weight_g``/``weight_v``)
with its ``GroupNorm`` at ``<path>.conv.norm``, ``SConvTranspose1d`` as ``<path>.convtr.convtr.*``
and ``<path>.convtr.norm``, ``SLSTM`` as ``<path>.lstm.*`` (SpeechTokenizer's bidirectional one
adds ``*_reverse``), all under ``encoder.model.N`` and ``decoder.model.N``. ``EncodecModel`` has
the same layers in the same order under ``encoder.layers.N`` (weight norm as a parametrization;
SpeechTokenizer's encoder LSTM swapped for :class:`.seanet_bilstm.BidirectionalLSTM`), so each of
its tensors has exactly one place in such a file. The families differ only in where the codebooks
are (one key per layer, or one tensor stacked over layers), which a family says through its
:data:`QuantizerSlot`.

The names are derived from the model itself (module types included), not from a table: the same
rule then gives the expected keys and shapes of any width, which is how a damaged or foreign file
is caught before a single tensor is copied.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.nn.utils import parametrize

from ..errors import CheckpointMismatchError
from .seanet_bilstm import BidirectionalLSTM


@dataclass(frozen=True)
class Slot:
    """Where one model tensor lives in a family's file: a key and, for a tensor stacked over the
    codebooks (FunCodec's ``quantizer.rq.model.embed``), its row."""

    key: str
    row: int | None = None


QuantizerSlot = Callable[[int, str], Slot]
"""``(layer, buffer) -> Slot``: where codebook ``layer``'s ``inited``, ``cluster_size``, ``embed``
or ``embed_avg`` is kept in the family's file."""


def vq_layers_slot(layer: int, buffer: str) -> Slot:
    """Meta's encodec ``ResidualVectorQuantizer``, one ``VectorQuantization`` per codebook:
    ``quantizer.vq.layers.K._codebook.<buffer>`` (AcademiCodec's SoundStream, SpeechTokenizer)."""
    return Slot(f"quantizer.vq.layers.{layer}._codebook.{buffer}")


# A tensor of an EncodecConv1d / EncodecConvTranspose1d, relative to the module, -> its name below
# the official module's wrapper ({w}: "conv" or "convtr").
_CONV_TENSORS = {
    "conv.parametrizations.weight.original0": "{w}.{w}.weight_g",
    "conv.parametrizations.weight.original1": "{w}.{w}.weight_v",
    "conv.weight": "{w}.{w}.weight",
    "conv.bias": "{w}.{w}.bias",
    "norm.weight": "{w}.norm.weight",
    "norm.bias": "{w}.norm.bias",
}
_CODEBOOK = re.compile(r"^quantizer\.layers\.(\d+)\.codebook$")
_STACK = re.compile(r"^(encoder|decoder)\.layers\.")


def official_slots(model: torch.nn.Module, quantizer: QuantizerSlot) -> dict[str, Slot]:
    """Every tensor of ``model``'s state dict (weight norm not yet folded) -> its :class:`Slot`."""
    from transformers.models.encodec.modeling_encodec import (
        EncodecConv1d,
        EncodecConvTranspose1d,
        EncodecEuclideanCodebook,
        EncodecLSTM,
    )

    slots: dict[str, Slot] = {}
    for path, module in model.named_modules():
        official = _STACK.sub(r"\1.model.", path)
        local = module.state_dict()
        if isinstance(module, EncodecConv1d | EncodecConvTranspose1d):
            wrapper = "convtr" if isinstance(module, EncodecConvTranspose1d) else "conv"
            for name in local:
                slots[f"{path}.{name}"] = Slot(
                    f"{official}.{_CONV_TENSORS[name].format(w=wrapper)}"
                )
        elif isinstance(module, EncodecLSTM | BidirectionalLSTM):
            slots.update({f"{path}.{name}": Slot(f"{official}.{name}") for name in local})
        elif isinstance(module, EncodecEuclideanCodebook):
            layer = int(_CODEBOOK.fullmatch(path)[1])  # type: ignore[index]
            slots.update({f"{path}.{name}": quantizer(layer, name) for name in local})
    missed = set(model.state_dict()) - set(slots)
    if missed:  # a transformers release that moved a tensor: fail loudly, never load half a model
        raise RuntimeError(f"no checkpoint name for EncodecModel tensors {sorted(missed)[:3]}")
    return slots


def official_shapes(
    model: torch.nn.Module, slots: Mapping[str, Slot]
) -> dict[str, tuple[int, ...]]:
    """The keys and shapes a family's file holds for ``model``, in the model's order."""
    shapes: dict[str, tuple[int, ...]] = {}
    rows: dict[str, int] = {}
    for name, tensor in model.state_dict().items():
        slot = slots[name]
        if slot.row is None:
            shapes[slot.key] = tuple(tensor.shape)
        else:
            rows[slot.key] = rows.get(slot.key, 0) + 1
            shapes[slot.key] = (rows[slot.key], *tensor.shape)
    return shapes


def load_official(
    model: torch.nn.Module,
    state: Mapping[str, torch.Tensor],
    quantizer: QuantizerSlot,
    *,
    source: Path,
    remedy: str,
) -> None:
    """Copy a family's state dict into ``model``, after checking every key and shape.

    ``state`` holds only inference tensors (the caller drops training-only keys by rule). The
    first missing, reshaped or unknown key is a :class:`CheckpointMismatchError` naming
    ``source`` and ending in ``remedy``.
    """
    slots = official_slots(model, quantizer)
    problem = _first_mismatch(official_shapes(model, slots), state)
    if problem:
        raise CheckpointMismatchError(f"{source}: {problem}; {remedy}")
    weights = {}
    for name, slot in slots.items():
        tensor = state[slot.key]
        weights[name] = tensor if slot.row is None else tensor[slot.row]
    model.load_state_dict(weights, strict=True)


def _first_mismatch(
    expected: Mapping[str, tuple[int, ...]], found: Mapping[str, torch.Tensor]
) -> str | None:
    for key, shape in expected.items():
        if key not in found:
            return f"key {key} is missing (expected shape {list(shape)})"
        if tuple(found[key].shape) != shape:
            return f"{key} has shape {list(found[key].shape)}, expected {list(shape)}"
    for key, tensor in found.items():
        if key not in expected:
            return f"unexpected key {key} (shape {list(tensor.shape)})"
    return None


def fold_weight_norm(model: torch.nn.Module) -> None:
    """Replace every weight-norm parametrization by the weight it computes, as the official
    inference paths do before running (``remove_weight_norm``): same numbers, less work per call."""
    for module in model.modules():
        if parametrize.is_parametrized(module, "weight"):
            parametrize.remove_parametrizations(module, "weight", leave_parametrized=True)
