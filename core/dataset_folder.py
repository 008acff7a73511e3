"""A prepared dataset folder: its manifest, and the configurations its shards make up.

``prepare`` writes such a folder (:mod:`codecfake_builder.folder`); the evaluation
(``--dataset``, result records) and the detectors' loader read it, so reading it lives here.

The folder describes itself in ``codecfake_folder.json`` (beside README.md): the specs of
conditions beyond the paper, which conditions the aggregates ``en``/``zh``/``all`` pool, where
each condition came from, and which releases it was prepared from. Everything else (the card,
split sizes) is derived from that manifest plus the shards on disk, so ``prepare --add`` can
regenerate it all after adding a condition.

Folders made before were described by ``conditions.json``, the name a release uses for its list
of added conditions (``label/conditions.json``, another schema); they are still read, and
``--add`` keeps their manifest's name, because ``publish`` only uploads: a renamed manifest would
leave the old one beside it on the Hub.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq

import codecfake
from codecfake import CodecfakeConfig, Condition, Part


@dataclass(frozen=True)
class KeyedReals:
    """A keyed real part: the label files that list its clips, and those that hold this version."""

    listed_by: tuple[str, ...]
    holders: tuple[str, ...]

    @property
    def group(self) -> str:
        text = ",".join(self.listed_by) + "|" + ",".join(self.holders)
        return f"{codecfake.REAL_CONDITION}-{hashlib.sha256(text.encode()).hexdigest()[:10]}"

    def to_dict(self) -> dict[str, list[str]]:
        return {"listed_by": list(self.listed_by), "holders": list(self.holders)}


def part_rows(folder: Path, part: Part) -> int:
    """Rows a stored part holds, from its shards' footers (no audio is read)."""
    return sum(pq.read_metadata(p).num_rows for p in sorted(folder.glob(part.pattern)))


MANIFEST = "codecfake_folder.json"
LEGACY_MANIFEST = "conditions.json"
"""The manifest's name in folders prepared before it had its own (still read)."""
FORMAT = 1
AGGREGATES = ("en", "zh", codecfake.DEFAULT_CONFIG)
"""The configurations that pool several codec conditions; growing them changes the benchmark."""


@dataclass
class Provenance:
    """Where a condition's clips came from, as the dataset card states it."""

    source: str  # "official release" or "rebuilt"
    licence: str
    release: str  # fingerprint of the release tree it was prepared from
    made_by: str = ""
    checkpoint: str = ""
    manifests: list[str] = field(default_factory=list)  # copied provenance files, folder-relative


@dataclass
class FolderManifest:
    user_conditions: list[Condition] = field(default_factory=list)
    aggregates: list[str] = field(default_factory=list)
    provenance: dict[str, Provenance] = field(default_factory=dict)
    releases: list[str] = field(default_factory=list)
    keyed_reals: dict[str, KeyedReals] = field(default_factory=dict)
    """Real parts stored apart: clips with differing copies, or listed by only some conditions."""
    differing: list[str] = field(default_factory=list)
    shard_digests: dict[str, str] = field(default_factory=dict)
    """Folder-relative shard path -> sha256 of its rows: what the card's content stamps hash."""
    """The shared real clips whose copies differ between condition folders (for the card)."""

    @property
    def conditions(self) -> dict[str, Condition]:
        return {**codecfake.CONDITIONS, **{c.name: c for c in self.user_conditions}}

    def to_json(self) -> str:
        data = {
            "format": FORMAT,
            "releases": self.releases,
            "aggregates": self.aggregates,
            "conditions": [c.to_dict() for c in self.user_conditions],
            "provenance": {k: dataclasses.asdict(v) for k, v in sorted(self.provenance.items())},
            "keyed_reals": {k: v.to_dict() for k, v in sorted(self.keyed_reals.items())},
            "differing_copies": self.differing,
            "shards": dict(sorted(self.shard_digests.items())),
        }
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def read(cls, folder: Path) -> FolderManifest:
        path = manifest_path(folder)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("format") != FORMAT:
                raise ValueError(f"unsupported format {data.get('format')!r}")
            return cls(
                user_conditions=[Condition.from_dict(c) for c in data["conditions"]],
                aggregates=list(data["aggregates"]),
                provenance={k: Provenance(**v) for k, v in data["provenance"].items()},
                releases=list(data["releases"]),
                keyed_reals={
                    k: KeyedReals(tuple(v["listed_by"]), tuple(v["holders"]))
                    for k, v in data.get("keyed_reals", {}).items()
                },
                differing=list(data.get("differing_copies", [])),
                shard_digests=dict(data.get("shards", {})),
            )
        except FileNotFoundError as error:
            raise codecfake.CodecfakeError(
                f"{folder}: not a dataset folder made by `codecfake prepare` (no {MANIFEST})"
            ) from error
        except (ValueError, KeyError, TypeError) as error:
            raise codecfake.ReleaseError(path, f"unreadable dataset manifest: {error}") from error


def manifest_path(folder: Path) -> Path:
    """Where ``folder`` keeps its manifest: :data:`MANIFEST`, or the legacy name in a folder made
    before (the new name where neither exists, so that is what a new folder gets)."""
    legacy = folder / LEGACY_MANIFEST
    return legacy if legacy.is_file() and not (folder / MANIFEST).is_file() else folder / MANIFEST


def is_dataset_folder(folder: Path) -> bool:
    return manifest_path(folder).is_file()


@dataclass(frozen=True)
class FolderConfig:
    """A configuration as stored: the shard patterns and row count of each split present."""

    config: CodecfakeConfig
    data_files: dict[str, list[str]]
    sizes: dict[str, int]

    @property
    def name(self) -> str:
        return self.config.name


def folder_configs(folder: Path, manifest: FolderManifest) -> list[FolderConfig]:
    """The configurations whose shards exist, each with only the parts and splits present.

    A split is present when one of its conditions has clips in it; the shared reals alone do not
    make a configuration.
    """
    conditions = manifest.conditions
    rows: dict[Part, int] = {}

    def present(part: Part) -> int:
        if part not in rows:
            rows[part] = part_rows(folder, part)
        return rows[part]

    result: list[FolderConfig] = []
    for config in configurations(manifest):
        data_files: dict[str, list[str]] = {}
        sizes: dict[str, int] = {}
        for split, parts in config.parts(conditions).items():
            stored = [p for p in parts if present(p)]
            if any(p.group != codecfake.REAL_CONDITION for p in stored):
                keyed = [p for p in keyed_parts(config, split, manifest) if present(p)]
                reals = sum(p.group == codecfake.REAL_CONDITION for p in stored)
                stored[reals:reals] = keyed
                data_files[split] = [p.pattern for p in stored]
                sizes[split] = sum(rows[p] for p in stored)
        if data_files:
            result.append(FolderConfig(config, data_files, sizes))
    return result


def keyed_parts(config: CodecfakeConfig, split: str, manifest: FolderManifest) -> list[Part]:
    """The keyed real parts a split of ``config`` reads: for each clip, its first condition's copy.

    A keyed part holds one version of clips that the label files ``listed_by`` list; the
    configuration takes it when the first of its own label files that lists them is a holder.
    """
    order = config.label_sources(split, manifest.conditions)
    languages = [lang for lang in (*codecfake.SPEECH_LANGUAGES, "") if config.takes(lang)]
    chosen = []
    for group, key in sorted(manifest.keyed_reals.items()):
        first = next((stem for stem in order if stem in key.listed_by), None)
        if first in key.holders:
            chosen.extend(Part(group, split, language) for language in languages)
    return chosen


def configurations(manifest: FolderManifest) -> list[CodecfakeConfig]:
    """:func:`codecfake.build_configs`, with the aggregates pooling what the manifest says."""
    aggregates = tuple(manifest.aggregates)
    return [
        dataclasses.replace(config, conditions=aggregates) if config.name in AGGREGATES else config
        for config in codecfake.build_configs(manifest.conditions)
    ]
