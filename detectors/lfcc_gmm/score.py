"""Scoring a split into the official score format, ``filename score label``, one trial a line.

That is the format the official repositories write and ``codecfake eval`` reads. A long run
resumes: lines go to ``<out>.partial`` as they are scored, a rerun with the same model and split
skips what is there, and the finished file appears atomically under its real name.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from codecfake_builder.io import atomic_write_text, replace_durably

from .gmm import GmmPair
from .stream import OFFICIAL_INPUT_SAMPLES, Clip


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


def score_split(
    model: os.PathLike[str] | str,
    dataset: str,
    out: os.PathLike[str] | str,
    *,
    configs: Sequence[str | None] = (None,),
    split: str = "test",
    max_samples: int = OFFICIAL_INPUT_SAMPLES,
    progress: bool = False,
) -> tuple[Path, int]:
    """Score a streamed split of one or more configurations (shared clips once) into ``out``.

    ``model`` is a model file or its run folder. Resumes an interrupted run of the same model and
    split; returns the score file and how many clips this call scored.
    """
    from tqdm import tqdm

    from .gmm import load_model
    from .stream import iter_clips, open_split, unique_clips
    from .train import MODEL_FILE

    model_path = Path(model)
    if model_path.is_dir():
        model_path = model_path / MODEL_FILE
    pair = load_model(model_path)
    streams = [open_split(dataset, config, split) for config in configs]
    clips = unique_clips(iter_clips(stream, max_samples) for stream in streams)
    source = {
        "dataset": str(dataset),
        "config": list(configs),
        "split": split,
        "max_samples": max_samples,
    }
    with tqdm(desc="scoring", unit="clip", disable=not progress) as bar:
        return score_clips(pair, clips, out, run_identity(model_path, source), bar)
