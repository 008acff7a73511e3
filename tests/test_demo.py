"""`codecfake demo --quick` end to end, then the quickstart notebook executed against its output."""

from __future__ import annotations

import base64
import contextlib
import io
import re
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from helpers.eer_reference import definition_eer

from codecfake import parse_file_name
from codecfake_cli import main as cli

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "examples" / "quickstart.ipynb"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A finished quick demo (formant speech, so it runs the same without espeak-ng)."""
    out = tmp_path_factory.mktemp("demo") / "out"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        status = cli(["demo", "--quick", "--engine", "formant", "--out", str(out)])
    assert status == 0
    return out, printed.getvalue()


def _table_rows(text: str) -> dict[str, float]:
    """condition -> EER % from the printed `codecfake eval` table."""
    rows = re.findall(r"^(C\d+)\s+all\s+(\d+\.\d{3})\s", text, flags=re.MULTILINE)
    return {condition: float(eer) for condition, eer in rows}


def test_demo_prints_the_eer_table_for_every_condition(demo: tuple[Path, str]) -> None:
    out, printed = demo
    rows = _table_rows(printed)
    assert set(rows) == {"C4", "C8", "C9"}  # EnCodec (random weights), Opus, MP3
    # Each row is the EER of the scored test reals against that condition's fakes, recomputed
    # by the definition from the demo's score file.
    real, fakes = [], defaultdict(list)
    for line in (out / "baseline" / "test_scores.txt").read_text().splitlines():
        file, score, label = line.split()
        if label == "real":
            real.append(float(score))
        else:
            fakes[parse_file_name(file).condition].append(float(score))
    assert set(fakes) == set(rows)
    for condition, fake in fakes.items():
        expected, _ = definition_eer(real, fake)
        assert rows[condition] == pytest.approx(100 * expected, abs=5e-4), condition
    assert (
        "codecfake prepare Codecfake/ codecfake-data/" in printed
    )  # the next steps, for real data


def test_demo_leaves_dataset_model_scores_plot_and_report(demo: tuple[Path, str]) -> None:
    from codecfake_detectors.lfcc_gmm.gmm import load_model

    out, printed = demo
    assert (out / "codecfake-data" / "README.md").is_file()
    model = load_model(out / "baseline" / "model.npz")
    assert model.metadata["trained_on"]["clips"]["real"] > 0
    lines = (out / "baseline" / "test_scores.txt").read_text().splitlines()
    labels = {line.split()[2] for line in lines}
    assert labels == {"real", "fake"}
    assert len({line.split()[0] for line in lines}) == len(lines)  # shared reals scored once
    report = (out / "report.md").read_text()
    assert "![DET curves](det.png)" in report and "random weights" in report
    assert _table_rows(report) == _table_rows(printed)
    _assert_picture((out / "det.png").read_bytes())


def test_rerun_reuses_the_finished_work(demo: tuple[Path, str]) -> None:
    out, first = demo
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert cli(["demo", "--quick", "--engine", "formant", "--out", str(out)]) == 0
    assert "wrote 0 files" in printed.getvalue()  # synthesize resumed: nothing left to make
    assert _table_rows(printed.getvalue()) == _table_rows(first)


def _assert_picture(png: bytes) -> None:
    """A decodable image with real content: many distinct colours, not one flat fill."""
    import matplotlib.image

    image = matplotlib.image.imread(io.BytesIO(png), format="png")
    assert image.shape[0] > 200 and image.shape[1] > 200
    pixels = image[..., :3].reshape(-1, 3)
    assert len(np.unique(np.round(pixels, 2), axis=0)) > 50
    assert pixels.std() > 0.05


def test_quickstart_notebook_runs_top_to_bottom(
    demo: tuple[Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import nbclient
    import nbformat

    out, _ = demo
    # The notebook's own defaults, as a user runs it: from examples/, beside the demo's ./demo-out
    # (`codecfake demo` with its default --out, run from the repository root).
    monkeypatch.delenv("CODECFAKE_DATASET", raising=False)
    monkeypatch.delenv("CODECFAKE_SCORES", raising=False)
    checkout = tmp_path / "checkout"
    (checkout / "examples").mkdir(parents=True)
    (checkout / "demo-out").symlink_to(out, target_is_directory=True)
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code")
    # python3 resolves to this interpreter's ipykernel, which inherits the environment set above;
    # a failing cell raises CellExecutionError.
    client = nbclient.NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(checkout / "examples")}},
    )
    client.execute()
    outputs = [o for cell in notebook.cells for o in cell.get("outputs", [])]
    pictures = [base64.b64decode(o["data"]["image/png"]) for o in outputs if "image/png" in o.get("data", {})]  # fmt: skip
    assert len(pictures) == 1  # waveforms + spectrograms, real next to fake
    for index, png in enumerate(pictures):
        (tmp_path / f"figure-{index}.png").write_bytes(png)
        _assert_picture(png)
    players = [o for o in outputs if "<audio" in o.get("data", {}).get("text/html", "")]
    assert len(players) == 2  # the real clip and its fake, playable inline
    text = "".join(o.get("text", "") for o in outputs)
    assert _table_rows(text) == _table_rows(demo[1])
