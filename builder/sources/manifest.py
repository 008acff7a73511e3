"""The record every corpus parser returns, and its JSON Lines form.

Paths are relative to the corpus root, so a manifest (and the provenance built from it) never
leaks the layout of the machine that made it, and stays valid when the corpus moves.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import soundfile

from codecfake import ReleaseError
from codecfake_core.io import atomic_open

HEADER_READERS = 8


class CorpusError(ReleaseError):
    """A source corpus folder that does not look like the corpus it is given as."""


@dataclass(frozen=True)
class Utterance:
    """One source utterance. ``id`` is its Codecfake base name (``p225_001``, ``SSB00050001``).

    ``sample_rate`` and ``duration`` come from the file header; they are ``None`` when the header
    does not decode, and synthesis then reports the file as a failure instead of losing it here.
    """

    id: str
    speaker: str
    language: str
    path: str
    text: str
    sample_rate: int | None
    duration: float | None
    pinyin: str = ""

    def source(self, corpus_dir: os.PathLike[str] | str) -> Path:
        return Path(corpus_dir) / self.path


def header_facts(path: Path) -> tuple[int | None, float | None]:
    """(native rate, duration in seconds) from the header alone; (None, None) if it is unreadable."""
    try:
        info = soundfile.info(str(path))
    except (RuntimeError, soundfile.LibsndfileError):
        return None, None
    return info.samplerate, info.frames / info.samplerate


def with_headers(
    corpus_dir: Path, drafts: Sequence[tuple[Path, dict[str, str]]]
) -> list[Utterance]:
    """Utterance records for (audio path, other fields) pairs, their headers read in threads.

    A full corpus has 132,277 headers to read; libsndfile releases the GIL, so a few threads
    overlap the file-system waits and listing takes a fraction of the time.
    """
    with ThreadPoolExecutor(max_workers=HEADER_READERS) as pool:
        facts = list(pool.map(header_facts, [path for path, _ in drafts]))
    return [
        Utterance(
            path=path.relative_to(corpus_dir).as_posix(),
            sample_rate=rate,
            duration=duration,
            **known,
        )
        for (path, known), (rate, duration) in zip(drafts, facts, strict=True)
    ]


def write_manifest(path: os.PathLike[str] | str, utterances: Iterable[Utterance]) -> None:
    """One JSON object per line, written atomically so a crash never leaves half a manifest."""
    with atomic_open(path, "w", encoding="utf-8") as handle:
        for utterance in utterances:
            handle.write(json.dumps(asdict(utterance), ensure_ascii=False) + "\n")


def read_manifest(path: os.PathLike[str] | str) -> list[Utterance]:
    names = {f.name for f in fields(Utterance)}
    utterances: list[Utterance] = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                unknown = set(record) - names
                if unknown:
                    raise ValueError(f"unknown fields {sorted(unknown)}")
                utterances.append(Utterance(**record))
            except (ValueError, TypeError) as error:
                raise ReleaseError(path, f"not an utterance record: {error}", number) from error
    return utterances
