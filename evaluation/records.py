"""Result records: one JSON per evaluation, pinned to the exact score files, data and code.

A record keeps the table (every metric, every row) and the settings that made it. It also
keeps the sha256 of each score file, what the scores were labelled from (a release's label
fingerprint or a prepared folder's manifest, with split sizes), the polarity rule, and the
versions of the package and its libraries. That is enough to re-score it later. ``check_record``
does so and names whatever moved: a file, the data, or a number.

Paths are stored relative to the record's own folder, so a ``results/`` folder committed next
to its score files still checks out in another clone.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import math
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from codecfake import CodecfakeError
from codecfake_core.environment import package_versions
from codecfake_core.io import atomic_write_text

from .dcf import ASVSPOOF5
from .pipeline import EvalSettings, score
from .table import POLARITY_RULES, Row

FORMAT = "codecfake-result"
VERSION = 1
MEASURED = "measured"
AS_PUBLISHED = "as published"
_ABS_TOL = 1e-9
"""How far a re-scored number may drift (float summation order across NumPy builds); any real
change to a score moves an EER by at least 1 / (2 * n) of a percent, far above it."""


class RecordError(CodecfakeError):
    """A record that cannot be read or written; the message names the file."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def dataset_facts(settings: EvalSettings) -> dict[str, Any]:
    """What labelled the scores, identified by content, with the split sizes it holds."""
    if settings.labels:
        from codecfake_core.release import label_sources
        from codecfake_core.release_source import ExtractedRelease

        release = Path(settings.labels)
        splits: dict[str, dict[str, int]] = {}
        for split, label_file, _audio in label_sources(release):
            with open(label_file, encoding="utf-8-sig") as handle:
                rows = sum(1 for line in handle if line.strip())
            splits.setdefault(split, {})[label_file.name] = rows
        fingerprint = ExtractedRelease(release).fingerprint()
        return {"source": "release", "fingerprint": fingerprint, "label_rows": splits}
    if settings.dataset:
        from codecfake_core.dataset_folder import FolderManifest, folder_configs, manifest_path

        folder = Path(settings.dataset)
        manifest = FolderManifest.read(folder)
        return {
            "source": "prepared folder",
            "releases": manifest.releases,
            "manifest_sha256": sha256_of(manifest_path(folder)),
            "split_sizes": {c.name: c.sizes for c in folder_configs(folder, manifest)},
        }
    return {"source": "labels in the score files"}


def _relative_to(folder: Path) -> Any:
    def relocate(path: str) -> str:
        try:
            return Path(os.path.relpath(Path(path).resolve(), folder.resolve())).as_posix()
        except ValueError:  # another drive: keep it absolute
            return str(Path(path).resolve())

    return relocate


def _resolved_from(folder: Path) -> Any:
    return lambda path: str(folder / path) if not Path(path).is_absolute() else path


def make_record(settings: EvalSettings, rows: Iterable[Row], path: Path) -> dict[str, Any]:
    """The record of ``rows``, made from ``settings``, to be written at ``path``."""
    stored = settings.with_paths(_relative_to(path.parent))
    return {
        "format": FORMAT,
        "version": VERSION,
        "name": path.stem,
        "kind": MEASURED,
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "settings": stored.to_json(),
        "score_files": [
            {"path": kept, "sha256": sha256_of(Path(given))}
            for given, kept in zip(settings.scores, stored.scores, strict=True)
        ],
        "dataset": dataset_facts(settings),
        "polarity": {"mode": settings.polarity, "rule": POLARITY_RULES[settings.polarity]},
        "costs": {"p_spoof": ASVSPOOF5.p_spoof, "c_miss": ASVSPOOF5.c_miss, "c_fa": ASVSPOOF5.c_fa},
        "versions": package_versions(),
        "rows": [row.to_json() for row in rows],
    }


def write_record(path: Path, record: Mapping[str, Any]) -> None:
    atomic_write_text(path, json.dumps(record, indent=2, ensure_ascii=False) + "\n")


def read_record(path: os.PathLike[str] | str) -> dict[str, Any]:
    path = Path(path)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RecordError(f"{path}: no such result record") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise RecordError(f"{path}: not a readable JSON result record ({error})") from error
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise RecordError(f"{path}: not a result record (written by `codecfake eval --record`)")
    if record.get("version") != VERSION:
        raise RecordError(
            f"{path}: record version {record.get('version')!r}; this codecfake reads {VERSION}"
        )
    missing = [k for k in ("name", "kind", "rows") if k not in record]
    if missing:
        raise RecordError(f"{path}: the record lacks {missing}")
    return record


def _number_changes(recorded: list[dict[str, Any]], now: list[dict[str, Any]]) -> list[str]:
    def keyed(rows: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
        return {(r["condition"], r["language"]): r for r in rows}

    before, after = keyed(recorded), keyed(now)
    changes = [f"row {c} ({lang}) is gone" for c, lang in before if (c, lang) not in after]
    changes += [f"row {c} ({lang}) is new" for c, lang in after if (c, lang) not in before]
    for where in before.keys() & after.keys():
        old, new = before[where], after[where]
        for key in sorted(old.keys() | new.keys()):
            a, b = old.get(key), new.get(key)
            same = (
                math.isclose(a, b, rel_tol=0, abs_tol=_ABS_TOL)
                if isinstance(a, float) and isinstance(b, float)
                else a == b
            )
            if not same:
                changes.append(f"{where[0]} ({where[1]}) {key}: recorded {a}, now {b}")
    return changes


def check_record(path: os.PathLike[str] | str) -> list[str]:
    """What moved since the record was made: score files, the data, then the numbers.

    Returns one line per problem, each naming what changed; ``[]`` when the record holds.
    Published records have no files behind them and are not re-scored.
    """
    path = Path(path)
    record = read_record(path)
    if record["kind"] != MEASURED:
        return []
    resolve = _resolved_from(path.parent)
    problems: list[str] = []
    for entry in record["score_files"]:
        file = Path(resolve(entry["path"]))
        if not file.is_file():
            problems.append(f"score file {file} is missing")
        elif (digest := sha256_of(file)) != entry["sha256"]:
            problems.append(
                f"score file {file} changed: sha256 {digest[:12]}..., "
                f"recorded {entry['sha256'][:12]}..."
            )
    if any("missing" in p for p in problems):
        return problems
    settings = EvalSettings.from_json(record["settings"]).with_paths(resolve)
    try:
        if (facts := dataset_facts(settings)) != record["dataset"]:
            problems.append(f"the data labelling the scores changed: {facts}")
        rows = [row.to_json() for row in score(settings).rows]
    except CodecfakeError as error:
        return [*problems, f"cannot re-score: {error}"]
    return problems + _number_changes(record["rows"], rows)
