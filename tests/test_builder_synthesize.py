"""End to end: small VCTK + AISHELL-3 trees -> ``codecfake synthesize`` -> release -> dataset.

Everything runs through the command line and real codec backends with random weights. The main
release uses the fast ones: SoundStream (C1, whose fakes follow their utterance's split) and
FunCodec (C3-1, test only) at their small random-weights size, and new conditions defined on the
spot (C8 identity, C9 Opus) that cover every utterance. One slow test runs every backend this
machine has (EnCodec, DAC, Mimi, AudioDec, HiFi-Codec, ...).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile

import codecfake
from codecfake import parse_file_name
from codecfake_cli import main
from codecfake_core.io import temporaries
from codecfake_core.labels import LabelRow, read_label_file
from codecfake_core.release import release_conditions
from testkit.builder_corpora import make_aishell3, make_vctk_092

CODECS = ["--conditions", "C1,C3-1", "--codec", "C8=identity", "--codec", "C9=opus@12kbps"]
FAST_CODECS = ["--conditions", "C8", "--codec", "C8=identity", "--codec", "C9=opus@12kbps"]
LABEL_FILES = {"train.txt", "dev.txt", "C1.txt", "C3-1.txt", "C8.txt", "C9.txt"}


@pytest.fixture(scope="module")
def corpora(
    tmp_path_factory: pytest.TempPathFactory, vctk_samples_or_none: Path | None
) -> dict[str, Path]:
    """English from the real VCTK clips (generated speech without ../shared), Mandarin generated."""
    root = tmp_path_factory.mktemp("corpora")
    vctk = root / "VCTK-Corpus-0.92"
    return {
        "--vctk": make_vctk_092(vctk, vctk_samples_or_none, mic2_missing=["p225_002"]),
        "--aishell3": make_aishell3(root / "data_aishell3"),
    }


def synthesize(out: Path, corpora: dict[str, Path], *options: str) -> int:
    arguments = [str(a) for pair in corpora.items() for a in pair]
    return main(
        ["synthesize", *arguments, "--out", str(out), "--codec-weights", "random", *options]
    )


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def label_rows(release: Path) -> dict[str, list[LabelRow]]:
    return {p.name: read_label_file(p) for p in (release / "label").glob("*.txt")}


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory, corpora: dict[str, Path]) -> Path:
    out = tmp_path_factory.mktemp("release") / "Codecfake"
    assert synthesize(out, corpora, *CODECS) == 0
    return out


def test_layout_names_labels_and_pairing(release: Path) -> None:
    rows = label_rows(release)
    assert set(rows) == LABEL_FILES
    reals = {
        name: {parse_file_name(r.file).utterance for r in rs if r.label == "real"}
        for name, rs in rows.items()
    }
    fakes = {
        name: {parse_file_name(r.file).utterance for r in rs if r.label == "fake"}
        for name, rs in rows.items()
    }
    every = reals["train.txt"] | reals["dev.txt"] | reals["C1.txt"]
    assert len(every) == 22  # 12 VCTK + 10 AISHELL-3 utterances, each real in exactly one split
    assert len(reals["train.txt"]) + len(reals["dev.txt"]) + len(reals["C1.txt"]) == 22
    assert all(reals[f"{c}.txt"] == reals["C1.txt"] for c in ("C3-1", "C8", "C9"))
    assert fakes["train.txt"] == reals["train.txt"]  # each C1 fake pairs with its real
    assert fakes["dev.txt"] == reals["dev.txt"]
    assert fakes["C1.txt"] == fakes["C3-1.txt"] == reals["C1.txt"]
    assert fakes["C8.txt"] == fakes["C9.txt"] == every  # new codecs take every utterance
    prefixes = {
        name: {r.file.split("_")[0] for r in rs if r.label == "fake"} for name, rs in rows.items()
    }
    assert prefixes == {"train.txt": {"F01"}, "dev.txt": {"F01"}, "C1.txt": {"F01"},
                        "C3-1.txt": {"C3-1"}, "C8.txt": {"F08"}, "C9.txt": {"F09"}}  # fmt: skip
    assert {r.idx for r in rows["C3-1.txt"] if r.label == "fake"} == {"3"}
    assert {r.idx for r in rows["C9.txt"] if r.label == "fake"} == {"9"}
    assert "p315_001" in every  # no transcript, audio kept


def test_counts_and_one_file_per_row(release: Path) -> None:
    """Seeded 80/10/10 on 12 English + 10 Mandarin utterances gives 10/1/1 and 8/1/1."""
    counts = {name: len(rs) for name, rs in label_rows(release).items()}
    assert counts == {"train.txt": 36, "dev.txt": 4, "C1.txt": 4, "C3-1.txt": 4,
                      "C8.txt": 24, "C9.txt": 24}  # fmt: skip
    clips = sorted(release.rglob("*.wav"))
    assert len(clips) == sum(counts.values())
    for clip in clips:
        info = soundfile.info(clip)
        assert (info.format, info.subtype, info.samplerate, info.channels) == (
            "WAV", "PCM_16", 16_000, 1,
        )  # fmt: skip
    assert not temporaries(release) and not (release / ".synthesize").exists()


def test_fakes_are_their_real_through_the_codec(release: Path) -> None:
    [real_row] = [r for r in read_label_file(release / "label/C8.txt") if r.label == "real"][:1]
    utterance = parse_file_name(real_row.file).utterance
    real = (release / "test/C8" / real_row.file).read_bytes()
    assert (release / f"test/C8/F08_{utterance}.wav").read_bytes() == real  # identity codec
    clean, _ = soundfile.read(release / "test/C9" / real_row.file)
    opus, _ = soundfile.read(release / f"test/C9/F09_{utterance}.wav")
    assert len(opus) == len(clean) and not np.array_equal(opus, clean)
    assert np.corrcoef(clean, opus)[0, 1] > 0.5
    for folder in ("test/C1", "test/C3-1", "test/C9"):  # the same real clip in every test set
        assert (release / folder / real_row.file).read_bytes() == real


def test_provenance_names_sources_codecs_and_hashes(
    release: Path, corpora: dict[str, Path]
) -> None:
    text = (release / "provenance.jsonl").read_text()
    records = [json.loads(line) for line in text.splitlines()]
    assert [r["file"] for r in records] == sorted(
        p.relative_to(release).as_posix() for p in release.rglob("*.wav")
    )
    for root in corpora.values():
        assert str(root) not in text  # never an absolute path
    roots = {"VCTK": corpora["--vctk"], "AISHELL-3": corpora["--aishell3"]}
    for record in records:
        output = (release / record["file"]).read_bytes()
        assert record["sha256"] == hashlib.sha256(output).hexdigest()
        source = (roots[record["source"]["corpus"]] / record["source"]["path"]).read_bytes()
        assert record["source"]["sha256"] == hashlib.sha256(source).hexdigest()
        assert record["versions"]["codecfake"] == codecfake.__version__
        if record["label"] == "fake":
            assert record["codec"]["condition"] == record["condition"]
            assert record["weights"] == "random"
            assert record["checkpoint"]["condition"] == record["condition"]
        else:
            assert record["codec"] is record["checkpoint"] is None
    sources = {r["source"]["path"] for r in records if r["utterance"] == "p225_001"}
    assert sources == {"wav48_silence_trimmed/p225/p225_001_mic1.flac"}


def test_new_conditions_are_declared_for_prepare(release: Path) -> None:
    conditions = release_conditions(release)
    assert (conditions["C8"].prefix, conditions["C9"].label_idx) == ("F08_", "9")
    declared = json.loads((release / "label" / codecfake.CONDITIONS_FILE).read_text())
    assert [c["name"] for c in declared] == ["C8", "C9"]


def test_prepare_and_load_dataset(release: Path, tmp_path: Path) -> None:
    import datasets

    folder = tmp_path / "codecfake-rebuilt"
    assert main(["prepare", str(release), str(folder)]) == 0
    c1 = datasets.load_dataset(str(folder), "C1").cast_column("audio", datasets.Audio(decode=False))
    assert {s: len(c1[s]) for s in c1} == {"train": 36, "validation": 4, "test": 4}
    train = c1["train"]
    assert sorted(train["label"]) == [0] * 18 + [1] * 18
    fakes = [r for r in train if r["label"] == 1]
    reals = {r["utterance"] for r in train if r["label"] == 0}
    assert {r["utterance"] for r in fakes} == reals
    assert {(r["condition"], r["codec"]) for r in fakes} == {("C1", "SoundStream")}
    row = fakes[0]
    assert row["audio"]["bytes"] == (release / "train" / row["file"]).read_bytes()
    c9 = datasets.load_dataset(str(folder), "C9", split="test")
    assert len(c9) == 2 + 22
    assert set(c9["language"]) == {"en", "zh"}
    assert (release / "provenance.jsonl").read_bytes() in {
        p.read_bytes() for p in folder.rglob("provenance.jsonl")
    }


def test_sharded_then_merged_equals_single_run(
    tmp_path: Path, corpora: dict[str, Path], release: Path
) -> None:
    out = tmp_path / "sharded"
    for index in (2, 0):  # any order
        assert synthesize(out, corpora, *CODECS, "--shard", f"{index}/3") == 0
    assert main(["merge-shards", str(out)]) == 1  # shard 1/3 has not run yet
    assert synthesize(out, corpora, *CODECS, "--shard", "1/3") == 0
    assert main(["merge-shards", str(out)]) == 0
    assert tree(out) == tree(release)


@pytest.mark.slow
def test_killed_runs_resume_to_the_clean_tree(tmp_path: Path, corpora: dict[str, Path]) -> None:
    """SIGKILL a real ``codecfake synthesize`` process at several points, rerun, compare bytes."""
    options = [*FAST_CODECS, "--batch-size", "2"]
    clean = tmp_path / "clean"
    assert synthesize(clean, corpora, *options) == 0
    out = tmp_path / "killed"
    command = [sys.executable, "-m", "codecfake_cli", "synthesize", "--out", str(out)]
    command += [str(a) for pair in corpora.items() for a in pair]
    command += ["--codec-weights", "random", *options]
    log = out / ".synthesize" / "shard-0-of-1.log.jsonl"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    for lines_before_kill in (1, 15, 35):  # of 48 files
        process = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            if log.is_file() and log.read_bytes().count(b"\n") >= lines_before_kill:
                break
            time.sleep(0.002)
        process.send_signal(signal.SIGKILL)
        assert process.wait() == -signal.SIGKILL, "the run ended before it could be killed"
    assert tree(out) != tree(clean)
    subprocess.run(
        command, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    assert tree(out) == tree(clean)


def test_a_second_run_of_the_same_shard_is_refused_naming_the_first(
    tmp_path: Path, corpora: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """The first run blocks on a corpus file that is a named pipe, holding its shard's lock."""
    blocking = {flag: tmp_path / "corpora" / root.name for flag, root in corpora.items()}
    for flag, root in corpora.items():
        shutil.copytree(root, blocking[flag])
    pipe = next((blocking["--aishell3"] / "train" / "wav").rglob("*.wav"))
    pipe.unlink()
    os.mkfifo(pipe)
    out = tmp_path / "release"
    command = [sys.executable, "-m", "codecfake_cli", "synthesize", "--out", str(out)]
    command += [str(a) for pair in blocking.items() for a in pair]
    command += ["--codec-weights", "random", *FAST_CODECS]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    first = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, start_new_session=True)
    try:
        lock = out / ".synthesize" / "shard-0-of-1.lock"
        deadline = time.monotonic() + 120
        while not (lock.is_file() and lock.read_text().strip()) and first.poll() is None:
            assert time.monotonic() < deadline, "the first run never took its lock"
            time.sleep(0.02)
        assert first.poll() is None, first.communicate()[1].decode()
        assert synthesize(out, blocking, *FAST_CODECS) == 1
        err = capsys.readouterr().err
        assert f"{out} (shard 0/1): another codecfake run (pid {first.pid}) is writing it" in err
    finally:
        first.kill()
        first.communicate()


def test_rerun_makes_lost_files_again_identically(tmp_path: Path, corpora: dict[str, Path]) -> None:
    out = tmp_path / "twice"
    assert synthesize(out, corpora, *FAST_CODECS) == 0
    first = tree(out)
    (out / "test/C9/F09_p225_001.wav").unlink()
    (out / "provenance.jsonl").write_bytes(
        b"".join(first["provenance.jsonl"].splitlines(True)[:-3])
    )
    assert synthesize(out, corpora, *FAST_CODECS) == 0
    assert tree(out) == first


def test_changed_settings_refuse_to_resume(
    tmp_path: Path, corpora: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "seeded"
    assert synthesize(out, corpora, *FAST_CODECS) == 0
    assert synthesize(out, corpora, *FAST_CODECS, "--seed", "1") == 1
    assert "seed was 0, now 1" in capsys.readouterr().err


def test_bad_sources_are_reported_not_dropped(
    tmp_path: Path, corpora: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    broken = {flag: tmp_path / "corpora" / root.name for flag, root in corpora.items()}
    for flag, root in corpora.items():
        shutil.copytree(root, broken[flag])
    bad = "wav48_silence_trimmed/p295/p295_001_mic1.flac"
    (broken["--vctk"] / bad).write_bytes(b"fLaC broken")
    empty = "train/wav/SSB0009/SSB00090003.wav"
    soundfile.write(broken["--aishell3"] / empty, np.zeros(0), 44_100, subtype="PCM_16")
    out = tmp_path / "release"
    assert synthesize(out, broken, *FAST_CODECS) == 0
    assert "2 failures" in capsys.readouterr().out
    failures = [json.loads(line) for line in (out / "failures.jsonl").read_text().splitlines()]
    assert {(f["utterance"], f["source"]) for f in failures} == {
        ("p295_001", bad),
        ("SSB00090003", empty),
    }
    assert any("holds no samples" in f["error"] for f in failures)
    listed = "".join(p.read_text() for p in (out / "label").glob("*.txt"))
    assert "p295_001" not in listed and "SSB00090003" not in listed and "p295_002" in listed
    strict = tmp_path / "strict"
    assert synthesize(strict, broken, *FAST_CODECS, "--max-failures", "1") == 1
    assert "2 failures, more than --max-failures 1; see" in capsys.readouterr().err


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
    out = tmp_path / "release"
    assert synthesize(out, corpora, "--conditions", "C1", "--splits-from", str(labels)) == 0
    rows = label_rows(out)
    assert [r.file for r in rows["train.txt"] if r.label == "real"] == [
        "SSB00050001.wav",
        "p225_001.wav",
    ]
    assert [r.file for r in rows["dev.txt"] if r.label == "real"] == ["p225_002.wav"]
    assert [r.file for r in rows["C1.txt"] if r.label == "real"] == [
        "SSB13650060.wav",
        "p351_002.wav",
    ]
    failures = (out / "failures.jsonl").read_text()
    assert "p999_001" in failures and "not in the corpus" in failures


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--conditions", "C99"], "unknown condition 'C99'"),
        (["--conditions", "C7", "--codec", "C12=lyra@3kbps,16khz"], "C12 needs the lyra codec"),
        (
            ["--conditions", "C1", "--checkpoint", "C7=x", "--codec-weights=pretrained"],
            "--checkpoint given for C7",
        ),
        (["--conditions", "C4", "--checkpoint", "C4=x"], "--codec-weights random loads none"),
        (
            ["--conditions", "C4", "--checkpoint", "C4=no/such-dir", "--codec-weights=pretrained"],
            "C4 checkpoint 'no/such-dir': not a local folder and not in the Hub cache",
        ),
    ],
)
def test_configuration_errors_stop_before_any_work(
    tmp_path: Path, corpora: dict[str, Path], capsys: pytest.CaptureFixture[str], options, message
) -> None:
    assert synthesize(tmp_path / "out", corpora, *options) == 1
    assert message in capsys.readouterr().err
    assert not list((tmp_path / "out").rglob("*.wav"))


def test_corpus_in_the_wrong_layout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "vctk" / "p225").mkdir(parents=True)
    assert synthesize(tmp_path / "out", {"--vctk": tmp_path / "vctk"}, *FAST_CODECS) == 1
    assert f"{tmp_path / 'vctk'}: not a VCTK folder" in capsys.readouterr().err


@pytest.mark.slow
def test_all_seven_codecs_and_the_added_ones_make_a_release_that_loads(
    tmp_path: Path, vctk_samples_or_none: Path | None, capsys: pytest.CaptureFixture[str]
) -> None:
    """C1..C7 (every paper codec, built in), two sub-configurations and four added codecs, at
    their real rates with random weights, on generated speech where ../shared is absent: one
    release, prepared, and every paper condition loaded from it."""
    import datasets

    added = {"C8": "identity", "C9": "opus@12kbps", "C10": "mp3@24kbps", "C11": "mimi@q8"}
    definitions = [f"--codec={name}={definition}" for name, definition in added.items()]
    paper = ["C1", "C2", "C3", "C4", "C5", "C6", "C7"]
    conditions = [*paper, "C3-2", "C4-1", *added]
    small = {
        "--vctk": make_vctk_092(tmp_path / "vctk", vctk_samples_or_none, count=4),
        "--aishell3": make_aishell3(tmp_path / "aishell3", count=4),
    }
    out = tmp_path / "release"
    assert synthesize(out, small, "--conditions", ",".join(conditions), *definitions) == 0
    records = [json.loads(line) for line in (out / "provenance.jsonl").read_text().splitlines()]
    made: dict[str, set[str]] = {r["condition"]: set() for r in records}
    for record in records:
        made[record["condition"]].add(record["utterance"])
        assert soundfile.info(out / record["file"]).samplerate == 16_000
        if record["condition"] != "real":
            assert record["weights"] == "random"
    utterances = made.pop("real")
    tested = {r["utterance"] for r in records if r["label"] == "real" and r["split"] == "test"}
    assert len(utterances) == 8 and tested
    assert set(made) == set(conditions)
    for name in conditions:  # sub-configurations cover the test utterances, the rest all of them
        assert made[name] == (tested if "-" in name else utterances), name
    folder = tmp_path / "dataset"
    # C1..C7 are all there: every label file of the complete release, at a few clips' scale
    assert main(["prepare", str(out), str(folder), "--no-size-check"]) == 0
    for name in paper:  # C1..C6 split by utterance as in training; C7, unseen, is all test
        spec = codecfake.CONDITIONS[name]
        test = datasets.load_dataset(str(folder), name, split="test")
        fakes = utterances if name == "C7" else tested
        assert sorted(test["label"]) == [0] * len(tested) + [1] * len(fakes), name
        assert {codec for codec in test["codec"] if codec} == {spec.codec}, name
    capsys.readouterr()
