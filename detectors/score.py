"""Scoring with a neural detector: batches through the model, lines into the official score file.

A score is ``softmax(logits)[:, 0]``, the probability of class 0 (real): higher = more real, the
convention ``codecfake eval`` reads. The file is written by :mod:`codecfake_detectors.score_file`, as the baseline's is: the same
``filename score label`` lines, the same ``<out>.partial`` that a rerun resumes from, the same
identity stamp (model bytes + what is scored) that keeps a partial file of another model or
split from being mixed in. Clips already scored, and the real clips several configurations
share, are skipped before they are decoded.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader

from codecfake import LABEL_NAMES

from .data import clip_dataset, collate_clips
from .score_file import ScoreFile


@dataclass(frozen=True)
class Scored:
    """One batch's results, in loader order."""

    files: list[str]
    scores: np.ndarray
    labels: list[int]


def real_probability(logits: torch.Tensor) -> np.ndarray:
    return torch.softmax(logits.float(), dim=1)[:, 0].cpu().numpy().astype(np.float64)


@torch.no_grad()
def predict(
    detector: torch.nn.Module, loader: Iterable[Any], device: torch.device
) -> Iterator[Scored]:
    """Scores of every ``(waveform, label, file)`` batch the loader yields; the model in eval."""
    detector.eval()
    for waveforms, labels, files in loader:
        logits = detector(waveforms.to(device, non_blocking=True))
        yield Scored(list(files), real_probability(logits), [int(v) for v in labels])


def loader_for(dataset: Any, batch_size: int, num_workers: int, device: torch.device, **kw: Any):
    """A DataLoader with the settings every command uses (pinned memory for a GPU)."""
    return DataLoader(
        dataset,
        batch_size=batch_size,
        num_workers=num_workers,
        collate_fn=collate_clips,
        pin_memory=device.type == "cuda",
        persistent_workers=False,
        **kw,
    )


def score_configs(
    detector: torch.nn.Module,
    device: torch.device,
    *,
    dataset: str,
    configs: list[str | None],
    split: str,
    out: Path,
    identity: str,
    batch_size: int,
    num_workers: int,
    progress: Any = None,
) -> tuple[Path, int]:
    """Score every clip of ``split`` of each configuration into ``out``, each file once.

    Returns the finished file and how many clips this call scored (a resumed run scores fewer).
    """
    sink = ScoreFile(out, identity)
    seen = set(sink.done)
    scored = 0
    try:
        for config in configs:
            clips = clip_dataset(dataset, config, split, streaming=True, skip=frozenset(seen))
            for batch in predict(
                detector, loader_for(clips, batch_size, num_workers, device), device
            ):
                fresh = [i for i, f in enumerate(batch.files) if f not in seen]
                batch = Scored(
                    [batch.files[i] for i in fresh],
                    batch.scores[fresh],
                    [batch.labels[i] for i in fresh],
                )
                for file, score, label in zip(batch.files, batch.scores, batch.labels, strict=True):
                    sink.write(file, float(score), LABEL_NAMES[label])
                sink.flush()
                seen.update(batch.files)
                scored += len(batch.files)
                if progress is not None:
                    progress.update(len(batch.files))
    except BaseException:
        sink.close()
        raise
    return sink.finish(), scored
