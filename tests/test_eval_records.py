"""Result records: `codecfake eval --record`, `codecfake results` (--paper, --markdown, --check)."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

import codecfake_cli
from codecfake_evaluation.paper import PUBLISHED, published_records
from codecfake_evaluation.records import AS_PUBLISHED, read_record
from testkit.shared_fixtures import SHARED_FIXTURES

TOLERANCE = 0.0015  # the paper sometimes truncates its third decimal
MODELS = ("vocoder_w2v2aasist", "codec_w2v2lcnn")
PAPER_NAME = {
    "vocoder_w2v2aasist": "paper: W2V2-AASIST, vocoder-trained",
    "codec_w2v2lcnn": "paper: W2V2-LCNN, codec-trained",
}


def _main(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = codecfake_cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _pooled(record: dict) -> dict[str, float]:
    return {r["condition"]: r["eer"] for r in record["rows"] if r["language"] == "all"}


@pytest.fixture(scope="module")
def official_records(official_scores: Path, tmp_path_factory) -> dict[str, Path]:
    """One record per published model, made from the official score files."""
    folder = tmp_path_factory.mktemp("results")
    made = {}
    for model in MODELS:
        files = sorted(str(p) for p in (official_scores / model).glob("*_result.txt.gz"))
        target = folder / f"{model}.json"
        argv = ["eval", "--polarity", "free", "--bootstrap", "0", "--record", str(target), *files]
        assert codecfake_cli.main(argv) == 0
        made[model] = target
    return made


# --------------------------------------------------------------------------------------------
# The paper's rows
# --------------------------------------------------------------------------------------------


def test_paper_module_holds_the_values_the_fixtures_readme_quotes() -> None:
    """The published numbers, read independently from shared/fixtures/README.md."""
    readme = SHARED_FIXTURES / "README.md"
    if not readme.is_file():
        pytest.skip(f"{readme} not found")
    text = readme.read_text()
    header = re.search(r"^\| model \| (.+) \|$", text, re.M).group(1).split(" | ")
    by_name = {p.name: p for p in PUBLISHED}
    for model in MODELS:
        cells = re.search(rf"^\| {model} \| (.+) \|$", text, re.M).group(1).split(" | ")
        quoted = dict(zip(header, map(float, cells), strict=True))
        sub = {}
        if model == "codec_w2v2lcnn":
            sub = {k: float(v) for k, v in re.findall(r"(C\d-\d) (\d+\.\d+)", text)}
        assert by_name[PAPER_NAME[model]].eer == {**quoted, **sub}


def test_records_from_the_official_scores_reproduce_the_paper_rows(official_records) -> None:
    published = {r["name"]: r for r in published_records()}
    for model, path in official_records.items():
        paper = _pooled(published[PAPER_NAME[model]])
        measured = _pooled(read_record(path))
        off = {c: (measured[c], v) for c, v in paper.items() if abs(measured[c] - v) > TOLERANCE}
        assert not off, f"{model}: measured vs published {off}"


def test_results_paper_prints_the_published_rows_first(official_records, capsys, tmp_path) -> None:
    records = [str(official_records[m]) for m in MODELS]
    markdown = tmp_path / "table.md"
    code, out, err = _main(capsys, "results", "--paper", *records, "--markdown", str(markdown))
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "EER %, pooled over languages"
    header = lines[1].split()
    assert header[:3] == ["record", "kind", "polarity"] and header[-2:] == ["CAVG", "LAVG"]
    names = [p.name for p in PUBLISHED] + list(MODELS)
    body = lines[2 : 2 + len(names)]
    assert all(line.startswith(name) for line, name in zip(body, names, strict=True))
    assert all("as published" in line for line in body[: len(PUBLISHED)])
    assert "the paper's mean over C1..C7 is 41.583" in out
    # The measured W2V2-LCNN row: every cell is the record's number, CAVG over C1..C6.
    record = read_record(official_records["codec_w2v2lcnn"])
    cells = dict(zip(header[3:], body[-1].split()[3:], strict=True))
    for condition, value in _pooled(record).items():
        assert cells[condition] == f"{value:.3f}"
    codecs = [_pooled(record)[f"C{k}"] for k in range(1, 7)]
    assert float(cells["CAVG"]) == pytest.approx(sum(codecs) / 6, abs=0.0005)
    # The Markdown form: the same rows, as a table.
    table = [line for line in markdown.read_text().splitlines() if line.startswith("|")]
    assert len(table) == 2 + len(names)
    assert table[-1].startswith("| codec_w2v2lcnn | measured | free | 0.030 |")
    assert "Markdown table written to" in err


def test_check_passes_on_untouched_official_records(official_records, capsys) -> None:
    code, out, _ = _main(capsys, "results", "--check", *map(str, official_records.values()))
    assert code == 0
    assert out.count(": ok") == len(MODELS)


# --------------------------------------------------------------------------------------------
# What a record holds, and --check when something moved
# --------------------------------------------------------------------------------------------


def _copied(official_scores: Path, folder: Path) -> list[Path]:
    folder.mkdir()
    source = official_scores / "vocoder_w2v2aasist"
    return [Path(shutil.copy(source / f"{c}_result.txt.gz", folder)) for c in ("C1", "C2")]


def test_record_pins_files_data_polarity_and_versions(official_scores, tmp_path, capsys) -> None:
    files = _copied(official_scores, tmp_path / "scores")
    target = tmp_path / "results" / "mine.json"
    argv = ["eval", "--polarity", "free", "--bootstrap", "50", "--metrics", "eer,mindcf,cllr"]
    code, out, err = _main(
        capsys, *argv, "--scores", "prob", "--record", str(target), *map(str, files)
    )
    assert code == 0 and f"result record written to {target}" in err
    record = json.loads(target.read_text())
    assert [p.name for p in target.parent.iterdir()] == ["mine.json"]  # no temporary left
    assert (record["name"], record["kind"]) == ("mine", "measured")
    assert [f["sha256"] for f in record["score_files"]] == [
        hashlib.sha256(p.read_bytes()).hexdigest() for p in files
    ]
    assert [f["path"] for f in record["score_files"]] == [f"../scores/{p.name}" for p in files]
    assert record["dataset"] == {"source": "labels in the score files"}
    assert (
        record["polarity"]["mode"] == "free"
        and "min(EER(s), EER(-s))" in record["polarity"]["rule"]
    )
    assert record["versions"]["numpy"] == np.__version__
    assert record["settings"]["metrics"] == ["eer", "mindcf", "cllr"]
    rows = {r["condition"]: r for r in record["rows"]}
    assert set(rows) == {"C1", "C2", "CAVG"}
    assert {"eer", "ci_low", "mindcf", "cllr", "mincllr"} <= set(rows["C1"])
    printed = out.splitlines()[3].split()  # the C1 row of the printed table
    assert printed[0] == "C1" and float(printed[2]) == pytest.approx(rows["C1"]["eer"], abs=5e-4)


def test_check_names_the_score_file_after_one_line_is_edited(
    official_scores, tmp_path, capsys
) -> None:
    files = _copied(official_scores, tmp_path / "scores")
    target = tmp_path / "mine.json"
    argv = ["eval", "--polarity", "free", "--bootstrap", "0", "--record", str(target)]
    assert _main(capsys, *argv, *map(str, files))[0] == 0
    assert _main(capsys, "results", "--check", str(target))[0] == 0
    # One fake of C2 now scores as the most real of all.
    lines = gzip.decompress(files[1].read_bytes()).decode().splitlines()
    index = next(i for i, line in enumerate(lines) if line.endswith(" fake"))
    name, _score, label = lines[index].split()
    lines[index] = f"{name} 1.0 {label}"
    files[1].write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    code, _out, err = _main(capsys, "results", "--check", str(target))
    assert code == 1
    assert f"score file {files[1]} changed: sha256" in err
    assert str(files[0]) not in err  # the untouched file is not blamed
    assert re.search(r"C2 \(all\) eer: recorded [\d.]+, now [\d.]+", err)
    assert "1 of 1 record(s) no longer hold" in err
    files[1].unlink()
    code, _out, err = _main(capsys, "results", "--check", str(target))
    assert code == 1 and f"score file {files[1]} is missing" in err


def _label_release(root: Path, real: list[str], fake: list[str]) -> Path:
    (root / "label").mkdir(parents=True)
    rows = [f"{n} real 0" for n in real] + [f"{n} fake 1" for n in fake]
    (root / "label" / "C1.txt").write_text("\n".join(rows) + "\n")
    return root


def test_record_of_unlabelled_scores_pins_the_release_fingerprint(tmp_path, capsys) -> None:
    from codecfake_core.release_source import ExtractedRelease

    real = [f"p225_{k:03d}.wav" for k in range(8)]
    fake = [f"F01_{n}" for n in real]
    release = _label_release(tmp_path / "release", real, fake)
    scores = tmp_path / "scores.txt"
    rng = np.random.default_rng(0)
    lines = [f"{n} {s:.6f}" for n, s in zip(real + fake, rng.normal(size=16), strict=True)]
    scores.write_text("\n".join(lines) + "\n")
    target = tmp_path / "r.json"
    argv = ["eval", "--bootstrap", "0", "--labels", str(release), "--record", str(target)]
    assert _main(capsys, *argv, str(scores))[0] == 0
    dataset = read_record(target)["dataset"]
    assert dataset == {
        "source": "release",
        "fingerprint": ExtractedRelease(Path(release)).fingerprint(),
        "label_rows": {"test": {"C1.txt": 16}},
    }
    assert _main(capsys, "results", "--check", str(target))[0] == 0
    (release / "label" / "C1.txt").write_text(
        "\n".join([f"{n} real 0" for n in real] + [f"{n} fake 1" for n in fake[:-1]]) + "\n"
    )
    code, _out, err = _main(capsys, "results", "--check", str(target))
    assert code == 1 and "the data labelling the scores changed" in err


def test_record_of_a_prepared_folder_keeps_its_split_sizes(tmp_path, capsys) -> None:
    from codecfake_builder.folder.prepare import prepare
    from testkit.release_factory import make_release

    release = make_release(
        tmp_path / "release", conditions=("C1", "C2"), n_en=2, n_zh=1, seconds=0.2
    )
    prepare(release.root, tmp_path / "dataset", size_check=False, progress=False)
    tests = [r for r in release.stored() if r.split == "test"]
    rng = np.random.default_rng(1)
    scores = tmp_path / "scores.txt"
    scores.write_text(
        "".join(f"{r.file} {rng.normal() - (r.label == 'fake'):.6f}\n" for r in tests)
    )
    target = tmp_path / "r.json"
    argv = [
        "eval",
        "--bootstrap",
        "0",
        "--dataset",
        str(tmp_path / "dataset"),
        "--record",
        str(target),
    ]
    assert _main(capsys, *argv, str(scores))[0] == 0
    dataset = read_record(target)["dataset"]
    assert dataset["source"] == "prepared folder"
    manifest = tmp_path / "dataset" / "codecfake_folder.json"
    assert dataset["manifest_sha256"] == hashlib.sha256(manifest.read_bytes()).hexdigest()
    # Test split sizes, counted from the rows the factory wrote.
    reals = sum(r.label == "real" for r in tests)
    fakes = {c: sum(r.condition == c and r.label == "fake" for r in tests) for c in ("C1", "C2")}
    sizes = dataset["split_sizes"]
    assert sizes["C1"]["test"] == reals + fakes["C1"]
    assert sizes["all"]["test"] == reals + fakes["C1"] + fakes["C2"]
    from codecfake_core.release_source import ExtractedRelease

    assert dataset["releases"] == [ExtractedRelease(release.root).fingerprint()]
    assert _main(capsys, "results", "--check", str(target))[0] == 0


# --------------------------------------------------------------------------------------------
# Error paths: one line, exit 1
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such result record"),
        ("{not json", "not a readable JSON result record"),
        ('{"rows": []}', "not a result record (written by `codecfake eval --record`)"),
    ],
)
def test_bad_records_fail_in_one_line(tmp_path, capsys, content, message) -> None:
    path = tmp_path / "bad.json"
    if content is not None:
        path.write_text(content)
    code, _out, err = _main(capsys, "results", str(path))
    assert code == 1 and err.count("\n") == 1
    assert err.startswith(f"codecfake results: error: {path}: {message}")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "nothing to compare: give result records, --paper, or both"),
        (["--check"], "--check needs record files to re-score"),
        (["--paper", "--columns", "C1,C9"], "no record has C9 for eer"),
    ],
)
def test_results_usage_errors_fail_in_one_line(capsys, argv, message) -> None:
    code, _out, err = _main(capsys, "results", *argv)
    assert code == 1 and message in err and err.count("\n") == 1


def test_paper_alone_and_published_records_shape(capsys) -> None:
    code, out, _err = _main(capsys, "results", "--paper", "--columns", "C1,C7,CAVG")
    assert code == 0
    rows = out.splitlines()[2:6]
    assert rows[2].split()[-3:] == ["0.167", "0.884", "0.177"]  # codec-trained W2V2-AASIST
    for record in published_records():
        assert record["kind"] == AS_PUBLISHED and "arXiv 2405.04880 v1" in record["source"]
