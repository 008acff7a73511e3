"""Score files in every supported shape give the same trials; bad rows are located and explained."""

from __future__ import annotations

import csv
import gzip
import json
import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import codecfake
import codecfake_cli
from codecfake_builder.folder.prepare import prepare
from codecfake_evaluation.scores import (
    ScoreFileError,
    condition_of_score_file,
    dataset_label_index,
    read_score_file,
    release_label_index,
)
from testkit.release_factory import make_release

# A tiny test set: English and Mandarin reals, their C1 resyntheses, and an A3 sound-event set.
REALS = ["p226_201.wav", "p226_202.wav", "SSB00050201.wav", "SSB00050202.wav"]
C1_FAKES = [f"F01_{name}" for name in REALS]
A3_REALS = ["YabcDEF123.wav", "Yzz9_x-y.wav"]
A3_FAKES = ["10.wav", "11.wav"]


def _scores(names: list[str], offset: float, seed: int) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    return {name: float(offset + rng.normal()) for name in names}


SCORES = {
    **_scores(REALS, 1.0, 0),
    **_scores(C1_FAKES, 0.0, 1),
    **_scores(A3_REALS, 0.5, 2),
    **_scores(A3_FAKES, 0.0, 3),
}
LABELS = {
    **dict.fromkeys(REALS + A3_REALS, "real"),
    **dict.fromkeys(C1_FAKES + A3_FAKES, "fake"),
}


def _write(path: Path, lines: list[str]) -> Path:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt", encoding="utf-8") as out:
        out.write("".join(f"{line}\n" for line in lines))
    return path


def _official(
    folder: Path, suffix: str = ".txt", words: tuple[str, str] = ("real", "fake")
) -> list[Path]:
    """One labelled score file per condition, named as the official ones are."""
    folder.mkdir(parents=True, exist_ok=True)
    word = {"real": words[0], "fake": words[1]}
    c1 = [f"{n} {SCORES[n]!r} {word[LABELS[n]]}" for n in REALS + C1_FAKES]
    a3 = [f"{n} {SCORES[n]!r} {word[LABELS[n]]}" for n in A3_REALS + A3_FAKES]
    return [_write(folder / f"C1_result{suffix}", c1), _write(folder / f"L3_result{suffix}", a3)]


def _release(root: Path) -> Path:
    """Only what --labels reads: the label files, in the official row format and quirks."""
    (root / "label").mkdir(parents=True)
    c1 = [f"{n} real 0" for n in REALS] + [f"{n} fake 1" for n in C1_FAKES]
    a3 = [f"{n} real L3" for n in A3_REALS] + [f"{n} fake L3" for n in A3_FAKES]
    _write(root / "label" / "C1.txt", c1)
    _write(root / "label" / "A3.txt", a3)
    return root


def _eval(capsys: pytest.CaptureFixture[str], *args: str) -> list[dict]:
    assert codecfake_cli.main(["eval", "--json", "--bootstrap", "0", *args]) == 0
    return json.loads(capsys.readouterr().out)


def _eval_error(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert codecfake_cli.main(["eval", "--bootstrap", "0", *args]) == 1
    return capsys.readouterr().err


@pytest.fixture
def reference(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> list[dict]:
    """The table from plain official-format files: what every other shape must reproduce."""
    rows = _eval(capsys, *map(str, _official(tmp_path / "plain")))
    assert [(r["condition"], r["n_real"], r["n_fake"]) for r in rows] == [
        ("C1", len(REALS), len(C1_FAKES)),
        ("A3", len(A3_REALS), len(A3_FAKES)),
    ]
    return rows


def test_gzip_and_asvspoof_words_read_the_same(tmp_path, capsys, reference) -> None:
    assert _eval(capsys, *map(str, _official(tmp_path / "gz", ".txt.gz"))) == reference
    spoof = _official(tmp_path / "asv", words=("bonafide", "spoof"))
    assert _eval(capsys, *map(str, spoof)) == reference


def test_unlabelled_scores_take_labels_from_a_release(tmp_path, capsys, reference) -> None:
    """One pooled file without labels or condition names: A3 is only known from its label file."""
    release = _release(tmp_path / "release")
    pooled = _write(tmp_path / "my_scores.txt", [f"{n} {s!r}" for n, s in SCORES.items()])
    assert _eval(capsys, "--labels", str(release), str(pooled)) == reference
    trials = read_score_file(pooled, labels=release_label_index(release))
    assert set(trials.condition[trials.is_real]) == {"real", "A3"}  # shared reals vs A3's own
    assert set(trials.language) == {"en", "zh", ""}


def test_csv_and_parquet_scores(tmp_path, capsys, reference) -> None:
    release = _release(tmp_path / "release")
    table = tmp_path / "scores.csv"
    with open(table, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "score"])
        writer.writerows(SCORES.items())
    assert _eval(capsys, "--labels", str(release), str(table)) == reference
    parquet = tmp_path / "scores.parquet"
    pq.write_table(pa.table({"file": list(SCORES), "score": list(SCORES.values())}), parquet)
    assert _eval(capsys, "--labels", str(release), str(parquet)) == reference
    # A Parquet file may carry its own labels, as words or as the dataset's class indices.
    labelled = tmp_path / "labelled.parquet"
    indices = [codecfake.LABEL_NAMES.index(LABELS[n]) for n in SCORES]
    pq.write_table(
        pa.table({"file": list(SCORES), "score": list(SCORES.values()), "label": indices}), labelled
    )
    # Without labels nothing ties A3's clips to A3: the pooled reals are shared, A3 fakes unknown.
    message = _eval_error(capsys, str(labelled))
    assert "cannot tell the condition of fake '10.wav'" in message


def _dataset_folder(root: Path) -> Path:
    """A prepared dataset folder's layout and schema, audio bytes that would not even decode."""
    parts = {
        ("real", "en"): [n for n in REALS if n.startswith("p")],
        ("real", "zh"): [n for n in REALS if n.startswith("SSB")],
        ("C1", "en"): [n for n in C1_FAKES if "_p" in n],
        ("C1", "zh"): [n for n in C1_FAKES if "_SSB" in n],
        ("A3", ""): A3_REALS + A3_FAKES,
    }
    for (group, language), names in parts.items():
        part = codecfake.Part(group, "test", language)
        rows = [
            {
                "audio": {"bytes": b"not audio", "path": name},
                "file": name,
                "label": codecfake.LABEL_NAMES.index(LABELS[name]),
                "condition": "A3"
                if group == "A3"
                else ("real" if LABELS[name] == "real" else group),
                "codec": "",
                "language": language,
                "speaker": "",
                "utterance": name.rsplit(".", 1)[0],
            }
            for name in names
        ]
        shard = root / part.shard_name(0, 1)
        shard.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(rows, schema=codecfake.FEATURES.arrow_schema), shard)
    return root


def test_unlabelled_scores_take_labels_from_a_dataset_folder(tmp_path, capsys, reference) -> None:
    folder = _dataset_folder(tmp_path / "dataset")
    pooled = _write(tmp_path / "scores.txt", [f"{n} {s!r}" for n, s in SCORES.items()])
    assert _eval(capsys, "--dataset", str(folder), str(pooled)) == reference
    index = dataset_label_index(folder)
    assert index["Yzz9_x-y.wav"].condition == "A3" and index["Yzz9_x-y.wav"].is_real


@pytest.mark.parametrize(
    ("name", "condition"),
    [
        ("C5_result.txt", "C5"),
        ("C3-1_result.txt.gz", "C3-1"),
        ("L2_result.txt", "A2"),
        ("A3.csv", "A3"),
        ("C12_mimi.parquet", "C12"),
        ("scores.txt", None),
        ("CAVG.txt", None),
        ("Codec_scores.txt", None),
    ],
)
def test_condition_from_the_score_file_name(name: str, condition: str | None) -> None:
    assert condition_of_score_file(Path("some/dir") / name) == condition


BAD_ROWS = [
    ("C1_s.txt", ["p226_201.wav 0.9 real", "F01_p226_201.wav"], 2, "expected 'filename score label'"),
    ("C1_s.txt", ["p226_201.wav 0.9 real", "F01_p226_201.wav high fake"], 2, "score 'high' is not a number"),
    ("C1_s.txt", ["p226_201.wav nan real"], 1, "score nan is not finite"),
    ("C1_s.txt", ["", "p226_201.wav 0.5 genuine"], 2, "unknown label 'genuine'"),
    ("C1_s.txt", ["p226_201.wav 0.5 real", "x/p226_201.wav 0.4 real"], 2, "scored twice (first at line 1)"),
    ("C1_s.txt", ["F01_p226_201.wav 0.5 real"], 1, "labelled real but its prefix names condition C1"),
    ("C5_s.txt", ["p226_201.wav 0.5 real", "F01_p226_201.wav 0.5 fake"], 2, "has the C1 prefix but the score file is named after C5"),
    ("scores.txt", ["p226_201.wav 0.5 real", "10.wav 0.1 fake"], 2, "cannot tell the condition of fake '10.wav'"),
    ("scores.txt", ["p226_201.wav 0.5"], 1, "no label column: pass --labels"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "lines", "line", "reason"), BAD_ROWS)
def test_bad_rows_name_file_and_line(tmp_path, capsys, name, lines, line, reason) -> None:
    path = _write(tmp_path / name, lines)
    message = _eval_error(capsys, str(path))
    assert f"{path}:{line}: " in message and reason in message
    with pytest.raises(ScoreFileError, match=re.escape(reason)) as error:
        read_score_file(path)
    assert (error.value.path, error.value.line) == (str(path), line)


def test_other_bad_inputs(tmp_path, capsys) -> None:
    release = _release(tmp_path / "release")
    stranger = _write(tmp_path / "scores.txt", ["p999_999.wav 0.5"])
    assert f"{stranger}:1: 'p999_999.wav' is in none of the given label files" in _eval_error(
        capsys, "--labels", str(release), str(stranger)
    )
    header = tmp_path / "scores.csv"
    header.write_text("name,value\na.wav,0.1\n")
    assert "CSV header lacks column(s) ['file', 'score']" in _eval_error(capsys, str(header))
    assert "no such score file" in _eval_error(capsys, str(tmp_path / "missing.txt"))
    empty = _write(tmp_path / "C1_empty.txt", [""])
    assert f"{empty}: holds no scores" in _eval_error(capsys, str(empty))
    only_reals = _write(
        tmp_path / "C2_reals.txt", ["p226_201.wav 0.5 real", "p226_202.wav 0.7 real"]
    )
    assert "condition C2 has no fake trials" in _eval_error(capsys, str(only_reals))
    untied = _write(tmp_path / "reals.txt", ["p226_201.wav 0.5 real", "p226_202.wav 0.7 real"])
    assert f"{untied}: no fake trials among the 2 scored (2 real)" in _eval_error(
        capsys, str(untied)
    )
    unnamed = _write(
        tmp_path / "scores.txt",
        ["F01_p226_201.wav 0.1 fake", "F01_p226_202.wav 0.2 fake", "a.wav 0.9 real"],
    )
    # a codec pools its languages, so reals of no known language count (as in its configuration)
    for args in ([], ["--by", "condition,language"]):
        assert "error" not in _eval_error_or_table(capsys, *args, str(unnamed))
    only_a1 = _write(tmp_path / "alm.txt", ["L1_p226_201.wav 0.1 fake", "a.wav 0.9 real"])
    message = _eval_error(capsys, str(only_a1))
    assert "condition A1 has no real trials in its language" in message
    assert "1 real trials have names that tell no language" in message and "pNNN_NNN" in message
    assert "not a release" in _eval_error(capsys, "--labels", str(tmp_path), str(stranger))
    assert "no Parquet shards" in _eval_error(capsys, "--dataset", str(tmp_path), str(stranger))


def _eval_error_or_table(capsys, *args: str) -> str:
    rc = codecfake_cli.main(["eval", "--bootstrap", "0", *args])
    _out, err = capsys.readouterr()
    assert rc == 0, err
    return err


def test_two_detectors_on_one_condition_are_refused(tmp_path, capsys) -> None:
    first, _ = _official(tmp_path / "a")
    second, _ = _official(tmp_path / "b")
    message = _eval_error(capsys, str(first), str(second))
    assert "is scored twice for C1" in message and "one detector's scores at a time" in message


def test_labels_from_a_factory_release_and_its_prepared_folder(tmp_path, capsys) -> None:
    """End to end on what `codecfake prepare` really writes: both label sources agree."""
    release = make_release(tmp_path / "release", n_en=2, n_zh=2, seconds=0.2)
    prepare(release.root, tmp_path / "dataset", size_check=False, progress=False)
    tests = [r for r in release.stored() if r.split == "test"]
    rng = np.random.default_rng(0)
    pooled = _write(
        tmp_path / "scores.txt",
        [f"{r.file} {rng.normal() - (r.label == 'fake')!r}" for r in tests],
    )
    from_release = _eval(capsys, "--labels", str(release.root), str(pooled))
    from_dataset = _eval(capsys, "--dataset", str(tmp_path / "dataset"), str(pooled))
    assert from_release == from_dataset
    counts = {
        (r["condition"], r["n_real"], r["n_fake"]) for r in from_release if r["language"] == "all"
    }
    for condition in {r.condition for r in tests if r.label == "fake"}:
        fakes = sum(r.condition == condition and r.label == "fake" for r in tests)
        own = sum(r.condition == condition and r.label == "real" for r in tests)
        languages = codecfake.CONDITIONS[condition].languages
        shared = sum(r.condition == "real" and r.language in languages for r in tests)
        assert (condition, own or shared, fakes) in counts
