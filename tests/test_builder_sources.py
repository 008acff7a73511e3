"""Golden tests of the corpus parsers on small trees in the real VCTK and AISHELL-3 layouts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile

from codecfake import ReleaseError
from codecfake_builder.sources.aishell3 import prepare_aishell3
from codecfake_builder.sources.manifest import CorpusError, Utterance, read_manifest, write_manifest
from codecfake_builder.sources.vctk import prepare_vctk
from testkit.builder_corpora import make_aishell3, make_vctk_092


@pytest.fixture(scope="module")
def vctk_092(tmp_path_factory: pytest.TempPathFactory, vctk_samples_or_none: Path | None) -> Path:
    root = tmp_path_factory.mktemp("VCTK-Corpus-0.92")
    return make_vctk_092(root, vctk_samples_or_none, mic2_missing=["p225_002", "p351_001"])


def test_vctk_092_golden(vctk_092: Path) -> None:
    utterances = prepare_vctk(vctk_092)
    assert [u.id for u in utterances] == [
        "p225_001", "p225_002", "p225_003", "p295_001", "p295_002", "p315_001",
        "p315_002", "p318_001", "p318_002", "p343_001", "p351_001", "p351_002",
    ]  # fmt: skip
    first = utterances[0]
    assert first == Utterance(
        id="p225_001",
        speaker="p225",
        language="en",
        path="wav48_silence_trimmed/p225/p225_001_mic1.flac",
        text="Please call Stella.",
        sample_rate=48_000,
        duration=pytest.approx(1.2),
    )
    by_id = {u.id: u for u in utterances}
    assert by_id["p315_001"].text == "" and by_id["p315_002"].text == ""  # p315 has no transcripts
    assert by_id["p351_002"].text == "At the train station."
    assert all(u.path.endswith("_mic1.flac") for u in utterances)


def test_vctk_mic2_falls_back_to_mic1_when_missing(vctk_092: Path) -> None:
    by_id = {u.id: u for u in prepare_vctk(vctk_092, mic="mic2")}
    assert by_id["p225_002"].path == "wav48_silence_trimmed/p225/p225_002_mic1.flac"
    assert by_id["p351_001"].path == "wav48_silence_trimmed/p351/p351_001_mic1.flac"
    assert by_id["p225_001"].path == "wav48_silence_trimmed/p225/p225_001_mic2.flac"
    assert len(by_id) == 12


def test_vctk_080_layout(tmp_path: Path) -> None:
    rate = 48_000
    for speaker, number, seconds in [("p225", 1, 0.5), ("p225", 2, 0.25), ("p315", 1, 0.75)]:
        folder = tmp_path / "wav48" / speaker
        folder.mkdir(parents=True, exist_ok=True)
        samples = np.zeros(int(rate * seconds), dtype=np.int16)
        soundfile.write(folder / f"{speaker}_{number:03d}.wav", samples, rate)
    (tmp_path / "txt" / "p225").mkdir(parents=True)
    (tmp_path / "txt" / "p225" / "p225_001.txt").write_text("Please call Stella.\n")
    assert prepare_vctk(tmp_path) == [
        Utterance(
            "p225_001", "p225", "en", "wav48/p225/p225_001.wav", "Please call Stella.", rate, 0.5
        ),
        Utterance("p225_002", "p225", "en", "wav48/p225/p225_002.wav", "", rate, 0.25),
        Utterance("p315_001", "p315", "en", "wav48/p315/p315_001.wav", "", rate, 0.75),
    ]


def test_aishell3_golden_text_and_pinyin(tmp_path: Path) -> None:
    root = make_aishell3(tmp_path / "data_aishell3")
    utterances = prepare_aishell3(root)
    assert len(utterances) == 10
    first = utterances[0]
    assert (first.id, first.speaker, first.language, first.path) == (
        "SSB00050001", "SSB0005", "zh", "train/wav/SSB0005/SSB00050001.wav",
    )  # fmt: skip
    assert first.text == "广州女大学生"
    assert first.pinyin == "guang3 zhou1 nv3 da4 xue2 sheng1"
    assert first.sample_rate == 44_100
    test_part = {u.id: u for u in utterances}["SSB13650059"]
    assert test_part.path == "test/wav/SSB1365/SSB13650059.wav"
    assert (test_part.text, test_part.pinyin) == ("儿童节", "er2 tong2 jie2")


def test_aishell3_wav_without_transcript_keeps_audio(tmp_path: Path) -> None:
    root = make_aishell3(tmp_path)
    content = root / "train" / "content.txt"
    lines = content.read_text(encoding="utf-8").splitlines()
    content.write_text(
        "\n".join(line for line in lines if not line.startswith("SSB00090002")) + "\n"
    )
    orphan = {u.id: u for u in prepare_aishell3(root)}["SSB00090002"]
    assert (orphan.text, orphan.pinyin) == ("", "")


def test_aishell3_broken_transcript_line_names_file_and_line(tmp_path: Path) -> None:
    root = make_aishell3(tmp_path)
    content = root / "test" / "content.txt"
    content.write_text(content.read_text(encoding="utf-8") + "SSB13650099.wav\t北 bei3 京\n")
    with pytest.raises(CorpusError, match=r"content\.txt:4: expected character/pinyin pairs"):
        prepare_aishell3(root)


@pytest.mark.parametrize(
    ("prepare", "message"),
    [(prepare_vctk, "not a VCTK folder"), (prepare_aishell3, "not an AISHELL-3 folder")],
)
def test_wrong_layout_is_a_clear_error(tmp_path: Path, prepare, message: str) -> None:
    (tmp_path / "p225").mkdir()
    with pytest.raises(CorpusError, match=message) as caught:
        prepare(tmp_path)
    assert str(tmp_path) in str(caught.value)


def test_unreadable_header_is_kept_for_synthesis_to_report(tmp_path: Path) -> None:
    folder = tmp_path / "wav48_silence_trimmed" / "p225"
    folder.mkdir(parents=True)
    (folder / "p225_001_mic1.flac").write_bytes(b"not audio at all")
    [utterance] = prepare_vctk(tmp_path)
    assert (utterance.sample_rate, utterance.duration) == (None, None)


def test_manifest_round_trip_and_bad_line(tmp_path: Path) -> None:
    root = make_aishell3(tmp_path / "corpus")
    utterances = prepare_aishell3(root)
    path = tmp_path / "manifest.jsonl"
    write_manifest(path, utterances)
    assert read_manifest(path) == utterances
    assert "广州女大学生" in path.read_text(encoding="utf-8")
    path.write_text(path.read_text(encoding="utf-8") + '{"id": "x", "colour": 1}\n')
    with pytest.raises(ReleaseError, match=r"manifest\.jsonl:11: .*unknown fields \['colour'\]"):
        read_manifest(path)
