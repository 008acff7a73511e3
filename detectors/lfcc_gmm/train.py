"""Training: LFCC frames from a capped, class-balanced sample of clips, then one GMM per class.

The caps keep a CPU run to minutes on any split size: the LFCC-GMM baseline saturates long before
it has seen a million clips, and a fixed frame budget per class keeps EM's cost fixed too.
"""

from __future__ import annotations

import logging
import os
import platform
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from codecfake_core.io import atomic_write_json

from ..cut import OFFICIAL_INPUT_SAMPLES
from .gmm import CLASSES, GmmPair, save_model
from .lfcc import LfccConfig, lfcc
from .stream import Clip

MODEL_FILE = "model.npz"
CONFIG_FILE = "config.json"

log = logging.getLogger("codecfake")


@dataclass
class TrainingFrames:
    """LFCC frames gathered per class, and which clips they came from."""

    frames: dict[str, list[np.ndarray]] = field(default_factory=lambda: {c: [] for c in CLASSES})
    clips: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CLASSES, 0))
    conditions: dict[str, int] = field(default_factory=dict)

    def stacked(self, label: str, max_frames: int, seed: int) -> np.ndarray:
        """All frames of one class, subsampled (seeded) to at most ``max_frames``."""
        if not self.frames[label]:
            raise ValueError(f"no {label} clips in the training data")
        frames = np.concatenate(self.frames[label])
        if max_frames and len(frames) > max_frames:
            keep = np.random.default_rng(seed).choice(len(frames), max_frames, replace=False)
            frames = frames[np.sort(keep)]
        return frames


def gather_frames(
    clips: Iterable[Clip], features: LfccConfig, max_clips: int = 0, progress: Any = None
) -> TrainingFrames:
    """LFCC of up to ``max_clips`` clips per class (0 = all); stops once both classes are full."""
    gathered = TrainingFrames()
    for clip in clips:
        if max_clips and gathered.clips[clip.label] >= max_clips:
            if all(n >= max_clips for n in gathered.clips.values()):
                break
            continue
        gathered.frames[clip.label].append(lfcc(clip.waveform, features))
        gathered.clips[clip.label] += 1
        gathered.conditions[clip.condition] = gathered.conditions.get(clip.condition, 0) + 1
        if progress is not None:
            progress.update(1)
    return gathered


def fit(
    gathered: TrainingFrames,
    features: LfccConfig,
    components: int,
    max_frames: int,
    seed: int,
    metadata: dict[str, Any] | None = None,
) -> GmmPair:
    """Fit both mixtures; the metadata records what they saw, for the model file."""
    real, fake = (gathered.stacked(label, max_frames, seed) for label in CLASSES)
    seen = {
        "clips": gathered.clips,
        "frames": {"real": len(real), "fake": len(fake)},
        "conditions": dict(sorted(gathered.conditions.items())),
    }
    return GmmPair.fit(
        real,
        fake,
        features,
        components=components,
        seed=seed,
        metadata={**(metadata or {}), "trained_on": seen},
    )


def write_run(model: GmmPair, out_dir: os.PathLike[str] | str, run_config: dict[str, Any]) -> Path:
    """Save the model and, beside it, the run's config (the AASIST habit): what made this file."""
    import codecfake

    out = Path(out_dir)
    model_path = save_model(model, out / MODEL_FILE)
    record = {
        **run_config,
        "model": MODEL_FILE,
        "features": model.features.to_dict(),
        "trained_on": model.metadata.get("trained_on"),
        "versions": {"codecfake": codecfake.__version__, "python": platform.python_version()},
    }
    atomic_write_json(out / CONFIG_FILE, record)
    return model_path


def train_baseline(
    dataset: str,
    out: os.PathLike[str] | str,
    *,
    config: str | None = None,
    split: str = "train",
    max_samples: int = OFFICIAL_INPUT_SAMPLES,
    components: int = 64,
    max_clips: int = 2_000,
    max_frames: int = 200_000,
    seed: int = 0,
    progress: bool = False,
) -> tuple[Path, GmmPair]:
    """Stream a split, fit the GMM pair and write the run folder ``out``: the whole training run.

    Returns the model file and the model. ``progress`` shows a bar of clips read (the caller's
    choice). A split that lacks a class is a :class:`codecfake.CodecfakeError` naming it.
    """
    from tqdm import tqdm

    from codecfake import CodecfakeError

    from .stream import iter_clips, open_split

    features = LfccConfig()
    stream = open_split(dataset, config, split, shuffle_seed=seed)
    with tqdm(desc="LFCC", unit="clip", disable=not progress) as bar:
        gathered = gather_frames(iter_clips(stream, max_samples), features, max_clips, bar)
    source = {"dataset": str(dataset), "config": config, "split": split}
    log.info("fitting two %d-component GMMs (EM)...", components)
    try:
        model = fit(gathered, features, components, max_frames, seed, source)
    except ValueError as error:
        raise CodecfakeError(f"cannot train on {source}: {error}") from error
    run_config = {
        **source,
        "max_samples": max_samples,
        "components": components,
        "max_clips": max_clips,
        "max_frames": max_frames,
        "seed": seed,
    }
    return write_run(model, out, run_config), model


def describe_training(model: GmmPair, path: Path) -> str:
    """One line for a person: what the model learned from, and where it was written."""
    seen = model.metadata["trained_on"]
    return (
        f"trained on {seen['clips']['real']} real + {seen['clips']['fake']} fake clips "
        f"({seen['frames']['real']:,} + {seen['frames']['fake']:,} frames); wrote {path}"
    )
