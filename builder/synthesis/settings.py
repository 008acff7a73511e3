"""A synthesis run's settings: the options of ``codecfake synthesize`` as a value, and where a
run keeps its per-shard state.

What of them decides the release's bytes is recorded by the first run and enforced after
(:mod:`.recorded`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codecfake import CODEC_CONDITIONS, SAMPLING_RATE

from ..codecs.base import CodecSpec

STATE_DIR = ".synthesize"
"""Per-shard logs and markers; the merge folds them into the release and removes the folder."""
SETTINGS_LOCK = "settings.lock"
"""In STATE_DIR: serialises the shards that record their settings at the same moment."""


@dataclass(frozen=True)
class Settings:
    """One run's options (the command line's, as data). ``fingerprint`` is the run-wide part
    that decides output bytes, which every shard and every resume of a release must share (as
    must each condition's codec and weights: :mod:`codecfake_builder.synthesis.recorded`)."""

    out: Path
    corpora: Mapping[str, Path]  # language -> corpus root
    conditions: tuple[str, ...] = CODEC_CONDITIONS
    codecs: tuple[CodecSpec, ...] = ()  # new conditions: parse_codec_definitions("C8=...")
    weights: str = "pretrained"
    checkpoints: Mapping[str, str] = field(default_factory=dict)
    splits_from: Path | None = None
    seed: int = 0
    device: str = "auto"
    batch_size: int = 8
    shard: tuple[int, int] = (0, 1)
    sample_rate: int = SAMPLING_RATE
    max_failures: int = 100
    vctk_mic: str = "mic1"

    def fingerprint(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "splits": "official" if self.splits_from else "seeded",
            "weights": self.weights,
            "sample_rate": self.sample_rate,
            "batch_size": self.batch_size,
            "vctk_mic": self.vctk_mic,
        }

    @property
    def shard_tag(self) -> str:
        return f"shard-{self.shard[0]}-of-{self.shard[1]}"
