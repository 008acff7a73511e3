"""Scoring a split into the official score format, ``filename score label``, one trial a line.

That is the format the official repositories write and ``codecfake eval`` reads. A long run
resumes: lines go to ``<out>.partial`` as they are scored, a rerun with the same model and split
skips what is there, and the finished file appears atomically under its real name.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from codecfake_builder.io import atomic_write_text, replace_durably

from .gmm import GmmPair
from .stream import Clip


def format_score_line(file: str, score: float, label: str) -> str:
    return f"{file} {score:.6f} {label}\n"


def _finished_files(partial: Path) -> set[str]:
    """Files already scored in a partial file; a half-written last line is cut off (in place, so
    a crash now cannot lose the lines before it)."""
    if not partial.is_file():
        return set()
    data = partial.read_bytes()
    keep = data.rfind(b"\n") + 1
    if keep != len(data):
        with open(partial, "r+b") as handle:
            handle.truncate(keep)
    complete = data[:keep].decode("utf-8")
    return {line.split()[0] for line in complete.splitlines() if line.strip()}


def run_identity(model_path: os.PathLike[str] | str, source: dict[str, Any]) -> str:
    """What a partial file belongs to: the model's bytes and the split it scores."""
    digest = hashlib.sha256(Path(model_path).read_bytes()).hexdigest()
    return json.dumps({"model_sha256": digest, **source}, sort_keys=True)


def score_clips(
    model: GmmPair,
    clips: Iterable[Clip],
    out: os.PathLike[str] | str,
    identity: str,
    progress: Any = None,
) -> tuple[Path, int]:
    """Score every clip into ``out``; returns the path and how many clips this call scored."""
    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    stamp = target.with_name(target.name + ".partial.json")
    if not stamp.is_file() or stamp.read_text(encoding="utf-8") != identity:
        partial.unlink(missing_ok=True)  # a partial run of another model or split is no use
        atomic_write_text(stamp, identity)
    done = _finished_files(partial)
    scored = 0
    with open(partial, "a", encoding="utf-8") as lines:
        for clip in clips:
            if clip.file not in done:
                lines.write(format_score_line(clip.file, model.score(clip.waveform), clip.label))
                lines.flush()
                scored += 1
            if progress is not None:
                progress.update(1)
    replace_durably(partial, target)  # the finished file appears whole under its real name
    stamp.unlink()
    return target, scored
