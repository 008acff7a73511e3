"""Scoring with a neural detector: batches through the model, lines into the official score file.

A score is ``softmax(logits)[:, 0]``, the probability of class 0 (real): higher = more real, the
convention ``codecfake eval`` reads. The file is the baseline's (:mod:`codecfake_detectors.lfcc_gmm.score`): the same
``filename score label`` lines, the same ``<out>.partial`` that a rerun resumes from, the same
identity stamp (model bytes + what is scored) that keeps a partial file of another model or
split from being mixed in. Clips already scored, and the real clips several configurations
share, are skipped before they are decoded.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader

from codecfake import LABEL_NAMES

from .data import clip_dataset, collate_clips
from .lfcc_gmm.score import _finished_files, format_score_line


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


class ScoreFile:
    """``out`` written through ``out.partial``: resumable, and atomic when finished."""

    def __init__(self, out: Path, identity: str) -> None:
        self.target = out
        out.parent.mkdir(parents=True, exist_ok=True)
        self.partial = out.with_name(out.name + ".partial")
        self.stamp = out.with_name(out.name + ".partial.json")
        if not self.stamp.is_file() or self.stamp.read_text(encoding="utf-8") != identity:
            self.partial.unlink(missing_ok=True)  # a partial run of another model or split
            self.stamp.write_text(identity, encoding="utf-8")
        self.done = _finished_files(self.partial)
        self.handle = open(self.partial, "a", encoding="utf-8")  # noqa: SIM115 (closed in finish)

    def write(self, scored: Scored) -> None:
        for file, score, label in zip(scored.files, scored.scores, scored.labels, strict=True):
            self.handle.write(format_score_line(file, float(score), LABEL_NAMES[label]))
        self.handle.flush()

    def finish(self) -> Path:
        self.handle.close()
        os.replace(self.partial, self.target)
        self.stamp.unlink()
        return self.target

    def close(self) -> None:
        self.handle.close()


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
                sink.write(batch)
                seen.update(batch.files)
                scored += len(batch.files)
                if progress is not None:
                    progress.update(len(batch.files))
    except BaseException:
        sink.close()
        raise
    return sink.finish(), scored
