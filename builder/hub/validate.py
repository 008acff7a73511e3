"""Check that a dataset folder is publishable, without any network call and without reading audio.

A folder that reaches the Hub broken is worse than one that never does: users of ``load_dataset``
see a ``NonMatchingSplitsSizesError`` or an empty split long after the publisher has moved on. So
every problem this module finds is collected, and the caller gets the whole list at once. It reads
the card's YAML and only the Parquet footers (row counts and schemas), so it takes seconds on a
100 GB folder. ``codecfake publish`` runs it first; it is also usable alone::

    from .validate import validate_dataset_folder
    problems = validate_dataset_folder("codecfake-data/")
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codecfake import CodecfakeError
from codecfake_core.compat import check_data_files_field, info_from_yaml_dict

CARD = "README.md"


class DatasetFolderError(CodecfakeError):
    """A dataset folder that must not be published; its message lists every problem found."""

    def __init__(self, folder: os.PathLike[str] | str, problems: list[str]):
        self.folder = str(folder)
        self.problems = problems
        listing = "\n".join(f"  - {p}" for p in problems)
        super().__init__(
            f"{self.folder} is not ready to publish ({len(problems)} problem"
            f"{'s' if len(problems) != 1 else ''}):\n{listing}"
        )


@dataclass
class _Config:
    """One ``configs`` entry: split -> its ``data_files`` patterns."""

    name: str
    patterns: dict[str, list[str]] = field(default_factory=dict)


def read_card_yaml(card: Path) -> dict[str, Any]:
    """The YAML front matter of a dataset card; :class:`CodecfakeError` naming file:line if broken."""
    import yaml

    text = card.read_text(encoding="utf-8")
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        raise CodecfakeError(f"{card}:1: no YAML front matter (the card must start with '---')")
    try:
        end = next(i for i, line in enumerate(lines[1:], start=1) if line.strip() == "---")
    except StopIteration:
        raise CodecfakeError(f"{card}: the YAML front matter has no closing '---'") from None
    try:
        data = yaml.safe_load("\n".join(lines[1:end]))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = f":{mark.line + 2}" if mark is not None else ""  # +1 for 1-based, +1 for '---'
        reason = getattr(error, "problem", None) or str(error)
        raise CodecfakeError(
            f"{card}{line}: the YAML front matter does not parse: {reason}"
        ) from None
    if not isinstance(data, dict):
        raise CodecfakeError(f"{card}:2: the YAML front matter is not a mapping")
    return data


def validate_dataset_folder(folder: os.PathLike[str] | str) -> list[str]:
    """Every reason ``folder`` must not be published; empty when it is ready."""
    root = Path(folder)
    if not root.is_dir():
        return [f"{root}: not a folder"]
    problems = [
        f"{path.relative_to(root).as_posix()}: a Python file inside the dataset folder; datasets "
        "refuses folders with loading scripts (>= 4.0), so remove it"
        for path in sorted(root.rglob("*.py"))
    ]
    card = root / CARD
    if not card.is_file():
        return [*problems, f"{CARD}: missing (the card holds the configurations and split sizes)"]
    try:
        meta = read_card_yaml(card)
    except CodecfakeError as error:
        return [*problems, str(error)]

    configs = _read_configs(meta, problems)
    shards: dict[str, list[Path]] = {}
    for config in configs.values():
        for split, patterns in config.patterns.items():
            for pattern in patterns:
                if pattern not in shards:
                    shards[pattern] = sorted(p for p in root.glob(pattern) if p.is_file())
                if not shards[pattern]:
                    problems.append(
                        f"{CARD}: configuration {config.name} split {split}: data_files pattern "
                        f"{pattern!r} matches no file"
                    )
    footers = _read_footers({p for paths in shards.values() for p in paths}, root, problems)
    _check_infos(meta, configs, shards, footers, root, problems)
    referenced = {p for paths in shards.values() for p in paths}
    problems.extend(
        f"{path.relative_to(root).as_posix()}: no configuration's data_files names this shard "
        "(a leftover? remove it or add it to the card)"
        for path in sorted(root.rglob("*.parquet"))
        if path not in referenced
    )
    return problems


def check_dataset_folder(folder: os.PathLike[str] | str) -> None:
    """Raise :class:`DatasetFolderError` with the full list of problems, if there are any."""
    problems = validate_dataset_folder(folder)
    if problems:
        raise DatasetFolderError(folder, problems)


def _read_configs(meta: dict[str, Any], problems: list[str]) -> dict[str, _Config]:
    entries = meta.get("configs")
    if not isinstance(entries, list) or not entries:
        problems.append(f"{CARD}: no 'configs' list in the YAML (load_dataset needs it)")
        return {}
    configs: dict[str, _Config] = {}
    for number, entry in enumerate(entries, start=1):
        name = entry.get("config_name") if isinstance(entry, dict) else None
        if not isinstance(name, str):
            problems.append(f"{CARD}: configs entry {number} has no config_name")
            continue
        try:
            check_data_files_field(entry)
        except ValueError:
            problems.append(
                f"{CARD}: configuration {name}: data_files must be a pattern, a list of patterns, "
                "or a list of {split, path} entries"
            )
            continue
        if name in configs:
            problems.append(f"{CARD}: configuration {name} is listed twice")
        configs[name] = _Config(name, _patterns_by_split(entry.get("data_files")))
        if not configs[name].patterns:
            problems.append(f"{CARD}: configuration {name} has no data_files")
    return configs


def _patterns_by_split(data_files: Any) -> dict[str, list[str]]:
    if data_files is None:
        return {}
    if isinstance(data_files, str):
        return {"train": [data_files]}
    result: dict[str, list[str]] = {}
    for item in data_files:
        if isinstance(item, str):
            result.setdefault("train", []).append(item)
        else:
            paths = item["path"]
            result.setdefault(item["split"], []).extend(
                [paths] if isinstance(paths, str) else paths
            )
    return result


@dataclass(frozen=True)
class _Footer:
    rows: int
    schema: Any  # pyarrow.Schema


def _read_footers(paths: Iterable[Path], root: Path, problems: list[str]) -> dict[Path, _Footer]:
    """Row count and schema of each shard, from its Parquet footer alone."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    footers: dict[Path, _Footer] = {}
    for path in sorted(paths):
        try:
            metadata = pq.read_metadata(path)
            footers[path] = _Footer(metadata.num_rows, metadata.schema.to_arrow_schema())
        except (pa.ArrowException, OSError) as error:
            problems.append(
                f"{path.relative_to(root).as_posix()}: not a readable Parquet file ({error})"
            )
    return footers


def _check_infos(
    meta: dict[str, Any],
    configs: dict[str, _Config],
    shards: dict[str, list[Path]],
    footers: dict[Path, _Footer],
    root: Path,
    problems: list[str],
) -> None:
    """dataset_info must describe every configuration: its splits, their sizes, its features."""
    entries = meta.get("dataset_info")
    entries = [entries] if isinstance(entries, dict) else entries
    if not isinstance(entries, list):
        problems.append(f"{CARD}: no 'dataset_info' in the YAML (split sizes and features)")
        return
    described: set[str] = set()
    mismatched: set[Path] = set()
    for entry in entries:
        name = entry.get("config_name", "default") if isinstance(entry, dict) else None
        try:
            info = info_from_yaml_dict(entry)
        except Exception as error:  # whatever the library trips on, the card is what is wrong
            problems.append(f"{CARD}: dataset_info for {name}: does not parse ({error})")
            continue
        described.add(name)
        config = configs.get(name)
        if config is None:
            problems.append(f"{CARD}: dataset_info describes {name}, which configs does not list")
            continue
        split_sizes = {s.name: s.num_examples for s in (info.splits or {}).values()}
        for split in sorted(set(split_sizes) | set(config.patterns)):
            if split not in config.patterns:
                problems.append(
                    f"{CARD}: dataset_info {name} has split {split}, data_files has not"
                )
                continue
            if split not in split_sizes:
                problems.append(f"{CARD}: dataset_info {name} gives no size for split {split}")
                continue
            matched = [shards.get(pattern, []) for pattern in config.patterns[split]]
            files = [p for paths in matched for p in paths]
            if not all(matched) or any(p not in footers for p in files):
                continue  # already reported: a pattern without shards, or an unreadable shard
            rows = sum(footers[p].rows for p in files)
            if rows != split_sizes[split]:
                problems.append(
                    f"{CARD}: dataset_info {name} {split}: num_examples is {split_sizes[split]:,} "
                    f"but its shards hold {rows:,} rows"
                )
        if info.features is None:
            problems.append(f"{CARD}: dataset_info {name} has no features")
            continue
        expected = info.features.arrow_schema
        for path in sorted(
            {p for ps in config.patterns.values() for q in ps for p in shards.get(q, [])}
        ):
            if (
                path in footers
                and path not in mismatched
                and not _same_columns(expected, footers[path].schema)
            ):
                mismatched.add(path)  # a shard shared by many configurations is reported once
                problems.append(
                    f"{path.relative_to(root).as_posix()}: columns "
                    f"{_describe(footers[path].schema)} differ from the features of {name} "
                    f"({_describe(expected)})"
                )
    problems.extend(
        f"{CARD}: configuration {name} has no dataset_info (features and split sizes)"
        for name in configs
        if name not in described
    )


def _same_columns(expected: Any, actual: Any) -> bool:
    """Same column names and Arrow types; schema metadata and column order do not matter."""
    if set(expected.names) != set(actual.names):
        return False
    return all(expected.field(n).type == actual.field(n).type for n in expected.names)


def _describe(schema: Any) -> str:
    return ", ".join(f"{f.name}: {f.type}" for f in schema)
