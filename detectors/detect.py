"""Checking one's own clips: any audio file soundfile reads, at any rate, scored and decided.

Files are decoded like dataset clips (:func:`codecfake_core.audio.decode_audio_bytes`: mono,
soxr to 16 kHz) and given the same official cut, so a clip gets the score it would get in a score file.
A file that cannot be read is reported and skipped; the others are still scored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile
import torch

import codecfake
from codecfake_core.audio import decode_audio_bytes

from .cut import official_cut


@dataclass(frozen=True)
class Verdict:
    path: Path
    score: float | None  # None when the file could not be read
    error: str = ""


def audio_files(inputs: Sequence[Path]) -> list[Path]:
    """The files named, and the audio files inside the folders named (recursively, sorted).

    In a folder, a file counts as audio when soundfile knows its extension; a file named
    explicitly is always tried, whatever its name.
    """
    known = {f".{ext.lower()}" for ext in soundfile.available_formats()} | {".mp3", ".ogg"}
    found: list[Path] = []
    for path in inputs:
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.suffix.lower() in known))
        elif path.exists():
            found.append(path)
        else:
            raise codecfake.CodecfakeError(f"{path}: no such file or folder")
    return found


def read_clip(path: Path) -> np.ndarray:
    """The official cut of a file at 16 kHz; raises CodecfakeError naming the file."""
    try:
        return official_cut(decode_audio_bytes(path.read_bytes()))
    except (OSError, RuntimeError, ValueError) as error:
        reason = getattr(error, "error_string", None) or str(error)  # soundfile's, without repr
        raise codecfake.CodecfakeError(f"{path}: cannot read audio ({reason})") from error


BatchScorer = Callable[[np.ndarray], np.ndarray]
"""(B, 64600) float32 waveforms -> B scores, higher = more real."""


def neural_scorer(detector: torch.nn.Module, device: torch.device) -> BatchScorer:
    from .score import real_probability

    detector.eval()

    def score(batch: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return real_probability(detector(torch.from_numpy(batch).to(device)))

    return score


def score_files(paths: Iterable[Path], scorer: BatchScorer, batch_size: int) -> Iterator[Verdict]:
    """A verdict per path, in the order given; an unreadable file's verdict carries its error."""
    pending: list[tuple[Path, np.ndarray | str]] = []

    def flush() -> Iterator[Verdict]:
        clips = [w for _, w in pending if not isinstance(w, str)]
        scores = iter(scorer(np.stack(clips)) if clips else [])
        for path, clip in pending:
            yield (
                Verdict(path, None, clip)
                if isinstance(clip, str)
                else Verdict(path, float(next(scores)))
            )
        pending.clear()

    for path in paths:
        try:
            pending.append((path, read_clip(path)))
        except codecfake.CodecfakeError as error:
            pending.append((path, str(error)))
        if len(pending) == batch_size:
            yield from flush()
    if pending:
        yield from flush()
