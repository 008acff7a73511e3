"""What the official code of a codec gives (``shared/fixtures/codec_references``), and
checkpoints written in a family's own format.

Each reference folder holds a small random-weights checkpoint in the released file format, the
official inference path's codes and output for its ``input.wav``, and the full-size model's keys
and shapes (``keys_full.txt``); its ``FACTS.md`` says how they were made.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch

from codecfake_builder.codecs.backends.seanet_weights import QuantizerSlot, official_slots
from codecfake_builder.codecs.base import DiscreteCodec
from helpers.shared_fixtures import CODEC_REFERENCES


@dataclass(frozen=True)
class CodecReference:
    folder: Path
    audio: np.ndarray  # input.wav as the official path reads it: float32 int16 / 32768
    codes: np.ndarray  # (codebooks, frames); codes.npy is (codebooks, batch of 1, frames)
    output: np.ndarray  # the decoded output, before any write-time rescale

    def keys_full(self) -> dict[str, tuple[int, ...]]:
        """``keys_full.txt``: the full-size checkpoint's ``name [shape] dtype`` lines."""
        keys = {}
        for line in (self.folder / "keys_full.txt").read_text().splitlines():
            name, shape, _dtype = line.split()
            keys[name] = tuple(int(n) for n in shape.strip("[]").split(",") if n)
        return keys


def codec_reference(name: str) -> CodecReference:
    """The reference folder ``name`` (``C1_soundstream``); skips when ../shared is absent."""
    folder = CODEC_REFERENCES / name
    if not folder.is_dir():
        pytest.skip(f"codec reference fixtures not found at {folder}")
    audio, _ = soundfile.read(folder / "input.wav", dtype="float32")
    codes = np.load(folder / "codes.npy")
    assert codes.shape[1] == 1, "a reference is one clip"
    return CodecReference(folder, audio, codes[:, 0], np.load(folder / "output.npy"))


def official_state_dict(
    model: torch.nn.Module, quantizer: QuantizerSlot, prefix: str = ""
) -> dict[str, torch.Tensor]:
    """``model``'s weights (weight norm not folded) under the family's own names, stacked where
    the family stacks its codebooks: what its authors' code would ``torch.save``."""
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


class RunsAShellCommand:
    """Pickles as a call of ``os.system``: what a hostile checkpoint hides in its pickle."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self) -> tuple[object, tuple[str]]:
        import os

        return os.system, (self.command,)


def save_hostile(path: Path, marker: Path) -> Path:
    """A ``torch.save`` file whose unpickling would create ``marker`` through ``os.system``."""
    torch.save({"encoder.model.0.conv.conv.bias": RunsAShellCommand(f"touch {marker}")}, path)
    return path
