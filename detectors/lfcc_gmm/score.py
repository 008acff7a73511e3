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

from ..cut import OFFICIAL_INPUT_SAMPLES
from ..score_file import ScoreFile
from .gmm import GmmPair
from .stream import Clip


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
    sink = ScoreFile(Path(out), identity)
    scored = 0
    try:
        for clip in clips:
            if clip.file not in sink.done:
                sink.write(clip.file, model.score(clip.waveform), clip.label)
                sink.flush()
                scored += 1
            if progress is not None:
                progress.update(1)
    except BaseException:
        sink.close()
        raise
    return sink.finish(), scored


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
