"""The official codec references (``../shared/fixtures/codec_references/``) and checkpoints in
the codecs' released formats.

A reference folder holds what the official code gives for ``input.wav`` (``codes.npy``,
``output.npy``), a checkpoint in the released format and ``keys_full.txt``, the full-size
checkpoint's keys and shapes. The writers here turn our own modules' weights into the released
formats (old-style weight norm included), so loading runs offline too.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch

from .shared_fixtures import CODEC_REFERENCES

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


class _Payload:
    """Unpickling this runs ``touch marker``: what a hostile checkpoint would do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return os.system, (f"touch {self.marker}",)


def save_hostile(path: Path, marker: Path, nesting: tuple[str, ...]) -> Path:
    """A ``torch.save`` file, nested as released, whose pickle would run a shell command."""
    value: object = _Payload(marker)
    for key in reversed(nesting):
        value = {key: value}
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(value, path)
    return path
