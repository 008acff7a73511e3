"""The benchmark definition in codecfake.py, checked against the spec (shared/docs/DATASET.md)."""

from __future__ import annotations

import pytest

import codecfake
from codecfake import ReleaseError, parse_file_name
from codecfake_core.labels import parse_label_line, read_label_file


@pytest.mark.parametrize(
    ("name", "condition", "utterance", "language", "speaker"),
    [
        ("p225_001.wav", None, "p225_001", "en", "p225"),
        ("SSB13650058.wav", None, "SSB13650058", "zh", "SSB1365"),
        ("F01_SSB13650058.wav", "C1", "SSB13650058", "zh", "SSB1365"),
        ("F07_p376_295.wav", "C7", "p376_295", "en", "p376"),
        ("C3-1_p225_001.wav", "C3-1", "p225_001", "en", "p225"),
        ("C4-3_SSB00050001.wav", "C4-3", "SSB00050001", "zh", "SSB0005"),
        ("L1_p225_001.wav", "A1", "p225_001", "en", "p225"),
        ("L2_p351_402.wav", "A2", "p351_402", "en", "p351"),
        ("69630.wav", None, "69630", "", ""),  # A3 fake: a bare number
        ("Y--0w1YA1Hm4.wav", None, "Y--0w1YA1Hm4", "", ""),  # A3 real: a YouTube id
    ],
)
def test_file_names_follow_the_release_naming(name, condition, utterance, language, speaker):
    parsed = parse_file_name(name)
    assert (parsed.condition, parsed.utterance) == (condition, utterance)
    assert (parsed.language, parsed.speaker) == (language, speaker)


def test_fake_names_round_trip_through_the_parser():
    for condition in codecfake.CONDITIONS.values():
        if not condition.prefix:
            continue  # A3 fakes carry no prefix; only their label file names the condition
        name = codecfake.fake_file_name(condition, "p225_001")
        assert parse_file_name(name).condition == condition.name


def test_the_spec_table_of_codec_conditions():
    table = {
        name: (c.codec, c.sample_rate, c.bitrate_kbps, c.quantizers, c.prefix, c.in_training)
        for name, c in codecfake.CONDITIONS.items()
        if c.kind == "codec"
    }
    assert table == {
        "C1": ("SoundStream", 16_000, 4.0, 8, "F01_", True),
        "C2": ("SpeechTokenizer", 16_000, 4.0, 8, "F02_", True),
        "C3": ("FunCodec", 16_000, 16.0, 32, "F03_", True),
        "C4": ("EnCodec", 24_000, 6.0, 8, "F04_", True),
        "C5": ("AudioDec", 24_000, 6.4, 8, "F05_", True),
        "C6": ("AcademiCodec", 24_000, 3.0, 4, "F06_", True),
        "C7": ("DAC", 44_100, 8.0, 9, "F07_", False),
    }
    subs = {
        n: (c.bitrate_kbps, c.quantizers)
        for n, c in codecfake.CONDITIONS.items()
        if c.kind == "codec-sub"
    }
    assert subs == {
        "C3-1": (3.0, 12),
        "C3-2": (6.0, 24),
        "C3-3": (12.0, 32),
        "C3-4": (24.0, 32),
        "C4-1": (3.0, 4),
        "C4-2": (12.0, 16),
        "C4-3": (24.0, 32),
    }


def test_configuration_names_and_their_splits():
    configs = codecfake.CONFIGS
    for k in range(1, 7):
        for name in (f"en_C{k}", f"zh_C{k}", f"C{k}"):
            assert configs[name].splits_of(codecfake.CONDITIONS) == ("train", "validation", "test")
    for name in ("en_C7", "zh_C7", "C7", "en_A1", "en_A2", "A3", "en_C3-1", "zh_C4-3", "C3-4"):
        assert configs[name].splits_of(codecfake.CONDITIONS) == ("test",), name
    for name in ("en", "zh", "all"):
        assert configs[name].conditions == tuple(f"C{k}" for k in range(1, 8))
    assert "zh_A1" not in configs and "A1" not in configs  # A1/A2 are English only
    assert codecfake.DEFAULT_CONFIG == "all"


def test_shared_real_test_clips_are_one_stored_part_for_every_condition():
    parts = {
        part.pattern
        for name in ("C1", "C4", "C7", "C3-2", "en_A1")
        for part in codecfake.CONFIGS[name].parts()["test"]
        if part.group == codecfake.REAL_CONDITION
    }
    # the pooled configurations also read the clips whose name tells no language
    assert parts == {
        "data/real/test/en-*.parquet",
        "data/real/test/zh-*.parquet",
        "data/real/test/audio-*.parquet",
    }
    pooled = {name for name, config in codecfake.CONFIGS.items() if config.pooled}
    assert {"C1", "C3-2", "en_A1", "A3", "all"} <= pooled
    assert not {"en_C1", "zh_C1", "en", "zh"} & pooled
    assert not any(p.language == "" for p in codecfake.CONFIGS["en_C1"].parts()["test"])
    # A3's reals are AudioCaps clips: stored with A3, never mixed into the speech reals.
    assert [p.pattern for p in codecfake.CONFIGS["A3"].parts()["test"]] == [
        "data/A3/test/audio-*.parquet"
    ]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("p225_001.wav real", "expected 3 columns"),
        ("p225_001.wav real 0 extra", "expected 3 columns"),
        ("p225_001.wav genuine 0", "unknown label 'genuine'"),
        ("../p225_001.wav real 0", "escapes its folder"),
        ("/etc/p225_001.wav real 0", "escapes its folder"),
        ("F01_p225_001.wav fake 0", "fake row has idx '0'"),
        ("p225_001.wav real 3", "real row has idx '3'"),
    ],
)
def test_malformed_label_lines_name_file_line_and_reason(line, reason):
    with pytest.raises(ReleaseError) as caught:
        parse_label_line(line, "label/C1.txt", 17)
    assert str(caught.value).startswith("label/C1.txt:17: ")
    assert reason in str(caught.value)


def test_label_rows_parse_including_the_a_set_quirk():
    assert parse_label_line("F01_SSB13650058.wav fake 1", "x", 1).idx == "1"
    # In A1..A3 label files the third column holds L1/L2/L3 for every row, real ones too.
    assert parse_label_line("p225_001.wav real L1", "x", 1).label == "real"
    assert parse_label_line("   ", "x", 1) is None


def test_duplicate_label_rows_are_reported_at_the_second_line(tmp_path):
    label = tmp_path / "C1.txt"
    label.write_text("p225_001.wav real 0\nF01_p225_001.wav fake 1\np225_001.wav real 0\n")
    with pytest.raises(
        ReleaseError, match=r"C1.txt:3: duplicate file 'p225_001.wav' \(first at line 1\)"
    ):
        read_label_file(label)


def test_user_conditions_extend_the_numbering():
    c8 = codecfake.user_condition("C8", "Mimi", sample_rate=24_000, bitrate_kbps=1.1)
    assert (c8.prefix, c8.label_idx, c8.splits) == ("F08_", "8", ("test",))
    assert codecfake.Condition.from_dict(c8.to_dict()) == c8
    with pytest.raises(ValueError, match="C8, C9"):
        codecfake.user_condition("C3", "clash")
    with pytest.raises(ValueError, match="unknown condition fields"):
        codecfake.Condition.from_dict({**c8.to_dict(), "colour": "red"})
