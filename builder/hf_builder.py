"""A ``datasets`` builder (:class:`Codecfake`) that reads an *extracted official release* directly.

It is our own code, used as a class; it is never uploaded as a Hub loading script, because
``datasets`` >= 4.0 refuses folders that contain one. What users load from the Hub or from disk
is the Parquet folder that ``codecfake prepare`` writes from the same definition. This is the
only module that subclasses ``datasets`` classes, so importing :mod:`codecfake` stays light.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import datasets
import pyarrow as pa

import codecfake
from codecfake import CONFIGS, DEFAULT_CONFIG, CodecfakeConfig
from codecfake_core.labels import read_label_file
from codecfake_core.release import (
    ReleaseClip,
    clip_from_label,
    label_sources,
    read_clip_bytes,
    release_conditions,
)

BATCH_ROWS = 256
"""Rows per Arrow table handed to ``datasets``: small enough to keep memory flat."""


@dataclass
class CodecfakeBuilderConfig(datasets.BuilderConfig):
    """A :class:`codecfake.CodecfakeConfig` in the form ``datasets`` expects of a builder config.

    ``datasets`` owns ``name``, ``data_dir`` and the rest; which clips belong is ``definition``'s.
    """

    definition: CodecfakeConfig | None = None

    @classmethod
    def of(cls, definition: CodecfakeConfig) -> CodecfakeBuilderConfig:
        return cls(name=definition.name, description=definition.description, definition=definition)


class Codecfake(datasets.ArrowBasedBuilder):
    """Reads an extracted official release (``data_dir``) into one configuration.

    Use it as a class, e.g. ``Codecfake(config_name="en_C3", data_dir=release).download_and_prepare()``;
    for a publishable folder where shared clips are stored once, use ``codecfake prepare``.
    """

    BUILDER_CONFIG_CLASS = CodecfakeBuilderConfig
    BUILDER_CONFIGS: ClassVar[list[CodecfakeBuilderConfig]] = [
        CodecfakeBuilderConfig.of(c) for c in CONFIGS.values()
    ]
    DEFAULT_CONFIG_NAME = DEFAULT_CONFIG

    def _info(self) -> datasets.DatasetInfo:
        return datasets.DatasetInfo(
            description=self.config.description,
            features=codecfake.FEATURES,
            homepage=codecfake.HOMEPAGE,
            license=codecfake.LICENSE,
            citation=codecfake.CITATION,
        )

    def _split_generators(self, dl_manager: Any) -> list[datasets.SplitGenerator]:
        if not self.config.data_dir:
            raise ValueError("pass data_dir=<extracted Codecfake release>")
        definition = self.config.definition
        if definition is None:
            raise ValueError(f"choose one of the configurations {sorted(CONFIGS)}")
        conditions = release_conditions(self.config.data_dir)
        sources = {
            Path(label).stem: (split, Path(label), Path(audio))
            for split, label, audio in label_sources(self.config.data_dir)
        }
        generators = []
        for split in definition.splits_of(conditions):
            clips: dict[str, ReleaseClip] = {}
            for stem in definition.label_sources(split, conditions):
                if stem not in sources:
                    continue
                _, label_path, audio_dir = sources[stem]
                for row in read_label_file(label_path):
                    clip = clip_from_label(label_path, row, audio_dir, conditions)
                    if definition.includes(clip.condition, clip.language):
                        # A shared real test clip is listed by every condition: the first wins.
                        clips.setdefault(clip.file, clip)
            if clips:
                generators.append(
                    datasets.SplitGenerator(name=split, gen_kwargs={"clips": list(clips.values())})
                )
        return generators

    def _generate_tables(
        self, clips: list[ReleaseClip]
    ) -> Iterator[tuple[tuple[int, int], pa.Table]]:
        schema = codecfake.FEATURES.arrow_schema
        batch: list[dict[str, Any]] = []
        index = 0
        for clip in clips:
            batch.append(clip.row(read_clip_bytes(clip.path)))
            if len(batch) == BATCH_ROWS:
                yield (0, index), pa.Table.from_pylist(batch, schema=schema)
                batch, index = [], index + 1
        if batch:
            yield (0, index), pa.Table.from_pylist(batch, schema=schema)
