"""dataset_infos.json: generated from codecfake.py, committed, and true to DATASET.md's numbers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from codecfake_builder.folder import infos

COMMITTED = Path(__file__).resolve().parents[1] / "dataset_infos.json"


@pytest.fixture(scope="module")
def committed() -> dict:
    return json.loads(COMMITTED.read_text(encoding="utf-8"))


def sizes(committed: dict, config: str) -> dict[str, int]:
    return {s["name"]: s["num_examples"] for s in committed[config]["splits"]}


def test_committed_file_is_what_the_generator_writes(tmp_path):
    regenerated = tmp_path / "dataset_infos.json"
    infos.main([str(regenerated)])
    assert regenerated.read_bytes() == COMMITTED.read_bytes(), (
        "dataset_infos.json is stale: run `python -m codecfake_builder.folder.infos dataset_infos.json`"
    )


# The numbers below are DATASET.md's ("Counts" and "Conditions"), typed from the spec.
REAL = {"train": (35_433, 70_388), "validation": (4_358, 8_870), "test": (4_451, 8_777)}
ALL_EN, ALL_ZH = 44_242, 88_035


def test_the_benchmark_totals(committed):
    assert sizes(committed, "all") == {"train": 740_747, "validation": 92_596, "test": 224_873}
    assert sum(sizes(committed, "all").values()) == 1_058_216
    en, zh = sizes(committed, "en"), sizes(committed, "zh")
    for split, (real_en, real_zh) in REAL.items():
        c7_en, c7_zh = (ALL_EN, ALL_ZH) if split == "test" else (0, 0)
        # real clips + six training codecs (+ C7's resyntheses of every utterance, test only)
        assert en[split] == real_en * 7 + c7_en
        assert zh[split] == real_zh * 7 + c7_zh
        assert en[split] + zh[split] == sizes(committed, "all")[split]


@pytest.mark.parametrize("k", range(1, 7))
def test_each_training_codec(committed, k):
    assert sizes(committed, f"C{k}") == {"train": 211_642, "validation": 26_456, "test": 26_456}
    assert sizes(committed, f"en_C{k}")["test"] == 4_451 + 4_451
    assert sizes(committed, f"zh_C{k}")["test"] == 8_777 + 8_777
    assert sizes(committed, f"en_C{k}")["train"] == 2 * 35_433


def test_unseen_codec_c7_is_test_only(committed):
    assert sizes(committed, "C7") == {"test": 145_505}
    assert sizes(committed, "en_C7") == {"test": 4_451 + ALL_EN}
    assert sizes(committed, "zh_C7") == {"test": 8_777 + ALL_ZH}


def test_sub_configurations_and_alm_sets(committed):
    for name in ("C3-1", "C3-2", "C3-3", "C3-4", "C4-1", "C4-2", "C4-3"):
        assert sizes(committed, name) == {"test": 26_456}, name
    assert sizes(committed, "en_A1") == {"test": 8_887}
    assert sizes(committed, "en_A2") == {"test": 8_887}
    assert sizes(committed, "A3") == {"test": 49_274 + 49_838}
    assert sizes(committed, "A3")["test"] == 99_112


def test_every_configuration_has_the_dataset_features(committed):
    names = {f["name"] for f in committed["all"]["features"]}
    assert names == {
        "audio",
        "file",
        "label",
        "condition",
        "codec",
        "language",
        "speaker",
        "utterance",
    }
    for config, info in committed.items():
        assert info["features"] == committed["all"]["features"], config
        assert info["config_name"] == config
