"""`codecfake eval` on the paper's published score files reproduces the paper's table."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

import codecfake_cli

# The spec: EER % in arXiv 2405.04880 v1 (shared/fixtures/README.md), polarity-free.
PAPER = {
    "vocoder_w2v2aasist": {
        "C1": 40.142, "C2": 42.908, "C3": 44.564, "C4": 33.580, "C5": 39.197, "C6": 44.889,
        "A1": 0.225, "A2": 0.833, "A3": 45.674,
    },
    "codec_w2v2lcnn": {
        "C1": 0.030, "C2": 0.151, "C3": 0.144, "C4": 0.113, "C5": 0.635, "C6": 2.185,
        "A1": 0.450, "A2": 1.080, "A3": 37.076,
        "C3-1": 0.083, "C3-2": 0.144, "C3-3": 0.144, "C3-4": 0.144,
        "C4-1": 0.038, "C4-2": 0.786, "C4-3": 2.192,
    },
}  # fmt: skip
TOLERANCE = 0.0015  # the paper sometimes truncates its third decimal
TEST_REALS = 13_228  # real test clips every codec condition is scored against


def _eval_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[list[dict], str]:
    assert codecfake_cli.main(["eval", "--json", *args]) == 0
    captured = capsys.readouterr()
    return json.loads(captured.out), captured.err


@pytest.mark.parametrize("model", sorted(PAPER))
def test_free_polarity_reproduces_the_paper(
    official_scores: Path, model: str, capsys: pytest.CaptureFixture[str]
) -> None:
    files = sorted(str(p) for p in (official_scores / model).glob("*_result.txt.gz"))
    assert len(files) == len(PAPER[model])  # every published file is evaluated
    rows, _ = _eval_json(capsys, "--polarity", "free", "--bootstrap", "200", *files)
    pooled = {row["condition"]: row for row in rows if row["language"] == "all"}
    measured = {name: pooled[name]["eer"] for name in PAPER[model]}
    off = {
        n: (measured[n], PAPER[model][n])
        for n in PAPER[model]
        if abs(measured[n] - PAPER[model][n]) > TOLERANCE
    }
    assert not off, f"measured vs paper: {off}"
    for name in PAPER[model]:
        row = pooled[name]
        assert row["ci_low"] <= row["eer"] <= row["ci_high"]
        if name.startswith("C"):
            assert (row["n_real"], row["n_fake"]) == (TEST_REALS, TEST_REALS)
    # The averages are the paper's: over C1..C7 and A1..A3 present.
    codecs = [PAPER[model][f"C{k}"] for k in range(1, 7)]
    assert pooled["CAVG"]["eer"] == pytest.approx(sum(codecs) / len(codecs), abs=TOLERANCE)
    alms = [PAPER[model][a] for a in ("A1", "A2", "A3")]
    assert pooled["LAVG"]["eer"] == pytest.approx(sum(alms) / 3, abs=TOLERANCE)


def test_fixed_polarity_keeps_the_unflipped_values(
    official_scores: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The official script's reading: C5 is already the right way round, C2 is not."""
    folder = official_scores / "vocoder_w2v2aasist"
    files = [str(folder / "C2_result.txt.gz"), str(folder / "C5_result.txt.gz")]
    fixed_rows, warnings = _eval_json(capsys, "--polarity", "fixed", "--bootstrap", "0", *files)
    free_rows, _ = _eval_json(capsys, "--polarity", "free", "--bootstrap", "0", *files)
    fixed = {r["condition"]: r["eer"] for r in fixed_rows}
    free = {r["condition"]: r["eer"] for r in free_rows}
    half_step = 100 / (2 * TEST_REALS)  # |EER(s) + EER(-s) - 100| is at most this
    assert (
        fixed["C5"] == free["C5"] == pytest.approx(PAPER["vocoder_w2v2aasist"]["C5"], abs=TOLERANCE)
    )
    assert fixed["C2"] > 50
    assert abs(fixed["C2"] + free["C2"] - 100) <= half_step
    assert "warning: C2: fixed-polarity EER is" in warnings
    assert "C5:" not in warnings
    assert "polarity: fixed" in warnings  # JSON rows have a fixed schema; stderr says which


def test_fixed_polarity_of_negated_c5_scores_is_the_complement(
    official_scores: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Scores that mean "more fake" give 100 - 39.197 under fixed polarity, with a warning."""
    source = official_scores / "vocoder_w2v2aasist" / "C5_result.txt.gz"
    negated = tmp_path / "C5_result.txt.gz"
    with gzip.open(source, "rt") as lines, gzip.open(negated, "wt") as out:
        for line in lines:
            name, score, label = line.split()
            out.write(f"{name} {-float(score)!r} {label}\n")
    rows, warnings = _eval_json(capsys, "--polarity", "fixed", "--bootstrap", "0", str(negated))
    paper = PAPER["vocoder_w2v2aasist"]["C5"]
    assert rows[0]["eer"] == pytest.approx(100 - paper, abs=TOLERANCE + 100 / (2 * TEST_REALS))
    assert "warning: C5: fixed-polarity EER" in warnings and "> 50%" in warnings
    free_rows, _ = _eval_json(capsys, "--polarity", "free", "--bootstrap", "0", str(negated))
    assert free_rows[0]["eer"] == pytest.approx(paper, abs=TOLERANCE)
