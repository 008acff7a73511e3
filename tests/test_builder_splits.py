"""The split plan: the paper's sizes on complete corpora, the official assignment, fake routing."""

from __future__ import annotations

from pathlib import Path

import pytest

from codecfake import CONDITIONS, REAL_UTTERANCES, SPLITS, CodecfakeError, ReleaseError
from codecfake_builder.synthesis.splits import (
    fake_split,
    plan_from_labels,
    seeded_plan,
    split_counts,
    split_sizes,
)
from codecfake_builder.synthesis.work import plan_outputs

FULL_VCTK = 44_242
FULL_AISHELL3 = 88_035


def full_corpus_ids() -> dict[str, str]:
    """Synthetic ids in the real naming schemes, as many as the complete corpora hold."""
    english = {f"p{225 + i // 400:03d}_{i % 400 + 1:03d}": "en" for i in range(FULL_VCTK)}
    mandarin = {f"SSB{i // 500:04d}{i % 500 + 1:04d}": "zh" for i in range(FULL_AISHELL3)}
    return {**english, **mandarin}


def test_complete_corpora_get_the_paper_sizes() -> None:
    languages = full_corpus_ids()
    assert len(languages) == 132_277
    plan = seeded_plan(languages.items(), seed=0)
    counts = split_counts(plan, languages)
    assert counts == {"train": {"en": 35_433, "zh": 70_388},
                      "validation": {"en": 4_358, "zh": 8_870},
                      "test": {"en": 4_451, "zh": 8_777}}  # fmt: skip
    totals = {split: sum(by_language.values()) for split, by_language in counts.items()}
    assert totals == {"train": 105_821, "validation": 13_228, "test": 13_228}


def test_paper_counts_match_the_definition() -> None:
    for language, total in (("en", FULL_VCTK), ("zh", FULL_AISHELL3)):
        assert split_sizes(total, language) == {s: REAL_UTTERANCES[s][language] for s in SPLITS}


@pytest.mark.parametrize("total", [1, 2, 3, 7, 10, 12, 999, 20_000])
def test_partial_corpora_are_cut_in_proportion(total: int) -> None:
    for language in ("en", "zh"):
        sizes = split_sizes(total, language)
        assert sum(sizes.values()) == total
        for split, size in sizes.items():
            paper_share = REAL_UTTERANCES[split][language] / (
                FULL_VCTK if language == "en" else FULL_AISHELL3
            )
            assert abs(size - total * paper_share) < 1  # each size is its quota rounded


def test_seeded_plan_is_deterministic_and_order_free() -> None:
    ids = [(f"p225_{i:03d}", "en") for i in range(1, 301)]
    plan = seeded_plan(ids, seed=7)
    assert seeded_plan(list(reversed(ids)), seed=7) == plan
    assert seeded_plan(ids, seed=8) != plan
    assert sorted(plan) == sorted(u for u, _ in ids)


def write_labels(label_dir: Path, files: dict[str, list[str]]) -> None:
    label_dir.mkdir(parents=True, exist_ok=True)
    for name, rows in files.items():
        (label_dir / name).write_text("".join(f"{r}\n" for r in rows))


def test_official_assignment_is_reproduced(tmp_path: Path) -> None:
    write_labels(
        tmp_path,
        {
            "train.txt": [
                "p225_001.wav real 0",
                "F01_p225_001.wav fake 1",
                "SSB00050001.wav real 0",
            ],
            "dev.txt": ["p225_002.wav real 0", "F02_p225_002.wav fake 2"],
            "C1.txt": ["p225_003.wav real 0", "SSB00050002.wav real 0", "F01_p225_003.wav fake 1"],
            "C7.txt": ["p225_003.wav real 0", "SSB00050002.wav real 0", "F07_p225_001.wav fake 7"],
            "A1.txt": ["p225_003.wav real L1", "L1_p225_003.wav fake L1"],
        },
    )
    assert plan_from_labels(tmp_path) == {
        "p225_001": "train",
        "SSB00050001": "train",
        "p225_002": "validation",
        "p225_003": "test",
        "SSB00050002": "test",
    }


def test_contradicting_labels_name_file_and_line(tmp_path: Path) -> None:
    write_labels(
        tmp_path,
        {
            "train.txt": ["p225_001.wav real 0"],
            "C2.txt": ["p225_002.wav real 0", "p225_001.wav real 0"],
        },
    )
    with pytest.raises(ReleaseError, match=r"C2\.txt:2: p225_001\.wav is real in test"):
        plan_from_labels(tmp_path)


def test_empty_label_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CodecfakeError, match="no official label files"):
        plan_from_labels(tmp_path)


def test_fakes_follow_their_utterance_and_c7_takes_every_utterance() -> None:
    assert fake_split(CONDITIONS["C3"], "train") == "train"
    assert fake_split(CONDITIONS["C3"], "validation") == "validation"
    assert fake_split(CONDITIONS["C7"], "train") == "test"
    assert fake_split(CONDITIONS["C3-1"], "train") is None
    assert fake_split(CONDITIONS["C3-1"], "test") == "test"


def test_routing_gives_every_condition_its_published_size() -> None:
    """On complete corpora, each condition's fakes per split and language equal the definition."""
    languages = full_corpus_ids()
    plan = seeded_plan(languages.items(), seed=0)
    codecs = [c for c in CONDITIONS.values() if c.kind != "alm"]
    outputs = plan_outputs(plan, codecs)
    made: dict[tuple[str, str, str], int] = {}
    reals: dict[tuple[str, str], int] = {}
    for utterance, files in outputs.items():
        for output in files:
            if output.condition is None:
                folder = output.file.rsplit("/", 1)[0]
                reals[(folder, languages[utterance])] = (
                    reals.get((folder, languages[utterance]), 0) + 1
                )
                continue
            key = (output.condition, output.split, languages[utterance])
            made[key] = made.get(key, 0) + 1
    expected = {
        (c.name, split, language): n
        for c in codecs
        for split, by_language in (c.fake_counts or {}).items()
        for language, n in by_language.items()
    }
    assert made == expected
    assert reals[("train", "en")] == REAL_UTTERANCES["train"]["en"]
    assert reals[("dev", "zh")] == REAL_UTTERANCES["validation"]["zh"]
    for condition in codecs:  # the same test reals in every test folder
        assert reals[(f"test/{condition.name}", "zh")] == REAL_UTTERANCES["test"]["zh"]
