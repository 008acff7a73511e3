"""One namespace: the installed packages are all codecfake*, and a project's own folders named
like the rooms (``evaluation/``, ``builder/``, ``baseline/``) or the data folder do not shadow them."""

from __future__ import annotations

import configparser
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_setup_cfg_lists_every_package_folder() -> None:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    listed = set(cfg["options"]["packages"].split())
    folders = dict(line.split(" = ") for line in cfg["options"]["package_dir"].strip().splitlines())
    found = {
        ".".join([name, *init.parent.relative_to(ROOT / folder).parts])
        for name, folder in folders.items()
        for init in (ROOT / folder).rglob("__init__.py")
    }
    assert found == listed
    assert all(name.startswith("codecfake") for name in listed)


def test_rooms_named_like_a_project_s_own_packages_do_not_shadow(tmp_path: Path) -> None:
    for name in (
        "evaluation",
        "builder",
        "baseline",
        "detectors",
        "core",
        "demo",
        "codecfake-data",
    ):
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text("raise ImportError('a project package')\n")
    trials = [("p225_001.wav", 0.9, "real"), ("p225_002.wav", 0.2, "real")]
    trials += [("F01_p225_001.wav", 0.1, "fake"), ("F01_p225_002.wav", 0.3, "fake")]
    scores = tmp_path / "F01_result.txt"
    scores.write_text("".join(f"{name} {score} {label}\n" for name, score, label in trials))
    api = subprocess.run(
        [sys.executable, "-c", "import codecfake_evaluation as e; print(e.evaluate, e.eer)"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert api.returncode == 0, api.stderr
    assert "function evaluate" in api.stdout
    cli = subprocess.run(
        [sys.executable, "-m", "codecfake_cli", "eval", "--json", scores.name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert cli.returncode == 0, cli.stderr
    assert json.loads(cli.stdout)
