"""The official codec references (``shared/fixtures/codec_references/``), and checkpoints written
in the codecs' released formats.

A reference folder holds what the official code gives for ``input.wav`` (``codes.npy``,
``output.npy``), a checkpoint in the released file format, ``keys_full.txt`` (the full-size
checkpoint's keys and shapes) and a ``FACTS.md`` saying how they were made. The writers here turn
our own modules' weights into the released formats (old-style weight norm, stacked codebooks),
so loading is tested offline too.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch

from codecfake_builder.codecs.backends.seanet_weights import QuantizerSlot, official_slots
from codecfake_builder.codecs.base import DiscreteCodec
from testkit.shared_fixtures import CODEC_REFERENCES

Shape = tuple[int, ...]


def reference(name: str) -> Path:
    """The reference folder ``name`` (``C5_audiodec``...); skips the test when it is absent."""
    folder = CODEC_REFERENCES / name
    if not folder.is_dir():
        pytest.skip(f"official codec references not found at {folder}")
    return folder


def reference_input(folder: Path) -> np.ndarray:
    """``input.wav`` as the official paths read it: int16 / 32768, float32."""
    wave, _ = soundfile.read(folder / "input.wav", dtype="float32")
    return wave


def full_layout(folder: Path) -> dict[str, dict[str, Shape]]:
    """``keys_full.txt`` as {section: {key: shape}}; a file without ``#`` headers is one section
    named ``""``. Lines read ``name [d0,d1,...] dtype``."""
    sections: dict[str, dict[str, Shape]] = {}
    current = sections.setdefault("", {})
    for line in (folder / "keys_full.txt").read_text().splitlines():
        if line.startswith("#"):
            current = sections.setdefault(line.lstrip("# "), {})
        elif line.strip():
            key, shape, _dtype = line.split()
            current[key] = tuple(int(n) for n in shape.strip("[]").split(",") if n)
    return {name: keys for name, keys in sections.items() if keys}


@dataclass(frozen=True)
class CodecReference:
    """A one-clip reference whose codes are ``(codebooks, batch of 1, frames)`` (C1, C3)."""

    folder: Path
    audio: np.ndarray  # input.wav as the official path reads it
    codes: np.ndarray  # (codebooks, frames)
    output: np.ndarray  # the decoded output, before any write-time rescale

    def keys_full(self) -> dict[str, Shape]:
        return full_layout(self.folder)[""]


def codec_reference(name: str) -> CodecReference:
    """The reference ``name`` (``C1_soundstream``); skips when ../shared is absent."""
    folder = reference(name)
    codes = np.load(folder / "codes.npy")
    assert codes.shape[1] == 1, "a reference is one clip"
    output = np.load(folder / "output.npy")
    return CodecReference(folder, reference_input(folder), codes[:, 0], output)


def meta_state(layout: dict[str, Shape]) -> dict[str, torch.Tensor]:
    """A state dict of the given keys and shapes that holds no data (``meta`` tensors)."""
    return {key: torch.empty(shape, device="meta") for key, shape in layout.items()}


def released_state(
    module: torch.nn.Module, weight_normed: Callable[[str], bool]
) -> dict[str, torch.Tensor]:
    """``module``'s state dict with each ``X.weight`` that ``weight_normed`` names stored as the
    releases store it: ``X.weight_g`` (per first-axis slice norm) and ``X.weight_v``."""
    state: dict[str, torch.Tensor] = {}
    for key, tensor in module.state_dict().items():
        if key.endswith(".weight") and weight_normed(key):
            stem = key.removesuffix("weight")
            axes = tuple(range(1, tensor.dim()))
            state[f"{stem}weight_g"] = torch.linalg.vector_norm(tensor, dim=axes, keepdim=True)
            state[f"{stem}weight_v"] = tensor.clone()
        else:
            state[key] = tensor.clone()
    return state


def official_state_dict(
    model: torch.nn.Module, quantizer: QuantizerSlot, prefix: str = ""
) -> dict[str, torch.Tensor]:
    """A SEANet ``model``'s weights (weight norm not folded) under the family's own names,
    stacked where the family stacks its codebooks: what its authors' code would ``torch.save``."""
    slots = official_slots(model, quantizer)
    flat: dict[str, torch.Tensor] = {}
    rows: dict[str, list[torch.Tensor]] = {}
    for name, tensor in model.state_dict().items():
        slot = slots[name]
        if slot.row is None:
            flat[prefix + slot.key] = tensor.clone()
        else:
            stack = rows.setdefault(prefix + slot.key, [])
            assert slot.row == len(stack), "codebooks come in layer order"
            stack.append(tensor)
    return {**flat, **{key: torch.stack(stack) for key, stack in rows.items()}}


def assert_official(codec: DiscreteCodec, reference: CodecReference) -> float:
    """``codec`` gives the reference codes exactly and its output to 1e-4 over the official
    output's length (its own is the input's); returns the largest difference."""
    audio = reference.audio
    codes = codec.encode([audio])[0]
    assert codes.dtype == np.int64 and codes.shape == reference.codes.shape
    np.testing.assert_array_equal(codes, reference.codes)
    output = codec.resynthesize([audio])[0]
    assert output.dtype == np.float32 and output.shape == audio.shape
    common = min(len(output), len(reference.output))
    error = float(np.abs(output[:common] - reference.output[:common]).max())
    assert error <= 1e-4, error
    return error


class _Payload:
    """Unpickling this runs ``touch marker``: what a hostile checkpoint would do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return os.system, (f"touch {self.marker}",)


def save_hostile(path: Path, marker: Path, nesting: tuple[str, ...] = ()) -> Path:
    """A ``torch.save`` file, nested as released, whose pickle would run a shell command that
    creates ``marker``; beside it, a real tensor, so the file looks like a checkpoint."""
    value: object = {"payload": _Payload(marker), "weight": torch.zeros(2)}
    for key in reversed(nesting):
        value = {key: value}
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(value, path)
    return path
