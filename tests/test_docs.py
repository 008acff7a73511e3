"""The documentation cannot drift: its recorded outputs, its includes and its CLI reference.

``docs/outputs/make.py --check`` reruns every documented command (in fresh temporary folders, on
data it builds) and compares with ``docs/outputs/<name>.txt``, masking only durations, rates and
free disk space. The fast scenes run here in seconds; the demo, training, the codec rebuild and
the published score files are ``slow``.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
MAKE = DOCS / "outputs" / "make.py"


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


make = _load(MAKE, "codecfake_docs_make")
FAST = [scene.name for scene in make.SCENES if not scene.slow]
SLOW = [scene.name for scene in make.SCENES if scene.slow]


def _check(scene: str) -> None:
    reason = next(s for s in make.SCENES if s.name == scene).needs()
    if reason is not None:
        pytest.skip(reason)
    done = subprocess.run(
        [sys.executable, str(MAKE), "--check", "--scene", scene],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("scene", FAST)
def test_recorded_outputs_match_what_the_commands_print(scene: str) -> None:
    _check(scene)


@pytest.mark.slow
@pytest.mark.parametrize("scene", SLOW)
def test_slow_recorded_outputs_match_what_the_commands_print(scene: str) -> None:
    _check(scene)


def test_an_edited_output_is_caught_and_a_timing_is_not() -> None:
    recorded = (DOCS / "outputs" / "prepare.txt").read_text()
    assert make.drift(recorded, recorded) is None
    # the first number of the reconciliation line, changed by one
    edited = re.sub(r"(reconciled: )(\d+)", lambda m: m[1] + str(int(m[2]) + 1), recorded)
    assert edited != recorded
    assert "reconciled" in (make.drift(recorded, edited) or "")
    faster = re.sub(r"in \d+(\.\d+)? s \(\d+(\.\d+)? MB/s\)", "in 99.9 s (0.1 MB/s)", recorded)
    assert faster != recorded and make.drift(recorded, faster) is None


def test_lines_that_finish_in_any_order_compare_as_a_set() -> None:
    recorded = (DOCS / "outputs" / "download.txt").read_text()
    lines = recorded.splitlines()
    verified = [i for i, line in enumerate(lines) if ": verified (" in line]
    first, last = verified[0], verified[-1]
    swapped = list(lines)
    swapped[first], swapped[last] = swapped[last], swapped[first]
    assert make.drift(recorded, "\n".join(swapped) + "\n", make.VERIFIED) is None
    missing = [line for line in lines if line != lines[first]]
    assert make.drift(recorded, "\n".join(missing) + "\n", make.VERIFIED) is not None


def test_paths_print_as_placeholders(tmp_path: Path) -> None:
    text = f"-> {tmp_path}/codecfake-data, hub http://127.0.0.1:40019/api\n"
    assert (
        make.normalise(text, tmp_path) == "-> $PWD/codecfake-data, hub http://127.0.0.1:PORT/api\n"
    )


def test_every_recording_is_on_a_page_and_every_include_exists() -> None:
    included = set()
    for page in DOCS.rglob("*.md"):
        included |= set(re.findall(r'--8<-- "([^"]+)"', page.read_text()))
    recordings = {f"{r.name}.txt" for scene in make.SCENES for r in scene.recordings}
    snippets = {p.name for p in (DOCS / "outputs" / "snippets").glob("*.py")}
    assert recordings <= included, f"recorded but shown nowhere: {sorted(recordings - included)}"
    assert included <= recordings | snippets, (
        f"included but not made: {sorted(included - recordings - snippets)}"
    )
    for name in recordings:
        assert (DOCS / "outputs" / name).is_file(), (
            f"run `python docs/outputs/make.py --slow` ({name})"
        )


def test_no_page_names_a_path_users_do_not_have() -> None:
    for page in [ROOT / "README.md", *DOCS.rglob("*.md"), *DOCS.rglob("*.txt")]:
        assert "../shared" not in page.read_text(), page


def test_the_cli_reference_renders_every_command() -> None:
    import codecfake_cli

    hooks = _load(DOCS / "hooks.py", "codecfake_docs_hooks")
    reference = hooks.render_reference()
    for name in codecfake_cli.COMMANDS:
        assert f"## `codecfake {name}`" in reference
        assert f"usage: codecfake {name}" in reference
    assert "### `codecfake baseline train`" in reference


def test_the_notebook_reads_where_the_demo_writes() -> None:
    """examples/quickstart.ipynb's defaults are the files `codecfake demo` (default --out) writes,
    seen from examples/; tests/test_demo.py runs the notebook on them (slow)."""
    import json

    from codecfake_demo.cli import DemoPaths

    paths = DemoPaths(Path("demo-out"))
    source = "".join(
        "".join(cell["source"])
        for cell in json.loads((ROOT / "examples" / "quickstart.ipynb").read_text())["cells"]
    )
    assert f'"CODECFAKE_DATASET", "../{paths.dataset.as_posix()}"' in source
    assert f'"CODECFAKE_SCORES", "../{paths.scores.as_posix()}"' in source
