"""The table: which trials each row pools, per-language rows, averages, JSON, DET plot and API."""

from __future__ import annotations

import json
from pathlib import Path

import datasets
import numpy as np
import pyarrow as pa
import pytest

import codecfake
import codecfake_cli
from codecfake_evaluation import EvaluationError, eer_from_classes, evaluate
from codecfake_evaluation.table import JSON_KEYS

N_REAL = {"en": 40, "zh": 50}
CODECS = ("C1", "C2", "C3")


def _test_split(seed: int = 0) -> list[dict]:
    """A pooled test split: shared reals, three codecs, English-only A1/A2, and A3 with own reals."""
    rng = np.random.default_rng(seed)
    rows: list[dict] = []

    def add(file: str, label: str, condition: str, language: str, mean: float) -> None:
        rows.append(
            {
                "file": file,
                "label": label,
                "condition": condition,
                "language": language,
                "score": float(rng.normal(mean, 1.0)),
            }
        )

    for language, count in N_REAL.items():
        utterances = [
            f"p2{i:02d}_{i + 1:03d}" if language == "en" else f"SSB{i:04d}{i + 1:04d}"
            for i in range(count)
        ]
        for utt in utterances:
            add(f"{utt}.wav", "real", codecfake.REAL_CONDITION, language, 2.0)
        for k, name in enumerate(CODECS, start=1):
            for utt in utterances:  # each codec gets harder, Mandarin a bit more
                add(f"F{k:02d}_{utt}.wav", "fake", name, language, 2.0 - k - (language == "zh"))
        if language == "en":
            for k in (1, 2):
                for utt in utterances[:30]:
                    add(f"L{k}_{utt}.wav", "fake", f"A{k}", "en", -1.0 + k / 2)
    for i in range(20):
        add(f"Y{i:011d}.wav", "real", "A3", "", 0.5)
        add(f"{1000 + i}.wav", "fake", "A3", "", 0.0)
    return rows


def _score_files(folder: Path, rows: list[dict]) -> list[str]:
    """The split as score files: one pooled file, and A3 in a file named after it."""
    pooled = folder / "all_scores.txt"
    a3 = folder / "L3_result.txt"
    with open(pooled, "w") as shared, open(a3, "w") as own:
        for row in rows:
            out = own if row["condition"] == "A3" else shared
            out.write(f"{row['file']} {row['score']!r} {row['label']}\n")
    return [str(pooled), str(a3)]


def _expected_eer(rows: list[dict], condition: str, language: str | None) -> float:
    """Straight from the split: the condition's fakes against the reals it is scored against."""

    def keep(row: dict) -> bool:
        return language is None or row["language"] == language

    fakes = [
        r["score"] for r in rows if r["condition"] == condition and r["label"] == "fake" and keep(r)
    ]
    own = [
        r["score"] for r in rows if r["condition"] == condition and r["label"] == "real" and keep(r)
    ]
    spoken = {"A1": {"en"}, "A2": {"en"}}.get(condition, {"en", "zh"})
    shared = [
        r["score"] for r in rows if r["condition"] == "real" and r["language"] in spoken and keep(r)
    ]
    return 100 * eer_from_classes(own or shared, fakes).eer


def _eval_json(capsys: pytest.CaptureFixture[str], *args: str) -> list[dict]:
    assert codecfake_cli.main(["eval", "--json", *args]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture(scope="module")
def split() -> list[dict]:
    return _test_split()


def test_rows_per_condition_and_language_with_averages(tmp_path, capsys, split) -> None:
    files = _score_files(tmp_path, split)
    rows = _eval_json(capsys, "--by", "condition,language", "--bootstrap", "300", *files)
    assert all(tuple(row) == JSON_KEYS for row in rows)
    table = {(r["condition"], r["language"]): r for r in rows}
    expected_keys = [
        *[(c, lang) for c in CODECS for lang in ("all", "en", "zh")],
        ("A1", "all"), ("A1", "en"), ("A2", "all"), ("A2", "en"), ("A3", "all"),
        ("CAVG", "all"), ("CAVG", "en"), ("CAVG", "zh"), ("LAVG", "all"), ("LAVG", "en"),
    ]  # fmt: skip
    assert list(table) == expected_keys
    for (condition, language), row in table.items():
        if condition in ("CAVG", "LAVG"):
            continue
        wanted = _expected_eer(split, condition, None if language == "all" else language)
        assert row["eer"] == pytest.approx(wanted, abs=1e-9)
        assert row["ci_low"] <= row["eer"] <= row["ci_high"]
        assert isinstance(row["threshold"], float)
    # Codec rows use every shared real; A1 only the English ones; A3 its own.
    assert table[("C1", "all")]["n_real"] == sum(N_REAL.values())
    assert table[("C1", "zh")]["n_real"] == N_REAL["zh"]
    assert (table[("A1", "all")]["n_real"], table[("A1", "all")]["n_fake"]) == (N_REAL["en"], 30)
    assert (table[("A3", "all")]["n_real"], table[("A3", "all")]["n_fake"]) == (20, 20)
    for name, members in (("CAVG", CODECS), ("LAVG", ("A1", "A2", "A3"))):
        row = table[(name, "all")]
        assert row["eer"] == pytest.approx(np.mean([table[(m, "all")]["eer"] for m in members]))
        assert row["threshold"] is None and row["ci_low"] < row["eer"] < row["ci_high"]
    assert table[("A1", "all")]["ci_low"] == table[("A1", "en")]["ci_low"]  # same trials
    assert table[("LAVG", "en")]["eer"] == pytest.approx(
        np.mean([table[("A1", "en")]["eer"], table[("A2", "en")]["eer"]])
    )


def test_printed_table_states_the_polarity(tmp_path, capsys, split) -> None:
    files = _score_files(tmp_path, split)
    assert codecfake_cli.main(["eval", "--polarity", "free", "--bootstrap", "50", *files]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("polarity: free (min(EER(s), EER(-s))")
    assert lines[1].split()[:4] == ["condition", "language", "EER", "%"]
    names = [line.split()[0] for line in lines[2:]]
    assert names == [*CODECS, "A1", "A2", "A3", "CAVG", "LAVG"]
    c1 = lines[2].split()
    assert c1[2] == f"{_expected_eer(split, 'C1', None):.3f}" and c1[-1] in {"s", "-s"}


def test_by_must_start_from_condition(tmp_path, capsys, split) -> None:
    with pytest.raises(SystemExit):
        codecfake_cli.main(["eval", "--by", "language,speaker", *_score_files(tmp_path, split)])
    assert "expected 'condition' or 'condition,language'" in capsys.readouterr().err


def test_det_plot_is_written_and_shows_curves(tmp_path, capsys, split) -> None:
    import matplotlib.image

    plot = tmp_path / "plots" / "det.png"
    files = _score_files(tmp_path, split)
    assert codecfake_cli.main(["eval", "--bootstrap", "0", "--det", str(plot), *files]) == 0
    assert f"DET plot written to {plot}" in capsys.readouterr().err
    image = matplotlib.image.imread(plot)
    height, width = image.shape[:2]
    assert height >= 400 and width >= 600
    pixels = image[..., :3].reshape(-1, 3)
    assert (pixels.min(axis=1) < 0.9).mean() > 0.02  # far from blank
    colours = {tuple(p) for p in np.round(pixels[pixels.std(axis=1) > 0.15], 1)}
    assert len(colours) >= 6  # one coloured curve per condition
    assert not list(plot.parent.glob(".*partial"))  # written atomically


def _dataset(split: list[dict]) -> datasets.Dataset:
    """The split with the dataset's features; its audio bytes would fail to decode if touched."""
    columns = {
        "audio": [{"bytes": b"not audio at all", "path": r["file"]} for r in split],
        "file": [r["file"] for r in split],
        "label": [codecfake.LABEL_NAMES.index(r["label"]) for r in split],
        "condition": [r["condition"] for r in split],
        "codec": [""] * len(split),
        "language": [r["language"] for r in split],
        "speaker": [""] * len(split),
        "utterance": [""] * len(split),
    }
    return datasets.Dataset.from_dict(columns, features=codecfake.FEATURES)


def test_api_gives_the_cli_table_for_every_input_type(tmp_path, capsys, split) -> None:
    expected = _eval_json(
        capsys, "--by", "condition,language", "--seed", "3", *_score_files(tmp_path, split)
    )
    scores = np.array([r["score"] for r in split])
    dataset = _dataset(split)
    metadata = {k: [r[k] for r in split] for k in ("file", "label", "condition", "language")}
    inputs = {
        "Dataset": dataset,
        "IterableDataset": dataset.to_iterable_dataset(num_shards=2),
        "Arrow": pa.table(metadata),
        "pandas": pytest.importorskip("pandas").DataFrame(metadata),
        "dict": metadata,
    }
    for kind, data in inputs.items():
        table = evaluate(data, scores, by_language=True, seed=3)
        assert table.to_records() == expected, kind
    frame = table.to_pandas()
    assert list(frame.columns) == list(JSON_KEYS) and len(frame) == len(expected)
    assert table.get("C2", "zh").eer == pytest.approx(_expected_eer(split, "C2", "zh"))
    assert str(table).startswith("polarity: fixed")


def test_api_follows_the_split_order_after_shuffling(split) -> None:
    dataset = _dataset(split).shuffle(seed=0)
    by_file = {r["file"]: r["score"] for r in split}
    scores = [by_file[f] for f in dataset["file"]]
    table = evaluate(dataset, scores, resamples=0)
    assert table.get("C3").eer == pytest.approx(_expected_eer(split, "C3", None))


def test_api_refuses_misaligned_or_incomplete_input(split) -> None:
    dataset = _dataset(split)
    with pytest.raises(EvaluationError, match=f"{len(split) - 1} scores for {len(split)} rows"):
        evaluate(dataset, np.zeros(len(split) - 1))
    with pytest.raises(EvaluationError, match="lacks the column"):
        evaluate(dataset.remove_columns("condition"), np.zeros(len(split)))
    with pytest.raises(EvaluationError, match="pass one split"):
        evaluate(datasets.DatasetDict({"test": dataset}), np.zeros(len(split)))
    with pytest.raises(EvaluationError, match="NaN or infinite"):
        evaluate(dataset, np.full(len(split), np.nan), resamples=0)


def test_help_teaches_by_example(capsys) -> None:
    with pytest.raises(SystemExit):
        codecfake_cli.main(["eval", "--help"])
    text = capsys.readouterr().out
    for needle in (
        "--polarity {fixed,free}",
        "--labels DIR",
        "--dataset DIR",
        "examples:",
        "min(EER(s), EER(-s))",
    ):
        assert needle in text
