"""AISHELL-3 (Mandarin): ``train/`` and ``test/``, each with ``wav/<speaker>/<utt>.wav`` and a
``content.txt`` of ``<utt>.wav<TAB>广 guang3 州 zhou1 ...`` (each character followed by its pinyin).

Codecfake uses every utterance regardless of AISHELL-3's own train/test split.
"""

from __future__ import annotations

import os
from pathlib import Path

from .manifest import CorpusError, Utterance, with_headers

LANGUAGE = "zh"
PARTS = ("train", "test")


def prepare_aishell3(corpus_dir: os.PathLike[str] | str) -> list[Utterance]:
    """Every AISHELL-3 utterance with audio, sorted by id, with its characters and pinyin."""
    root = Path(corpus_dir)
    parts = [root / p for p in PARTS if (root / p / "wav").is_dir()]
    if not parts:
        raise CorpusError(root, "not an AISHELL-3 folder: expected train/wav/ and/or test/wav/")
    drafts: list[tuple[Path, dict[str, str]]] = []
    for part in parts:
        transcripts = read_content(part / "content.txt")
        for path in part.glob("wav/*/*.wav"):
            # A wav missing from content.txt keeps its audio, with empty text.
            text, pinyin = transcripts.get(path.name, ("", ""))
            fields = {"id": path.stem, "speaker": path.parent.name, "language": LANGUAGE}
            drafts.append((path, {**fields, "text": text, "pinyin": pinyin}))
    if not drafts:
        raise CorpusError(root, "AISHELL-3 folder holds no wav/<speaker>/*.wav files")
    return with_headers(root, sorted(drafts, key=lambda draft: draft[1]["id"]))


def read_content(path: Path) -> dict[str, tuple[str, str]]:
    """file name -> (characters, space-separated pinyin) from a ``content.txt``."""
    if not path.is_file():
        raise CorpusError(path, "AISHELL-3 transcript file is missing")
    transcripts: dict[str, tuple[str, str]] = {}
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            fields = line.split()
            if not fields:
                continue
            name, tokens = fields[0], fields[1:]
            if len(tokens) % 2:
                raise CorpusError(
                    path,
                    f"expected character/pinyin pairs after {name}, got {len(tokens)} tokens",
                    number,
                )
            transcripts[name] = ("".join(tokens[0::2]), " ".join(tokens[1::2]))
    return transcripts
