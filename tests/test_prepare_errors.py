"""Bad input to `codecfake prepare`: each gets an error that names the file (and label line),
through the real command line, and leaves nothing half-written behind."""

from __future__ import annotations

import shutil
from pathlib import Path

import datasets
import pytest

import codecfake_cli
from codecfake_builder.folder.prepare import prepare
from testkit.release_factory import Release, make_release


@pytest.fixture
def release(tmp_path) -> Release:
    """C1 and C2 test sets only: two label files that share the real test clips."""
    return make_release(
        tmp_path / "release", conditions=("C1", "C2"), with_train=False, with_dev=False
    )


def run_prepare(release: Release, out: Path, capsys, *extra: str) -> str:
    """Run the command, expect a user error (exit 1), return its message."""
    rc = codecfake_cli.main(["prepare", str(release.root), str(out), *extra])
    err = capsys.readouterr().err
    assert rc == 1, err
    assert "Traceback" not in err
    return err[err.index("codecfake prepare: error: ") :]  # after the progress bar, if any


def assert_nothing_left(tmp_path: Path) -> None:
    assert sorted(p.name for p in tmp_path.iterdir()) == ["release"]


def rewrite_line(path: Path, number: int, text: str) -> None:
    lines = path.read_text().splitlines(keepends=True)
    lines[number - 1] = text + "\n"
    path.write_text("".join(lines))


def line_of(path: Path, file_name: str) -> int:
    names = [line.split()[0] for line in path.read_text().splitlines()]
    return names.index(file_name) + 1


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("F01_SSB00050201.wav fake", "expected 3 columns"),
        ("F01_SSB00050201.wav bonafide 1", "unknown label 'bonafide'"),
        ("F01_SSB00050201.wav fake 9", "names unknown condition C9"),
        ("../../etc/F01_SSB00050201.wav fake 1", "escapes its folder"),
        ("/tmp/F01_SSB00050201.wav fake 1", "escapes its folder"),
        ("F02_SSB00050201.wav fake 1", "has the C2 prefix but idx '1'"),
    ],
)
def test_a_bad_label_line_names_file_line_and_reason(release, tmp_path, capsys, text, reason):
    label = release.label_path("C1.txt")
    number = line_of(label, "F01_SSB00050201.wav")
    rewrite_line(label, number, text)
    err = run_prepare(release, tmp_path / "out", capsys)
    assert f"{label}:{number}: " in err and reason in err
    assert_nothing_left(tmp_path)


def test_a_duplicated_name_is_reported_at_its_second_line(release, tmp_path, capsys):
    label = release.label_path("C2.txt")
    first = line_of(label, "F02_p226_201.wav")
    label.write_text(label.read_text() + "F02_p226_201.wav fake 2\n")
    err = run_prepare(release, tmp_path / "out", capsys)
    total = len(label.read_text().splitlines())
    assert f"{label}:{total}: duplicate file 'F02_p226_201.wav' (first at line {first})" in err
    assert_nothing_left(tmp_path)


def test_missing_files_are_counted_and_the_first_few_named(release, tmp_path, capsys):
    fakes = [r for r in release.rows if r.label == "fake" and r.label_file == "C1.txt"]
    for row in fakes:
        row.path.unlink()
    err = run_prepare(release, tmp_path / "out", capsys)
    assert f"{len(fakes)} files named in label files are missing" in err
    label = release.label_path("C1.txt")
    assert f"{label}:{line_of(label, fakes[0].file)} {fakes[0].path}" in err
    assert "--allow-missing" in err
    assert_nothing_left(tmp_path)


def test_allow_missing_leaves_the_rows_out_with_a_warning(release, tmp_path, capsys):
    gone = next(r for r in release.rows if r.label == "fake" and r.label_file == "C1.txt")
    gone.path.unlink()
    rc = codecfake_cli.main(
        ["prepare", str(release.root), str(tmp_path / "out"), "--allow-missing"]
    )
    out, err = capsys.readouterr()
    assert rc == 0
    assert "1 label rows name missing files and were left out" in err and gone.file in err
    assert "left out" not in out  # warnings go to stderr, results to stdout
    listed = sum(r.label_file == "C1.txt" for r in release.rows)
    stored = datasets.load_dataset(
        str(tmp_path / "out"), "C1", split="test", cache_dir=str(tmp_path / "cache")
    )
    assert len(stored) == listed - 1
    assert gone.file not in stored.remove_columns("audio")["file"]


def test_a_wav_that_does_not_decode_names_file_and_label_line(release, tmp_path, capsys):
    bad = next(r for r in release.rows if r.label == "fake" and r.label_file == "C2.txt")
    bad.path.write_bytes(b"RIFF\x00\x00\x00\x00WAVEnot really audio")
    err = run_prepare(release, tmp_path / "out", capsys, "--num-proc", "2")
    label = release.label_path("C2.txt")
    assert f"{bad.path}: does not decode as audio" in err
    assert f"(named at {label}:{line_of(label, bad.file)})" in err
    assert "Re-extract (or re-download) the archives" in err and "--skip-damaged-audio" in err
    # the shards finished before the run stopped are kept for the rerun, and it says where
    assert "finished shards are kept in" in err
    assert not (tmp_path / "out").exists()


def test_a_real_clip_claimed_by_two_splits_is_refused(tmp_path, capsys):
    release = make_release(tmp_path / "release", conditions=("C1",), with_train=False)
    dev = release.label_path("dev.txt")
    test_real = next(r for r in release.rows if r.label == "real" and r.split == "test")
    (release.root / "dev" / test_real.file).write_bytes(test_real.path.read_bytes())
    dev.write_text(dev.read_text() + f"{test_real.file} real 0\n")
    err = run_prepare(release, tmp_path / "out", capsys)
    assert f"is in the test split here but in the validation split at {dev}:" in err
    assert_nothing_left(tmp_path)


def test_an_out_dir_with_a_different_dataset_is_refused_and_kept(release, tmp_path, capsys):
    out = tmp_path / "out"
    prepare(release.root, out, progress=False)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    other = make_release(tmp_path / "other", conditions=("C3",), with_train=False, with_dev=False)
    err = run_prepare(other, out, capsys)
    assert f"{out}: already holds a dataset prepared from a different release" in err
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other", "out", "release"]


def test_an_out_dir_with_other_files_is_refused(release, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    err = run_prepare(release, out, capsys)
    assert f"{out}: already holds other files (notes.txt)" in err
    assert [p.name for p in out.iterdir()] == ["notes.txt"]


def test_a_complete_release_of_the_wrong_size_is_checked_against_dataset_infos(tmp_path, capsys):
    release = make_release(
        tmp_path / "release", conditions=("C1", "C2", "C3", "C4", "C5", "C6", "C7")
    )
    err = run_prepare(release, tmp_path / "out", capsys)
    assert "differ from dataset_infos.json" in err
    rows = {line.split()[0]: line.split()[1:] for line in err.splitlines()[2:]}
    assert rows["data/C1/test/en-*.parquet"] == ["4,451", "2"]
    assert "--no-size-check" in err
    assert_nothing_left(tmp_path)


def test_a_folder_without_labels_is_not_a_release(tmp_path, capsys):
    (tmp_path / "release").mkdir()
    rc = codecfake_cli.main(["prepare", str(tmp_path / "release"), str(tmp_path / "out")])
    assert rc == 1
    assert (
        "not a Codecfake release: it has no label/ folder and no archives"
        in capsys.readouterr().err
    )
    assert_nothing_left(tmp_path)


def test_a_label_file_that_is_not_text_names_its_line(release, tmp_path, capsys):
    label = release.label_path("C2.txt")
    label.write_bytes(label.read_bytes() + b"\xff\xfe\x00PK\x03\x04\n")
    err = run_prepare(release, tmp_path / "out", capsys)
    lines = len(label.read_bytes().split(b"\n")) - 1
    assert f"{label}:{lines}: is not UTF-8 text" in err
    assert_nothing_left(tmp_path)


def test_label_files_without_any_audio_are_refused(release, tmp_path, capsys):
    shutil.rmtree(release.root / "test")
    err = run_prepare(release, tmp_path / "out", capsys)
    assert f"{release.root}: holds no audio for any label file" in err
    assert_nothing_left(tmp_path)
