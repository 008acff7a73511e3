"""End to end: small VCTK + AISHELL-3 trees -> ``synthesize`` -> a release in the official layout.

The codec here is a real weight-free one (8-bit mu-law at each condition's own rate), so the
pipeline's resampling, batching, writing and bookkeeping are what is under test.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import soundfile
from builder_corpora import load_mulaw, make_aishell3, make_vctk_092

import codecfake
from builder.merge import merge_release
from builder.synthesize import Settings, run_shard
from codecfake import CodecfakeError, parse_file_name, read_label_file

CONDITIONS = ("C1", "C4", "C7", "C3-1", "C8")
TESTS = Path(__file__).parent


@pytest.fixture(scope="module")
def corpora(tmp_path_factory: pytest.TempPathFactory, vctk_samples: Path) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("corpora")
    return {
        "en": make_vctk_092(root / "VCTK-Corpus-0.92", vctk_samples, mic2_missing=["p225_002"]),
        "zh": make_aishell3(root / "data_aishell3"),
    }


def build(out: Path, corpora: dict[str, Path], **options) -> Path:
    settings = Settings(
        out=out, corpora=corpora, conditions=CONDITIONS, weights="random", **options
    )
    run_shard(settings, load=load_mulaw)
    if settings.shard[1] == 1:
        merge_release(out)
    return out


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory, corpora: dict[str, Path]) -> Path:
    return build(tmp_path_factory.mktemp("release") / "Codecfake", corpora)


def test_layout_names_labels_and_pairing(release: Path) -> None:
    labels = {p.name for p in (release / "label").glob("*.txt")}
    assert labels == {"train.txt", "dev.txt", "C1.txt", "C4.txt", "C7.txt", "C3-1.txt", "C8.txt"}
    rows = {name: read_label_file(release / "label" / name) for name in labels}
    reals = {
        name: {parse_file_name(r.file).utterance for r in rs if r.label == "real"}
        for name, rs in rows.items()
    }
    every = set().union(*reals.values())
    assert len(every) == 22  # 12 VCTK + 10 AISHELL-3 utterances, each real in one split
    assert reals["train.txt"].isdisjoint(reals["dev.txt"])
    test_reals = reals["C1.txt"]
    assert all(reals[f"{c}.txt"] == test_reals for c in ("C4", "C7", "C3-1", "C8"))
    assert every == reals["train.txt"] | reals["dev.txt"] | test_reals

    def fakes(name: str, prefix: str) -> set[str]:
        found = set()
        for row in rows[name]:
            if row.label == "fake":
                assert row.file.startswith(prefix)
                found.add(parse_file_name(row.file).utterance)
        return found

    for split_file, split_reals in (
        ("train.txt", reals["train.txt"]),
        ("dev.txt", reals["dev.txt"]),
    ):
        assert fakes(split_file, "F0") == split_reals  # C1 and C4 fakes pair with each real
        by_prefix = {r.file[:4] for r in rows[split_file] if r.label == "fake"}
        assert by_prefix == {"F01_", "F04_"}
    assert fakes("C1.txt", "F01_") == test_reals
    assert fakes("C3-1.txt", "C3-1_") == test_reals
    assert fakes("C7.txt", "F07_") == every  # C7 resynthesises every utterance into its test set
    assert fakes("C8.txt", "F08_") == every  # so does a new codec
    assert {r.idx for r in rows["C3-1.txt"] if r.label == "fake"} == {"3"}
    for name, label_rows in rows.items():
        folder = {"train.txt": "train", "dev.txt": "dev"}.get(name, f"test/{name[:-4]}")
        for row in label_rows:
            assert (release / folder / row.file).is_file(), f"{name}: {row.file} missing"
    english = {u for u in every if parse_file_name(u).language == "en"}
    assert "p315_001" in english  # no transcript, audio kept


def test_every_clip_is_16_bit_wav_at_one_rate(release: Path) -> None:
    clips = sorted(release.rglob("*.wav"))
    rows = sum(len(read_label_file(p)) for p in (release / "label").glob("*.txt"))
    assert len(clips) == rows == 120  # one file per label row, nothing unlisted
    for clip in clips:
        info = soundfile.info(clip)
        assert (info.format, info.subtype, info.samplerate, info.channels) == (
            "WAV",
            "PCM_16",
            16_000,
            1,
        )


def test_counts(release: Path) -> None:
    """Seeded 80/10/10 on 12 English + 10 Mandarin utterances gives 10/1/1 and 8/1/1."""
    count = {p.name: len(read_label_file(p)) for p in (release / "label").glob("*.txt")}
    # train: 18 reals + 2 x 18 fakes; dev: 2 + 2 x 2; test sets: 2 reals + fakes
    assert count == {"train.txt": 54, "dev.txt": 6, "C1.txt": 4, "C4.txt": 4, "C3-1.txt": 4,
                     "C7.txt": 24, "C8.txt": 24}  # fmt: skip


def test_fakes_are_codec_output_of_their_real(release: Path) -> None:
    import numpy as np

    real, _ = soundfile.read(release / "test/C7/p318_002.wav")
    fake, _ = soundfile.read(release / "test/C7/F07_p318_002.wav")
    assert not np.array_equal(real, fake)
    assert abs(len(real) - len(fake)) <= 2  # round trip through 44.1 kHz
    n = min(len(real), len(fake))
    assert np.corrcoef(real[:n], fake[:n])[0, 1] > 0.95


def test_provenance_names_sources_codecs_and_hashes(
    release: Path, corpora: dict[str, Path]
) -> None:
    records = [json.loads(line) for line in (release / "provenance.jsonl").read_text().splitlines()]
    on_disk = {p.relative_to(release).as_posix() for p in release.rglob("*.wav")}
    assert {r["file"] for r in records} == on_disk
    text = (release / "provenance.jsonl").read_text()
    for root in corpora.values():
        assert str(root) not in text  # never an absolute path
    for record in records:
        output = (release / record["file"]).read_bytes()
        assert record["sha256"] == hashlib.sha256(output).hexdigest()
        corpus = corpora["en" if record["source"]["corpus"] == "VCTK" else "zh"]
        source = (corpus / record["source"]["path"]).read_bytes()
        assert record["source"]["sha256"] == hashlib.sha256(source).hexdigest()
        assert record["versions"]["codecfake"] == codecfake.__version__
        if record["label"] == "fake":
            assert record["codec"]["condition"] == record["condition"]
            assert record["weights"] == "random"
            assert "checkpoint" in record
        else:
            assert record["codec"] is None
    vctk = [r for r in records if r["source"]["corpus"] == "VCTK" and r["utterance"] == "p225_001"]
    assert {r["source"]["path"] for r in vctk} == {"wav48_silence_trimmed/p225/p225_001_mic1.flac"}


def test_new_conditions_are_declared_for_prepare(release: Path) -> None:
    conditions = codecfake.release_conditions(release)
    assert conditions["C8"].prefix == "F08_"
    assert conditions["C8"].label_idx == "8"
    declared = json.loads((release / "label" / codecfake.CONDITIONS_FILE).read_text())
    assert [c["name"] for c in declared] == ["C8"]


def test_sharded_then_merged_equals_single_run(
    tmp_path: Path, corpora: dict[str, Path], release: Path
) -> None:
    out = tmp_path / "sharded"
    for index in (2, 0, 1):  # any order
        build(out, corpora, shard=(index, 3))
    with pytest.raises(CodecfakeError, match="not finished"):
        (out / ".synthesize" / "shard-1-of-3.done").rename(out / ".synthesize" / "held")
        merge_release(out)
    (out / ".synthesize" / "held").rename(out / ".synthesize" / "shard-1-of-3.done")
    merge_release(out)
    assert tree(out) == tree(release)


KILLABLE_RUN = """
import sys, time
sys.path.insert(0, {tests!r})
from pathlib import Path
from builder_corpora import MuLawCodec
from builder.merge import merge_release
from builder.synthesize import Settings, run_shard

class SlowMuLaw(MuLawCodec):
    def resynthesize(self, waveforms):
        time.sleep(0.02)  # leaves room to kill the run between and inside batches
        return super().resynthesize(waveforms)

settings = Settings(out=Path({out!r}), corpora={corpora!r}, conditions={conditions!r},
                    weights="random", batch_size=2)
run_shard(settings, load=lambda name, **_: SlowMuLaw(name))
merge_release(settings.out)
"""


@pytest.mark.slow
def test_killed_runs_resume_to_the_clean_tree(tmp_path: Path, corpora: dict[str, Path]) -> None:
    clean = build(tmp_path / "clean", corpora, batch_size=2)
    out = tmp_path / "killed"
    script = KILLABLE_RUN.format(
        tests=str(TESTS),
        out=str(out),
        corpora={k: str(v) for k, v in corpora.items()},
        conditions=CONDITIONS,
    )
    log = out / ".synthesize" / "shard-0-of-1.log.jsonl"
    env = {**os.environ, "PYTHONPATH": str(TESTS.parent)}
    for lines_before_kill in (3, 40, 90):
        process = subprocess.Popen(
            [sys.executable, "-c", script], env=env, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            if log.is_file() and log.read_bytes().count(b"\n") >= lines_before_kill:
                break
            time.sleep(0.002)
        process.send_signal(signal.SIGKILL)
        assert process.wait() == -signal.SIGKILL, "the run finished before it could be killed"
    assert tree(out) != tree(clean)
    subprocess.run([sys.executable, "-c", script], env=env, check=True, stderr=subprocess.DEVNULL)
    assert tree(out) == tree(clean)


def test_rerun_of_a_finished_release_changes_nothing(
    tmp_path: Path, corpora: dict[str, Path]
) -> None:
    out = build(tmp_path / "twice", corpora)
    first = tree(out)
    (out / "train" / "p225_001.wav").unlink()  # lost after the fact: made again, identically
    build(out, corpora)
    assert tree(out) == first


def test_changed_settings_refuse_to_resume(tmp_path: Path, corpora: dict[str, Path]) -> None:
    out = build(tmp_path / "seeded", corpora)
    with pytest.raises(CodecfakeError, match="seed was 0, now 1"):
        build(out, corpora, seed=1)


def test_bad_sources_are_reported_not_dropped(tmp_path: Path, corpora: dict[str, Path]) -> None:
    import shutil

    broken = {k: tmp_path / "corpora" / k for k in corpora}
    for key, root in corpora.items():
        shutil.copytree(root, broken[key])
    (broken["en"] / "wav48_silence_trimmed/p295/p295_001_mic1.flac").write_bytes(b"fLaC broken")
    empty = broken["zh"] / "train/wav/SSB0009/SSB00090003.wav"
    soundfile.write(empty, [], 44_100, subtype="PCM_16")
    out = build(tmp_path / "release", broken)
    failures = [json.loads(line) for line in (out / "failures.jsonl").read_text().splitlines()]
    assert {(f["utterance"], f["source"]) for f in failures} == {
        ("p295_001", "wav48_silence_trimmed/p295/p295_001_mic1.flac"),
        ("SSB00090003", "train/wav/SSB0009/SSB00090003.wav"),
    }
    assert any("empty audio" in f["error"] for f in failures)
    listed = "".join(p.read_text() for p in (out / "label").glob("*.txt"))
    assert "p295_001" not in listed and "SSB00090003" not in listed
    assert "p295_002" in listed
    with pytest.raises(
        CodecfakeError, match=r"2 failures, more than --max-failures 1; see .*failures"
    ):
        build(tmp_path / "strict", broken, max_failures=1)


def test_official_split_is_reproduced(tmp_path: Path, corpora: dict[str, Path]) -> None:
    labels = tmp_path / "official" / "label"
    labels.mkdir(parents=True)
    (labels / "train.txt").write_text(
        "p225_001.wav real 0\nF01_p225_001.wav fake 1\nSSB00050001.wav real 0\n"
    )
    (labels / "dev.txt").write_text("p225_002.wav real 0\n")
    (labels / "C1.txt").write_text(
        "p351_002.wav real 0\nSSB13650060.wav real 0\np999_001.wav real 0\n"
    )
    out = build(tmp_path / "release", corpora, splits_from=labels)
    assert [r.file for r in read_label_file(out / "label" / "train.txt") if r.label == "real"] == [
        "SSB00050001.wav", "p225_001.wav",
    ]  # fmt: skip
    assert [r.file for r in read_label_file(out / "label" / "C7.txt") if r.label == "real"] == [
        "SSB13650060.wav", "p351_002.wav",
    ]  # fmt: skip
    failures = (out / "failures.jsonl").read_text()
    assert "p999_001" in failures and "not in the corpus" in failures


def test_cli_reports_a_corpus_in_the_wrong_layout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from codecfake_cli import main

    (tmp_path / "vctk" / "p225").mkdir(parents=True)
    code = main(["synthesize", "--vctk", str(tmp_path / "vctk"), "--out", str(tmp_path / "out"),
                 "--conditions", "identity", "--codec-weights", "random"])  # fmt: skip
    assert code == 2
    assert "not a VCTK folder" in capsys.readouterr().err
