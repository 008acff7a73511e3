"""The settings that decide a release's bytes, recorded by its first run and enforced after.

``synthesis.json`` holds the run-wide settings (seed, split source, weights kind, output rate,
batch size, microphone) and, under ``conditions``, each condition's codec spec and the
fingerprint of the weights it ran with. Every later shard or resume of the release must agree:
one that would make a condition's files with other settings is refused before it writes a file,
because a release whose C8 is half 12 kbps and half 24 kbps is wrong without looking wrong. A
run may add a condition; it is recorded then.

Shards often start at the same moment, so recording is a locked read-compare-write (see
:func:`codecfake_core.io.exclusive_lock`), and the file's first version is created exclusively: of two
first runs, one records and the other compares against it, even where locks are unavailable.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from codecfake import CodecfakeError
from codecfake_core.io import atomic_write_json, create_exclusive, dumps_json, exclusive_lock

from ..codecs.fingerprint import weights_fingerprint
from ..codecs.registry import describe, spec_from_record
from .provenance import FileRecord

SETTINGS_FILE = "synthesis.json"
CONDITIONS_KEY = "conditions"
ConditionRecord = dict[str, Any]
"""``{"codec": <CodecSpec fields>, "weights": <weights_fingerprint>}``."""


def condition_record(codec: Any) -> ConditionRecord:
    """What a loaded codec's files depend on: its full spec and its weights (as JSON reads them
    back, so a fresh record compares equal to a recorded one)."""
    record = {"codec": codec.spec.to_record(), "weights": weights_fingerprint(codec.provenance)}
    return json.loads(json.dumps(record, default=str))


def record_of_file(record: FileRecord) -> ConditionRecord:
    """The same, from one fake's provenance record."""
    return {"codec": record.codec, "weights": weights_fingerprint(record.checkpoint or {})}


def describe_records(records: list[ConditionRecord]) -> list[str]:
    """Condition records as texts that show how they differ (JSON where the short ones do not)."""
    texts = [_describe(r) for r in records]
    if len(set(texts)) < len(texts):  # the difference is in a field describe() leaves out
        texts = [json.dumps(r, sort_keys=True) for r in records]
    return texts


def _describe(record: ConditionRecord) -> str:
    spec = describe(spec_from_record(record["codec"])).partition(": ")[2]
    weights = str(record["weights"])
    if weights.startswith("sha256:"):
        weights = weights[:23]  # 16 hex digits tell two weight sets apart
    return f"{spec}, weights {weights}"


def read_settings(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        recorded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise CodecfakeError(
            f"{path}: cannot read the recorded settings ({error}); restore the file, or use a "
            "new --out"
        ) from error
    if not isinstance(recorded, dict):
        raise CodecfakeError(f"{path}: not a settings record; restore it, or use a new --out")
    return recorded


def run_differences(recorded: Mapping[str, Any], run: Mapping[str, Any]) -> list[str]:
    return [
        f"{key} was {recorded.get(key)!r}, now {value!r}"
        for key, value in run.items()
        if recorded.get(key) != value
    ]


def condition_differences(
    recorded: Mapping[str, Any], conditions: Mapping[str, ConditionRecord]
) -> list[str]:
    before = recorded.get(CONDITIONS_KEY) or {}
    changed = []
    for name, now in conditions.items():
        if name in before and before[name] != now:
            old, new = describe_records([before[name], now])
            changed.append(f"{name} was {old!r}, now {new!r}")
    return changed


def _refuse(path: Path, differences: list[str]) -> None:
    if differences:
        raise CodecfakeError(
            f"{path}: this release was started with other settings ({'; '.join(differences)}); "
            "use the recorded settings to resume or add shards, or a new --out"
        )


def check_run_settings(path: Path, run: Mapping[str, Any]) -> None:
    """Refuse early (before any codec is loaded) a run whose run-wide settings differ."""
    recorded = read_settings(path)
    if recorded is not None:
        _refuse(path, run_differences(recorded, run))


def record_settings(
    path: Path, run: Mapping[str, Any], conditions: Mapping[str, ConditionRecord], lock: Path
) -> None:
    """Record the settings on the first run and new conditions on later ones; refuse a run
    that differs from the record in a run-wide setting or an existing condition's.

    A condition's record never changes once written, so a run that adds nothing compares
    without the lock (and a refused run leaves nothing behind).
    """
    recorded = read_settings(path)
    if recorded is not None:
        _refuse(path, _differences(recorded, run, conditions))
        if not _added(recorded, conditions):
            return
    with exclusive_lock(lock):
        recorded = read_settings(path)
        if recorded is None:
            first = {**run, CONDITIONS_KEY: dict(conditions)}
            if create_exclusive(path, dumps_json(first).encode("utf-8")):
                return
            recorded = read_settings(path)  # another run created it first: compare with it
            assert recorded is not None
        _refuse(path, _differences(recorded, run, conditions))
        if added := _added(recorded, conditions):
            before = recorded.get(CONDITIONS_KEY) or {}
            atomic_write_json(path, {**recorded, CONDITIONS_KEY: {**before, **added}})


def _differences(
    recorded: Mapping[str, Any], run: Mapping[str, Any], conditions: Mapping[str, ConditionRecord]
) -> list[str]:
    return run_differences(recorded, run) + condition_differences(recorded, conditions)


def _added(
    recorded: Mapping[str, Any], conditions: Mapping[str, ConditionRecord]
) -> dict[str, ConditionRecord]:
    before = recorded.get(CONDITIONS_KEY) or {}
    return {name: r for name, r in conditions.items() if name not in before}
