"""Which split each real utterance belongs to, and which split each condition's fakes go to.

The paper splits by utterance (not by speaker), about 80/10/10 per language. Without the official
label files we reproduce that exactly in size: each language is cut in the paper's own
proportions, so a complete corpus gets the paper's counts and a partial one the nearest integers.
Which utterance lands where is a seeded hash order, so it does not depend on listing order,
on sharding, or on the numeric library's random generator.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from codecfake import (
    REAL_UTTERANCES,
    RELEASE_SPLIT_DIR,
    SPLITS,
    CodecfakeError,
    Condition,
    ReleaseError,
    parse_file_name,
)
from codecfake_core.labels import read_label_file

SplitPlan = dict[str, str]
"""utterance id -> split (``train``, ``validation``, ``test``)."""


def split_sizes(total: int, language: str) -> dict[str, int]:
    """``total`` utterances of ``language`` cut in the paper's proportions (largest remainder)."""
    paper = {split: REAL_UTTERANCES[split][language] for split in SPLITS}
    paper_total = sum(paper.values())
    quotas = {split: total * count / paper_total for split, count in paper.items()}
    sizes = {split: int(quota) for split, quota in quotas.items()}
    by_remainder = sorted(SPLITS, key=lambda s: (-(quotas[s] - sizes[s]), SPLITS.index(s)))
    for split in by_remainder[: total - sum(sizes.values())]:
        sizes[split] += 1
    return sizes


def seeded_plan(utterances: Iterable[tuple[str, str]], seed: int) -> SplitPlan:
    """Assign (utterance id, language) pairs to splits in the paper's proportions per language."""
    by_language: dict[str, list[str]] = {}
    for utterance_id, language in utterances:
        by_language.setdefault(language, []).append(utterance_id)
    plan: SplitPlan = {}
    for language, ids in by_language.items():
        order = sorted(ids, key=lambda u: hashlib.sha256(f"{seed}\0{u}".encode()).digest())
        start = 0
        for split, size in split_sizes(len(order), language).items():
            plan.update(dict.fromkeys(order[start : start + size], split))
            start += size
    return plan


def plan_from_labels(label_dir: os.PathLike[str] | str) -> SplitPlan:
    """The official assignment: reals of ``train.txt``/``dev.txt``, and of the ``C*.txt`` test sets.

    The ALM sets (``A*.txt``) are left out: their reals are either the codec test reals again or
    AudioCaps clips that are not speech from our corpora.
    """
    root = Path(label_dir)
    files = [(root / f"{RELEASE_SPLIT_DIR[s]}.txt", s) for s in ("train", "validation")]
    files += [(path, "test") for path in sorted(root.glob("C*.txt"))]
    files = [(path, split) for path, split in files if path.is_file()]
    if not files:
        raise CodecfakeError(
            f"{root}: no official label files here (expected train.txt, dev.txt, C1.txt ...)"
        )
    plan: SplitPlan = {}
    for path, split in files:
        for row in read_label_file(path):
            if row.label != "real":
                continue
            utterance = parse_file_name(row.file).utterance
            if plan.setdefault(utterance, split) != split:
                raise ReleaseError(
                    path,
                    f"{row.file} is real in {split} here but in {plan[utterance]} before",
                    row.line,
                )
    return plan


def covers_every_utterance(condition: Condition) -> bool:
    """A codec kept out of training (C7, and new codecs C8+) resynthesises every utterance."""
    return condition.kind == "codec" and tuple(condition.splits) == ("test",)


def fake_split(condition: Condition, utterance_split: str) -> str | None:
    """The split ``condition``'s fake of an utterance from ``utterance_split`` goes to, if any.

    C1..C6 fakes follow their utterance; C7 (and C8+) put every utterance into their test set;
    sub-configurations (C3-1 ...) cover the test utterances only.
    """
    if utterance_split in condition.splits:
        return utterance_split
    if covers_every_utterance(condition):
        return "test"
    return None


def split_counts(
    plan: Mapping[str, str], languages: Mapping[str, str]
) -> dict[str, dict[str, int]]:
    """Utterances per split and language: the summary synthesis prints and tests check."""
    counts: dict[str, dict[str, int]] = {s: {} for s in SPLITS}
    for utterance, split in plan.items():
        language = languages[utterance]
        counts[split][language] = counts[split].get(language, 0) + 1
    return counts
