"""What `codecfake --help`, `codecfake eval` and the EER core import, checked by module, not by time.

Each check runs in a fresh interpreter, so nothing another test imported counts. The heavy stacks
(datasets, which brings pandas and pyarrow; torch; transformers) belong to the commands that need
them, imported inside their ``run``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

HEAVY = ("datasets", "torch", "pandas", "transformers")

REPORT = textwrap.dedent(
    """
    import json, sys
    HEAVY = set(json.loads(sys.argv[1]))
    AT_START = {name.split(".")[0] for name in sys.modules}  # site's own (editable finder, ...)

    def report(extra=None):
        top = {name.split(".")[0] for name in sys.modules}
        print(json.dumps({"heavy": sorted(top & HEAVY),
                          "outside_stdlib": sorted(top - AT_START - set(sys.stdlib_module_names)),
                          **(extra or {})}))
    """
)


def _imported(tmp_path: Path, body: str, *args: str) -> dict:
    """Run ``body`` (after REPORT's helpers) in a new interpreter; its last stdout line is JSON."""
    script = tmp_path / "probe.py"
    script.write_text(REPORT + textwrap.dedent(body), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(script), json.dumps(HEAVY), *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


CLI = """
import codecfake_cli
try:
    code = codecfake_cli.main(sys.argv[2:])
except SystemExit as exit:  # --help
    code = exit.code
report({"code": code})
"""


def test_building_the_cli_imports_no_heavy_stack(tmp_path) -> None:
    found = _imported(tmp_path, "import codecfake_cli\ncodecfake_cli.build_parser()\nreport()")
    assert found["heavy"] == []


@pytest.mark.parametrize("argv", [["--help"], ["eval", "--help"]])
def test_help_imports_no_heavy_stack(tmp_path, argv) -> None:
    found = _imported(tmp_path, CLI, *argv)
    assert (found["code"], found["heavy"]) == (0, [])


def _score_file(folder: Path) -> Path:
    """An official-format score file for C3: 30 reals above 30 fakes, with some overlap."""
    rng = np.random.default_rng(3)
    lines = [f"p225_{i:03d}.wav {s:.4f} real" for i, s in enumerate(rng.normal(1, 1, 30))]
    lines += [f"F03_p225_{i:03d}.wav {s:.4f} fake" for i, s in enumerate(rng.normal(-1, 1, 30))]
    path = folder / "C3_result.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_eval_on_a_score_file_imports_no_heavy_stack(tmp_path) -> None:
    scores = _score_file(tmp_path)
    found = _imported(tmp_path, CLI, "eval", "--json", str(scores))
    assert (found["code"], found["heavy"]) == (0, [])


def test_eval_on_a_score_file_reports_its_condition(tmp_path, capsys) -> None:
    # The run above is only worth something if eval really scored the file.
    import codecfake_cli

    assert codecfake_cli.main(["eval", "--json", str(_score_file(tmp_path))]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {row["condition"] for row in rows} == {"C3"}
    assert [(row["n_real"], row["n_fake"]) for row in rows] == [(30, 30)]


def test_the_definition_imports_the_standard_library_only(tmp_path) -> None:
    found = _imported(tmp_path, "import codecfake\nreport()")
    assert found["outside_stdlib"] == ["codecfake"]


def test_the_eer_core_imports_numpy_only(tmp_path) -> None:
    found = _imported(tmp_path, "import codecfake_evaluation.eer\nreport()")
    # codecfake_core: its lazy-export helper (the standard library only), none of its modules
    assert found["outside_stdlib"] == [
        "codecfake",
        "codecfake_core",
        "codecfake_evaluation",
        "numpy",
    ]
