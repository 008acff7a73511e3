"""Every command, given bad input, ends with one error line and exit code 1; never a traceback.

Each command of the CLI root must have a case here, so a new command cannot ship without one.
Usage errors (an unknown option) stay argparse's exit code 2.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import codecfake_cli


def bad_inputs(tmp: Path) -> dict[str, list[str]]:
    """command -> arguments naming something that is not there or not what it must be."""
    missing = tmp / "missing"
    not_audio = tmp / "scores.txt"
    not_audio.write_text("this is not a score line\n")
    return {
        "download": [str(not_audio)],  # DEST is a file: refused before any network call
        "info": ["--json", "--no-such-option"],  # info takes no input: a usage error
        "prepare": [str(missing), str(tmp / "out")],
        "synthesize": ["--vctk", str(missing), "--out", str(tmp / "rebuilt"), "--codec", "C8=opus"],
        "codecs": ["--codec", "C8=no-such-family"],
        "merge-shards": [str(missing)],
        "publish": [str(missing), "--repo-id", "org/name", "--dry-run"],
        "baseline": ["train", "--dataset", str(missing), "--out", str(tmp / "run")],
        "demo": ["--out", str(not_audio)],
        "eval": [str(not_audio)],
        "results": [str(missing)],
        "train": ["--model", "mel-lcnn", "--dataset", str(missing), "--out", str(tmp / "run")],
        "score": ["--model", str(missing), "--dataset", str(missing), "--out", str(tmp / "s.txt")],
        "detect": [str(missing), "--model", str(missing)],
    }


def test_every_command_has_a_bad_input_case(tmp_path):
    assert set(bad_inputs(tmp_path)) == set(codecfake_cli.COMMANDS)


@pytest.mark.parametrize("command", sorted(codecfake_cli.COMMANDS))
def test_bad_input_ends_in_one_line_and_exit_1(command, tmp_path):
    args = bad_inputs(tmp_path)[command]
    done = subprocess.run(
        [sys.executable, "-m", "codecfake_cli", command, *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert "Traceback" not in done.stderr, done.stderr
    if command == "info":
        assert done.returncode == 2
        return
    assert done.returncode == 1, done.stderr
    # one error line (a list of problems or a size table may follow it, indented)
    errors = [line for line in done.stderr.splitlines() if ": error: " in line]
    assert len(errors) == 1, done.stderr
    assert errors[0].startswith(f"codecfake {command}: error: "), done.stderr
